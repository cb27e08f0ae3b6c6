#!/usr/bin/env bash
# Click models on ml-100k as RecBole's context-aware task (rating >= 4 positive, random 80/10/10
# split ordered RO, early stopping on validation AUC): assay's logistic regression and DeepFM
# beside RecBole 1.2.1's DeepFM, one after the other (never at once), over the same seeds.
# Each tool draws its own random split from the seed, so the rows differ; the mean over
# seeds is what compares.
#
#   bench/ctr/run.sh                    # seeds 2020 2021 2022
#   SEEDS=2020 bench/ctr/run.sh
#
# RecBole runs in a throwaway venv under the build folder ($VENV, default
# target/bench/recbole-venv; reused when it has recbole). The data is the ml-100k pack in
# RecBole's atomic format ($DATA_DIR, default ../shared/data, else `assay data fetch ml100k`'s
# cache). Results: $OUT/*.json and a table on stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
ASSAY="${ASSAY:-target/release/assay}"
VENV="${VENV:-$PWD/target/bench/recbole-venv}"
OUT="${OUT:-$PWD/target/bench/ctr}"
SEEDS="${SEEDS:-2020 2021 2022}"
mkdir -p "$OUT"
# shellcheck source=../recbole_env.sh
. bench/recbole_env.sh

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for seed in $SEEDS; do
  echo "seed $seed: assay, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  "$ASSAY" ctr ml-100k --models lr,deepfm --seed "$seed" --json >"$OUT/assay-$seed.json"
  echo "seed $seed: RecBole, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  (cd "$OUT" && "$VENV/bin/python" "$OLDPWD/bench/ctr/recbole_ctr.py" DeepFM "$DATA_DIR" "$seed" \
    "$OUT/recbole-deepfm-$seed.json" >/dev/null 2>"$OUT/recbole-$seed.err")
done
python3 - "$OUT" $SEEDS <<'PY'
import json, statistics, sys
out, seeds = sys.argv[1], sys.argv[2:]
rows = {}
for seed in seeds:
    for m in json.load(open(f"{out}/assay-{seed}.json"))["models"]:
        rows.setdefault(f"assay {m['model']}", []).append(
            (m["test_auc"], m["test_logloss"], m["epochs"], m["train_seconds"]))
    r = json.load(open(f"{out}/recbole-deepfm-{seed}.json"))
    rows.setdefault("RecBole DeepFM", []).append(
        (r["test_auc"], r["test_logloss"], r["epochs"], r["train_seconds"]))
def ms(xs):
    return f"{statistics.mean(xs):.4f} ± {statistics.pstdev(xs):.4f}"
print(f"{'model':16} {'test AUC':18} {'test LogLoss':18} epochs  train s   (seeds {' '.join(seeds)})")
for name, v in rows.items():
    print(f"{name:16} {ms([x[0] for x in v]):18} {ms([x[1] for x in v]):18} "
          f"{statistics.mean(x[2] for x in v):6.1f} {statistics.mean(x[3] for x in v):8.1f}")
PY
echo "done: load average $(cut -d' ' -f1-3 /proc/loadavg); results in $OUT"
