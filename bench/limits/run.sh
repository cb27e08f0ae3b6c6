#!/usr/bin/env bash
# Resource limits at a shop's scale: a simulated catalog of 200,000 items with about 5M events
# through data stats, eval (itemknn, als), index (hash encoder), train and report, each under
# /usr/bin/time -v (wall time, peak RSS, exit status) and `nice -n $NICE` (10). Every command must
# finish or refuse with a clear message (exit 2); none may abort. Not part of CI: it runs for
# hours on a 2-core box. Results: $OUT/summary.md; the measured table is in README.md. The
# commands run under assay's own time budget: set ASSAY_TIME_LIMIT (e.g. 30m) below LIMIT so a
# step over it is refused by assay rather than stopped by `timeout`.
set -uo pipefail
cd "$(dirname "$0")/../.."
ITEMS="${ITEMS:-200000}"
EVENTS="${EVENTS:-5000000}"
SEED="${SEED:-42}"
# The longest any one command may run before it is stopped and recorded as unfinished.
LIMIT="${LIMIT:-14400}"
# The steps to run (a shop from an earlier run is reused when `simulate` is left out), and the
# priority they run at.
STEPS="${STEPS:-simulate stats eval index train report}"
NICE="${NICE:-10}"
OUT="${OUT:-/tmp/assay-limits-bench}"
mkdir -p "$OUT"
export ASSAY_HOME="$OUT/home"
# The workspace's test profile is optimized (opt-level 1, dependencies at 2) and keeps overflow
# checks on: a release-like binary that also panics on integer overflow.
nice -n "$NICE" cargo build --profile test -p assay --bin assay || exit 1
ASSAY="$PWD/target/debug/assay"
SHOP="$OUT/shop"

# run NAME ARGS...: runs `assay ARGS` and appends a row to summary.md (when NAME is a step).
run() {
  local name="$1"
  shift
  case " $STEPS " in
    *" $name "*) ;;
    *) return 0 ;;
  esac
  echo "== $name: assay $*" | tee -a "$OUT/load.txt"
  uptime >>"$OUT/load.txt"
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -v -o "$OUT/$name.time" timeout "$LIMIT" nice -n "$NICE" "$ASSAY" "$@" \
    >"$OUT/$name.out" 2>"$OUT/$name.err"
  local rc
  rc=$(sed -n 's/^\s*Exit status: //p' "$OUT/$name.time")
  local wall
  wall=$(sed -n 's/^\s*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$OUT/$name.time")
  local rss
  rss=$(sed -n 's/^\s*Maximum resident set size (kbytes): //p' "$OUT/$name.time")
  local outcome
  if grep -q "terminated by signal" "$OUT/$name.time"; then
    rc="$(sed -n 's/^\s*Command terminated by signal /signal /p' "$OUT/$name.time")"
  fi
  case "$rc" in
    0) outcome="finished" ;;
    2) outcome="refused: $(grep -m1 '^error:' "$OUT/$name.err")" ;;
    124) outcome="stopped after ${LIMIT} s (did not finish)" ;;
    *) outcome="FAILED (exit $rc): $(tail -n 2 "$OUT/$name.err" | tr '\n' ' ')" ;;
  esac
  local notes
  notes=$(grep '^note:' "$OUT/$name.err" | cut -c1-160 | tr '\n' ' ')
  local shown="${*//$OUT\//}"
  printf '| `assay %s` | %s | %s | %s MiB | %s | %s |\n' "$shown" "$outcome" "$wall" \
    "$((rss / 1024))" "$load" "$notes" | tee -a "$OUT/summary.md"
}

{
  echo "# $ITEMS items, $EVENTS events, seed $SEED ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo
  echo "| command | outcome | wall (h:mm:ss) | peak RSS | load before | notes |"
  echo "|---|---|---|---|---|---|"
} >"$OUT/summary.md"
case " $STEPS " in
  *" simulate "*) rm -rf "$SHOP" ;;
esac
run simulate simulate --out "$SHOP" --items "$ITEMS" --events "$EVENTS" --seed "$SEED"
run stats data stats "$SHOP"
run eval eval "$SHOP" --models itemknn,als
run index index "$SHOP" --encoder hash --index "$OUT/index"
run train train "$SHOP" --out "$OUT/model"
run report report "$SHOP" --out "$OUT/report.html"
uptime >>"$OUT/load.txt"
cat "$OUT/summary.md"
