#!/usr/bin/env bash
# Encoder throughput, side by side on this machine in one run: assay's candle and ONNX Runtime
# backends (the int8 all-MiniLM-L6-v2 pack, and the graph that assay writes from the same
# safetensors, fp32 and 8-bit)
# and sentence-transformers (PyTorch, CPU, fp32) on the same sentences (1,024 simulated
# product titles), batch 64, 1 and 2 threads. Then fine-tuning throughput in pairs per second:
# assay's trainer against the training step of sentence-transformers' `fit` with
# MultipleNegativesRankingLoss, on the same (query, positive, hard negative) triples of a
# simulated shop, batch 32, 2 threads ($TRIPLES: a TSV of such triples; made when missing).
#
# Fetches the ONNX packs when missing (`assay data fetch ort`) and installs
# sentence-transformers into a throwaway venv ($VENV, default target/bench/st-venv; reused when
# it has it). PyPI's torch is the CUDA build (several GB) but runs on the CPU. Results go to
# $OUT (default target/bench/encoder).
set -euo pipefail
cd "$(dirname "$0")/../.."
THREADS="${THREADS:-1,2}"
BATCH="${BATCH:-64}"
ROUNDS="${ROUNDS:-2}"
VENV="${VENV:-target/bench/st-venv}"
OUT="${OUT:-target/bench/encoder}"
SENTENCES="${SENTENCES:-$OUT/sentences.txt}"
mkdir -p "$OUT"

if ! "$VENV/bin/python" -c "import sentence_transformers" 2>/dev/null; then
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q sentence-transformers
fi
# BUILD=0 reuses a binary built by a wider `cargo build --release` (other feature sets rebuild).
if [ "${BUILD:-1}" != 0 ]; then
  cargo build --release -p assay-encoder --example throughput --example finetune_steps
fi
BIN=target/release/examples/throughput
STEPS_BIN=target/release/examples/finetune_steps
TRIPLES="${TRIPLES:-$OUT/triples.tsv}"
if [ ! -f "$TRIPLES" ]; then
  cargo build --release -p assay --bin assay
  rm -rf "$OUT/shop"
  target/release/assay simulate --events 100000 --seed 7 --out "$OUT/shop" >/dev/null
  python3 bench/encoder/triples.py "$OUT/shop" "$TRIPLES"
fi
MODEL_DIR="$("$BIN" --print-model-dir)"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
# Alternate the tools so that a change in the machine's load hits both alike.
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round: load average $(cut -d' ' -f1-3 /proc/loadavg)"
  "$BIN" --sentences "$SENTENCES" --threads "$THREADS" --batch "$BATCH" \
    --out "$OUT/assay-$round.json" | tee "$OUT/assay-$round.txt"
  # ONNX Runtime on the graph assay writes from the same safetensors (in memory, as
  # `--encoder ort --encoder-model DIR` does), in fp32 and with 8-bit dense layers
  # (`--encoder ort-int8`).
  "$BIN" --sentences "$SENTENCES" --threads "$THREADS" --batch "$BATCH" --backends ort-fp32,ort-int8 \
    --out "$OUT/assay-fp32-$round.json" | tee "$OUT/assay-fp32-$round.txt"
  echo "round $round: load average $(cut -d' ' -f1-3 /proc/loadavg)"
  "$VENV/bin/python" bench/encoder/st_throughput.py "$MODEL_DIR" "$SENTENCES" "$BATCH" "$THREADS" \
    "$OUT/sentence-transformers-$round.json" | tee "$OUT/sentence-transformers-$round.txt"
  echo "round $round: fine-tuning, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  "$STEPS_BIN" --triples "$TRIPLES" --batch 32 --steps "${FT_STEPS:-8}" --threads 2 \
    --out "$OUT/assay-finetune-$round.json" 2>/dev/null | tee "$OUT/assay-finetune-$round.txt"
  "$VENV/bin/python" bench/encoder/st_fit.py "$MODEL_DIR" "$TRIPLES" 32 "${FT_STEPS:-8}" 2 \
    "$OUT/st-fit-$round.json" 2>/dev/null | tee "$OUT/st-fit-$round.txt"
done
echo "done: load average $(cut -d' ' -f1-3 /proc/loadavg); results in $OUT"
