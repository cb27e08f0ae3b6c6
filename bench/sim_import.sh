#!/usr/bin/env bash
# Simulator and importer throughput: simulate N events, then import them (with statistics), each
# timed with /usr/bin/time -v for wall time, CPU time and peak RSS. Usage: bench/sim_import.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
cargo build --release -p assay >/dev/null 2>&1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
measure() {
  local label=$1; shift
  /usr/bin/time -v "$@" >/dev/null 2>"$out/time"
  awk -v label="$label" -F': ' '
    /Elapsed \(wall clock\)/ {wall=$2}
    /User time/ {user=$2}
    /System time/ {sys=$2}
    /Maximum resident set size/ {rss=$2}
    END {printf "%-22s wall %s  cpu %.2f s  peak RSS %.1f MB\n", label, wall, user+sys, rss/1024}' "$out/time"
}
measure "simulate $n events" ./target/release/assay simulate --out "$out/shop" --events "$n" --json
measure "import + stats" ./target/release/assay data stats "$out/shop" --json
echo "events written: $(($(wc -l < "$out/shop/events.csv") - 1)), files: $(du -sh "$out/shop" | cut -f1)"
