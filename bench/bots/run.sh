#!/usr/bin/env bash
# Bad-data detection on simulated shops with 5% bots: for each seed and size, simulate the
# shop, run the data-value report with the bot labels as the known-bad list, and time
# `assay value --players users` with its defaults; writes one Markdown table.
#
#   bench/bots/run.sh [ASSAY] [OUT] [SEEDS] [SIZES] [REPORT_MAX]
#   bench/bots/run.sh target/release/assay bots-bench "1 2 3" "100000 1000000" 100000
#
# The report (which also values sources, segments, windows, categories and items with its
# EASE model, and draws learning curves) runs only on shops of at most REPORT_MAX events
# (default 100,000): on a 1M-event shop of 10,000 items its EASE refits take far longer
# than the user values.
#
# Each row: seed, events, users valued (bots among them), the report's AUC of user values
# against the bot labels, users it flags at a 5% false discovery rate (bots among them),
# test NDCG@10 after removing the lowest-valued / a random / the highest-valued 5% of users,
# the report's wall time, the same AUC and flags for `assay value --players users` with
# its defaults and its wall time (loading included), and the load average before the run.
set -euo pipefail
ASSAY=${1:-target/release/assay}
OUT=${2:-bots-bench}
SEEDS=${3:-1 2 3}
SIZES=${4:-100000 1000000}
REPORT_MAX=${5:-100000}
mkdir -p "$OUT"
TABLE="$OUT/table.md"
{
  echo "| seed | events | users valued (bots) | report AUC | report flagged (bots) | test NDCG@10 all -> without lowest 5% / random 5% / highest 5% | report wall | value AUC | value flagged (bots) | value wall | load before |"
  echo "|---:|---:|---|---:|---|---|---:|---:|---|---:|---:|"
} >"$TABLE"
for size in $SIZES; do
  for seed in $SEEDS; do
    shop="$OUT/shop-$size-$seed"
    "$ASSAY" simulate --out "$shop" --events "$size" --bad-data --seed "$seed" --json >"$shop.sim.json"
    load=$(cut -d' ' -f1 /proc/loadavg)
    report_wall=""
    if [ "$size" -le "$REPORT_MAX" ]; then
      start=$(date +%s.%N)
      "$ASSAY" report "$shop" --out "$shop.report.html" --seed 42 \
        --known-bad "$shop/truth/bots.csv" --json >"$shop.report.json"
      report_wall=$(python3 -c "import time; print(time.time() - $start)")
    fi
    start=$(date +%s.%N)
    "$ASSAY" value "$shop" --players users --known-bad "$shop/truth/bots.csv" --json \
      >"$shop.value.json"
    value_wall=$(python3 -c "import time; print(time.time() - $start)")
    python3 - "$shop" "$size" "$seed" "$report_wall" "$value_wall" "$load" >>"$TABLE" <<'PY'
import json, os, sys
shop, size, seed, rwall, vwall, load = sys.argv[1:]
v = json.load(open(shop + ".value.json"))
vd = v["detection"]
cells = ["-"] * 4
if rwall:
    r = json.load(open(shop + ".report.json"))
    d = r["detection"]
    rem = r["removal"]
    i = next(k for k, f in enumerate(rem["fractions"]) if f > 0)
    cells = [
        f"{d['auc']:.3f}",
        f"{d['flagged']} ({d['flagged_known']})",
        f"{rem['low_first'][0]:.4f} -> {rem['low_first'][i]:.4f} / {rem['random'][i]:.4f} / {rem['high_first'][i]:.4f}",
        f"{float(rwall):.1f} s",
    ]
print(f"| {seed} | {int(size):,} | {vd['valued']:,} ({vd['known']}) | " + " | ".join(cells)
      + f" | {vd['auc']:.3f} | {vd['flagged']} ({vd['flagged_known']}) | {float(vwall):.1f} s | {load} |")
PY
  done
done
cat "$TABLE"
