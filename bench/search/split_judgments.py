#!/usr/bin/env python3
"""Split a judgments TSV (query_id, query, item_id, grade; header line) into two halves by query, seeded."""
import random, sys
src, out1, out2, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 1
lines = open(src, encoding="utf-8").read().splitlines()
header, rows = lines[0], lines[1:]
qids = sorted({r.split("\t")[0] for r in rows})
random.Random(seed).shuffle(qids)
first = set(qids[: len(qids) // 2])
with open(out1, "w", encoding="utf-8") as a, open(out2, "w", encoding="utf-8") as b:
    a.write(header + "\n"); b.write(header + "\n")
    for r in rows:
        (a if r.split("\t")[0] in first else b).write(r + "\n")
print(len(first), len(qids) - len(first))
