#!/usr/bin/env bash
# ALS on 1M simulated power-law interactions, 64 factors, 15 iterations, CG with 3 steps:
# assay (Rust, rayon) against the Python `implicit` package, same matrix, same machine.
# Reports fit seconds (timed inside each program), process wall seconds and peak RSS
# (/usr/bin/time -v). implicit goes into a throwaway venv at bench/.venv (gitignored).
#
# usage: bench/als_vs_implicit.sh            (from anywhere; THREADS=2 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out
mkdir -p "$OUT"
THREADS=${THREADS:-2}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target-rec}
cargo build --quiet --release -p assay-recommend --example als_bench
BIN=$CARGO_TARGET_DIR/release/examples/als_bench
DATA=$OUT/als_1m.csv
[ -f "$DATA" ] || "$BIN" generate "$DATA" 1000000 100000 20000 42
if [ ! -x bench/.venv/bin/python ] || ! bench/.venv/bin/python -c "import implicit" 2>/dev/null; then
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install --quiet "implicit==0.7.*" numpy scipy threadpoolctl
fi

# assay: confidence 1 + alpha*r with alpha = 1; implicit: confidence alpha*r with alpha = 2.
RAYON_NUM_THREADS=$THREADS /usr/bin/time -v "$BIN" fit "$DATA" 64 15 1.0 0.01 \
  > "$OUT/assay.json" 2> "$OUT/assay.time"
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=$THREADS /usr/bin/time -v \
  bench/.venv/bin/python bench/als_implicit.py "$DATA" 64 15 2.0 0.01 \
  > "$OUT/implicit.json" 2> "$OUT/implicit.time"

field() { sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" "$1"; }
wall() { awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$1"; }
rss() { awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$1"; }
printf '%-16s %10s %12s %12s\n' tool "fit s" "process wall" "peak RSS MiB"
for t in assay implicit; do
  name=$(field "$OUT/$t.json" tool | tr -d '"')
  printf '%-16s %10s %12s %12s\n' "$name" "$(field "$OUT/$t.json" fit_s)" \
    "$(wall "$OUT/$t.time")" "$(rss "$OUT/$t.time")"
done
