"""(query, positive, hard negative) triples from a simulated shop for the fine-tuning throughput
comparison: per judged query, its best-graded item and a lower-graded one (else a random item),
item text as assay embeds it ("title. description"), shuffled with seed 1.

    python triples.py SHOP_DIR OUT_TSV"""
import csv
import random
import sys

shop, out = sys.argv[1:3]
items = {}
for r in csv.DictReader(open(f"{shop}/items.csv", encoding="utf-8")):
    items[r["item_id"]] = r["title"] + (". " + r["description"] if r["description"] else "")
by_query = {}
for r in csv.DictReader(open(f"{shop}/judgments.tsv", encoding="utf-8"), delimiter="\t"):
    by_query.setdefault((r["query_id"], r["query"]), []).append((int(r["grade"]), r["item_id"]))
rng = random.Random(1)
ids = sorted(items)
rows = []
for (_, query), judged in sorted(by_query.items()):
    judged.sort(reverse=True)
    best_grade, best = judged[0]
    lower = [i for g, i in judged if g < best_grade]
    negative = rng.choice(lower) if lower else rng.choice(ids)
    rows.append((query, items[best], items[negative]))
rng.shuffle(rows)
with open(out, "w", encoding="utf-8") as f:
    for row in rows:
        f.write("\t".join(x.replace("\t", " ").replace("\n", " ") for x in row) + "\n")
print(f"{len(rows)} triples -> {out}", file=sys.stderr)
