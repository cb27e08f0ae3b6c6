"""sentence-transformers (PyTorch, CPU) throughput on the sentences the Rust example read.

usage: python st_throughput.py MODEL_DIR SENTENCES_FILE BATCH THREADS[,THREADS...] [OUT_JSON]

Same protocol as crates/assay-encoder/examples/throughput.rs: per thread count, one warm-up
batch, then one timed encode of every sentence (tokenization included).
"""
import json
import sys
import time

import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer

model_dir, path, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
threads = [int(t) for t in sys.argv[4].split(",")]
out = sys.argv[5] if len(sys.argv) > 5 else None
sentences = [line.rstrip("\n") for line in open(path, encoding="utf-8") if line.strip()]
model = SentenceTransformer(model_dir, device="cpu")
results = []
for t in threads:
    torch.set_num_threads(t)
    model.encode(sentences[:batch], batch_size=batch)  # warm-up
    started = time.perf_counter()
    vectors = model.encode(sentences, batch_size=batch)
    seconds = time.perf_counter() - started
    assert len(vectors) == len(sentences)
    rate = len(sentences) / seconds
    print(
        f"sentence-transformers {sentence_transformers.__version__} (torch {torch.__version__}), "
        f"{t} thread(s), batch {batch}: {rate:.0f} sentences/s on {len(sentences)} sentences"
    )
    results.append({"threads": t, "batch": batch, "sentences": len(sentences),
                    "seconds": seconds, "sentences_per_s": rate})
if out:
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
