#!/usr/bin/env bash
# A load run and a crash run of `assay serve` on a simulated shop, on loopback.
#
#   bench/serve/run.sh [SECONDS] [RATE] [TRIALS]
#
# Builds nothing: ASSAY (default target/release/assay) must exist. Writes into a temporary
# folder and prints the load generator's and the crash script's JSON.
set -euo pipefail
SECONDS_=${1:-60}
RATE=${2:-200}
TRIALS=${3:-20}
ASSAY=${ASSAY:-target/release/assay}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT

"$ASSAY" simulate --out "$WORK/shop" --events "${EVENTS:-200000}" --items "${ITEMS:-5000}" \
    --users "${USERS:-5000}" --seed 42 >/dev/null
KEY=$("$ASSAY" keys create --store "$WORK/shop.db" --role write 2>/dev/null)
"$ASSAY" serve "$WORK/shop" --store "$WORK/shop.db" --addr 127.0.0.1:7790 \
    --encoder "${ENCODER:-hash}" --retrain-events "${RETRAIN_EVENTS:-50000}" >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 600); do
    curl -sf http://127.0.0.1:7790/health >/dev/null && break
    sleep 0.5
done
python3 "$HERE/load.py" --addr 127.0.0.1:7790 --key "$KEY" --shop "$WORK/shop" --pid "$SERVER" \
    --seconds "$SECONDS_" --rate "$RATE" --mode "${MODE:-hybrid}"
kill -INT "$SERVER"; wait "$SERVER" || true

python3 "$HERE/crash.py" --assay "$ASSAY" --shop "$WORK/shop" --store "$WORK/crash.db" \
    --trials "$TRIALS"
