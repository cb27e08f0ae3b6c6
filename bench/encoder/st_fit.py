"""Fine-tuning throughput of sentence-transformers (PyTorch, CPU), in pairs per second: the
training step of `SentenceTransformer.fit` with MultipleNegativesRankingLoss (AdamW, lr 2e-5,
weight decay 0.01, gradient clipping at norm 1, dropout on) on (query, positive, hard negative)
triples, the same file, batch and thread count as assay's `finetune_steps` example.

    python st_fit.py MODEL_DIR TRIPLES_TSV BATCH STEPS THREADS OUT_JSON

The first step is a warm-up and is not timed."""
import json
import sys
import time

import torch
from sentence_transformers import SentenceTransformer, losses

model_dir, triples_path, batch, steps, threads, out = sys.argv[1:7]
batch, steps, threads = int(batch), int(steps), int(threads)
torch.set_num_threads(threads)
torch.manual_seed(1)
triples = [l.rstrip("\n").split("\t")[:3] for l in open(triples_path, encoding="utf-8") if l.strip()]
model = SentenceTransformer(model_dir, device="cpu")
model.train()
loss_fn = losses.MultipleNegativesRankingLoss(model)
no_decay = ["bias", "LayerNorm.bias", "LayerNorm.weight"]
params = [
    {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
    {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
]
optimizer = torch.optim.AdamW(params, lr=2e-5)
seconds = 0.0
for i in range(steps + 1):
    chunk = triples[i * batch:(i + 1) * batch]
    started = time.perf_counter()
    features = [model.tokenize([t[k] for t in chunk]) for k in range(3)]
    loss = loss_fn(features, None)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad()
    took = time.perf_counter() - started
    if i > 0:
        seconds += took
    print(f"step {i}: {took:.2f} s", file=sys.stderr)
rate = batch * steps / seconds
print(f"sentence-transformers fit (MNRL), {threads} thread(s), batch {batch}: {rate:.1f} pairs/s ({seconds / steps:.2f} s per step)")
json.dump({"tool": "sentence-transformers", "threads": threads, "batch": batch, "steps": steps,
           "seconds": seconds, "pairs_per_s": rate, "torch": torch.__version__}, open(out, "w"), indent=1)
