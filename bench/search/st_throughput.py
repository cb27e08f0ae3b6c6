"""sentence-transformers (PyTorch, CPU) throughput on the sentences the Rust bench wrote.

usage: python st_throughput.py MODEL_DIR SENTENCES_FILE [THREADS...]
"""
import json
import sys
import time

import torch
from sentence_transformers import SentenceTransformer

model_dir, path = sys.argv[1], sys.argv[2]
threads = [int(t) for t in sys.argv[3:]] or [1, 2]
sentences = [line.rstrip("\n") for line in open(path, encoding="utf-8") if line.strip()]
model = SentenceTransformer(model_dir, device="cpu")
results = []
for t in threads:
    torch.set_num_threads(t)
    model.encode(sentences[:64], batch_size=32)  # warm-up
    started = time.perf_counter()
    model.encode(sentences, batch_size=32)
    rate = len(sentences) / (time.perf_counter() - started)
    print(f"sentence-transformers, {t} thread(s): {rate:.0f} sentences/s on {len(sentences)} sentences")
    results.append({"threads": t, "sentences_per_s": rate})
print(json.dumps({"sentence_transformers": sentences and results}))
