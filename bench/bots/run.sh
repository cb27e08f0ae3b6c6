#!/usr/bin/env bash
# Bad-data detection on simulated shops with 5% bots: for each seed and size, simulate the
# shop, run the data-value report with the bot labels as the known-bad list, and time
# `assay value --players users` with its defaults; writes one Markdown table.
#
#   bench/bots/run.sh [ASSAY] [OUT] [SEEDS] [SIZES]
#   bench/bots/run.sh target/release/assay bots-bench "1 2 3" "100000 1000000"
#
# Each row: seed, events, users (bots), the report's AUC of user values against the bot
# labels, users flagged at a 5% false discovery rate (bots among them), test NDCG@10 after
# removing the lowest-valued / a random / the highest-valued 5% of users, the report's wall
# time, `assay value`'s AUC and wall time, and the load average before the run.
set -euo pipefail
ASSAY=${1:-target/release/assay}
OUT=${2:-bots-bench}
SEEDS=${3:-1 2 3}
SIZES=${4:-100000 1000000}
mkdir -p "$OUT"
TABLE="$OUT/table.md"
{
  echo "| seed | events | users (bots) | report AUC | flagged (bots) | NDCG@10 all -> low 5% / random 5% / high 5% | report wall | value AUC | value wall | load |"
  echo "|---:|---:|---|---:|---|---|---:|---:|---:|---:|"
} >"$TABLE"
for size in $SIZES; do
  for seed in $SEEDS; do
    shop="$OUT/shop-$size-$seed"
    "$ASSAY" simulate --out "$shop" --events "$size" --bad-data --seed "$seed" --json >"$shop.sim.json"
    load=$(cut -d' ' -f1 /proc/loadavg)
    start=$(date +%s.%N)
    "$ASSAY" report "$shop" --out "$shop.report.html" --seed 42 \
      --known-bad "$shop/truth/bots.csv" --json >"$shop.report.json"
    report_wall=$(echo "$(date +%s.%N) - $start" | bc)
    start=$(date +%s.%N)
    "$ASSAY" value "$shop" --players users --known-bad "$shop/truth/bots.csv" --json \
      >"$shop.value.json"
    value_wall=$(echo "$(date +%s.%N) - $start" | bc)
    python3 - "$shop" "$size" "$seed" "$report_wall" "$value_wall" "$load" >>"$TABLE" <<'PY'
import json, sys
shop, size, seed, rwall, vwall, load = sys.argv[1:]
r = json.load(open(shop + ".report.json"))
v = json.load(open(shop + ".value.json"))
d = r["detection"]
rem = r["removal"]
i = next(k for k, f in enumerate(rem["fractions"]) if f > 0)
curve = f"{rem['low_first'][0]:.4f} -> {rem['low_first'][i]:.4f} / {rem['random'][i]:.4f} / {rem['high_first'][i]:.4f}"
print(f"| {seed} | {int(size):,} | {d['valued']:,} ({d['known']}) | {d['auc']:.3f} | {d['flagged']} ({d['flagged_known']}) | {curve} | {float(rwall):.1f} s | {v['detection']['auc']:.3f} | {float(vwall):.1f} s | {load} |")
PY
  done
done
cat "$TABLE"
