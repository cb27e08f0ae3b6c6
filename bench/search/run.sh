#!/usr/bin/env bash
# Search benchmark: assay (candle + tantivy + HNSW) on a simulated 100k-product shop, 2 threads,
# and sentence-transformers (PyTorch, CPU) on the same sentences. Needs ../shared/data (or
# ASSAY_SHARED_DATA) with all-MiniLM-L6-v2. The venv lives outside the repository.
set -euo pipefail
cd "$(dirname "$0")/../.."
ITEMS="${ITEMS:-100000}"
THREADS="${THREADS:-2}"
VENV="${VENV:-/tmp/st-venv}"
DATA="${ASSAY_SHARED_DATA:-$(cd .. && pwd)/shared/data}"
OUT="${OUT:-/tmp/assay-search-bench}"
mkdir -p "$OUT"
export RAYON_NUM_THREADS="$THREADS" ASSAY_SHARED_DATA="$DATA"
# SKIP_ST=1: only the assay part (the sentence-transformers comparison needs a venv and minutes).
SKIP_ST="${SKIP_ST:-0}"
cargo build --release -p assay-search --example search_bench
EXTRA=()
if [ "$SKIP_ST" = 1 ]; then EXTRA+=(--skip-throughput); fi
uptime | tee "$OUT/load.txt"
# /usr/bin/time -v reports the whole process's peak RSS (simulation, build, queries).
/usr/bin/time -v -o "$OUT/time.txt" target/release/examples/search_bench \
  --items "$ITEMS" --threads "$THREADS" --shop "$OUT/shop-$ITEMS" \
  --out "$OUT/assay.json" --sentences "$OUT/sentences.txt" "${EXTRA[@]}" | tee "$OUT/assay.txt"
grep -E "Maximum resident|Elapsed" "$OUT/time.txt"
uptime | tee -a "$OUT/load.txt"
if [ "$SKIP_ST" = 1 ]; then exit 0; fi
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q sentence-transformers
fi
"$VENV/bin/python" bench/search/st_throughput.py "$DATA/all-MiniLM-L6-v2" "$OUT/sentences.txt" 1 "$THREADS" \
  | tee "$OUT/sentence-transformers.txt"
