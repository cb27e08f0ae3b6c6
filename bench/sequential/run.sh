#!/usr/bin/env bash
# GRU4Rec and SASRec on ml-100k, leave-one-out by time, full ranking, K = 10: assay's models
# beside RecBole 1.2.1's on the same machine, one after the other (never at once): test hit@10
# and NDCG@10, epochs, training seconds per epoch and in all.
#
#   bench/sequential/run.sh                      # both models, RecBole's 300-epoch budget
#   MODELS=gru4rec RECBOLE_EPOCHS=5 bench/sequential/run.sh   # RecBole's per-epoch time only
#
# RecBole runs in a throwaway venv under the build folder ($VENV, default target/bench/recbole-venv;
# reused when it has recbole). PyPI's torch is the CUDA build (several GB) but runs on the CPU.
# The data is the ml-100k pack in RecBole's atomic format ($DATA_DIR, default ../shared/data,
# else `assay data fetch ml100k`'s cache). Results: $OUT/*.json and a table on stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
ASSAY="${ASSAY:-target/release/assay}"
VENV="${VENV:-$PWD/target/bench/recbole-venv}"
OUT="${OUT:-$PWD/target/bench/sequential}"
MODELS="${MODELS:-gru4rec sasrec}"
RECBOLE_EPOCHS="${RECBOLE_EPOCHS:-300}"
mkdir -p "$OUT"
# shellcheck source=../recbole_env.sh
. bench/recbole_env.sh

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for model in $MODELS; do
  echo "$model: assay, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  "$ASSAY" eval ml-100k --protocol loo --models "$model" --json >"$OUT/assay-$model.json"
  python3 - "$OUT/assay-$model.json" <<'PY'
import json, sys
row = json.load(open(sys.argv[1]))[0]
run = row["runs"][0]
epochs = run["training"]["epochs"]
seconds = [e["seconds"] for e in epochs if e.get("seconds") is not None]
print(f"  assay   hit@10 {row['test']['mean']['hit']:.4f}  ndcg@10 {row['test']['mean']['ndcg']:.4f}"
      f"  epochs {len(epochs)}  s/epoch {sum(seconds) / max(len(seconds), 1):.2f}"
      f"  fit s {row['fit_seconds']:.1f}")
PY
  recbole_model=$([ "$model" = gru4rec ] && echo GRU4Rec || echo SASRec)
  echo "$model: RecBole, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  (cd "$OUT" && "$VENV/bin/python" "$OLDPWD/bench/sequential/recbole_seq.py" "$recbole_model" \
    "$DATA_DIR" "$RECBOLE_EPOCHS" "$OUT/recbole-$model.json" >/dev/null 2>"$OUT/recbole-$model.err")
  python3 - "$OUT/recbole-$model.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"  RecBole hit@10 {r['hit@10']:.4f}  ndcg@10 {r['ndcg@10']:.4f}  epochs {r['epochs']}"
      f"  s/epoch {r['train_seconds_per_epoch']:.2f}  train s {r['train_seconds']:.1f}")
PY
done
echo "done: load average $(cut -d' ' -f1-3 /proc/loadavg); results in $OUT"
