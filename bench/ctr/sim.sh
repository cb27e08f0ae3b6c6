#!/usr/bin/env bash
# Click models on a simulated shop's impressions (200,000 events, seed 42): the simulator's
# true click probabilities as the ceiling (sim_oracle.py), then assay's logistic regression,
# DeepFM (with the settings chosen on validation AUC, $DEEPFM_FLAGS) and the text model over
# three seeds of the random 80/10/10 split.
#
#   bench/ctr/sim.sh
#   SEEDS=1 DEEPFM_FLAGS="--embedding 16" bench/ctr/sim.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ASSAY="${ASSAY:-target/release/assay}"
OUT="${OUT:-$PWD/target/bench/ctr}"
SEEDS="${SEEDS:-1 2 3}"
DEEPFM_FLAGS="${DEEPFM_FLAGS:---embedding 8 --hidden 32 --dropout 0.2 --lr 0.0005 --batch 512}"
MAX_SECONDS="${MAX_SECONDS:-300}"
GRU_SECONDS="${GRU_SECONDS:-90}"
mkdir -p "$OUT"
[ -x "$ASSAY" ] || cargo build --release -p assay --bin assay
[ -f "$OUT/shop/events.csv" ] || "$ASSAY" simulate --out "$OUT/shop" --events 200000 --seed 42 >/dev/null
python3 bench/ctr/sim_oracle.py "$OUT/shop"
for seed in $SEEDS; do
  echo "seed $seed, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  "$ASSAY" ctr "$OUT/shop" --models lr --seed "$seed" --json >"$OUT/sim-lr-$seed.json"
  # shellcheck disable=SC2086
  "$ASSAY" ctr "$OUT/shop" --models deepfm $DEEPFM_FLAGS --seed "$seed" \
    --max-seconds "$MAX_SECONDS" --json >"$OUT/sim-deepfm-$seed.json"
  "$ASSAY" ctr "$OUT/shop" --models ctr-gru --seed "$seed" --max-seconds "$GRU_SECONDS" \
    --json >"$OUT/sim-ctr-gru-$seed.json"
done
python3 - "$OUT" $SEEDS <<'PY'
import json, statistics, sys
out, seeds = sys.argv[1], sys.argv[2:]
for model in ["lr", "deepfm", "ctr-gru"]:
    runs = [json.load(open(f"{out}/sim-{model}-{s}.json"))["models"][0] for s in seeds]
    auc = [r["test_auc"] for r in runs]
    ll = [r["test_logloss"] for r in runs]
    print(f"{model:8} test AUC {statistics.mean(auc):.4f} ± {statistics.pstdev(auc):.4f}  "
          f"LogLoss {statistics.mean(ll):.4f} ± {statistics.pstdev(ll):.4f}  "
          f"per seed {' '.join(f'{a:.4f}' for a in auc)}")
PY
echo "done: load average $(cut -d' ' -f1-3 /proc/loadavg)"
