#!/usr/bin/env bash
# Runs every fuzz target (or those named) for a fixed number of executions and prints a table:
# target, executions, seconds, crashes.
#
#   fuzz/run.sh                    # every target, 1,000,000 executions each
#   fuzz/run.sh 100000 recbole ab  # two targets, 100,000 executions each
#
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`). Each target
# starts from fuzz/seeds/<target> plus what earlier runs kept in fuzz/corpus/<target>; a crash
# stops that target and leaves its input in fuzz/artifacts/<target>/. The table is also written
# to fuzz/results/table.md. Set NICE (default 10) to change the priority, TIMEOUT (seconds per
# input, default 10), and BUILD=0 to run the targets as last built.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
runs="${1:-1000000}"
shift || true
all=(recbole obd project_csv project_tsv project_jsonl project_toml judgments ab action_dist
    prior knn_table other_readers filters)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

features=()
for t in "${targets[@]}"; do
    [ "$t" = filters ] && features=(--features search)
done
cd "$here"
# No sanitizer: the readers are safe Rust, so a panic is the failure to find; debug assertions
# turn integer overflow into one. Comparison tracing is on for assay's own crates only (see
# Cargo.toml).
if [ "${BUILD:-1}" != 0 ]; then
    cargo +nightly fuzz build --sanitizer none --debug-assertions --no-trace-compares "${features[@]}"
fi
triple="$(rustc +nightly -vV | sed -n 's/^host: //p')"
bin_dir="$here/target/$triple/release"

scratch="$(mktemp -d "${FUZZ_TMP:-/dev/shm}/assay-fuzz.XXXXXX" 2>/dev/null || mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM
mkdir -p results
table="${TABLE:-results/table.md}"
{
    echo "| target | executions | seconds | crashes |"
    echo "|---|---:|---:|---:|"
} >"$table"
failed=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    log="results/$t.log"
    before=$(find "artifacts/$t" -type f | wc -l)
    start=$(date +%s.%N)
    set +e
    TMPDIR="$scratch" nice -n "${NICE:-10}" "$bin_dir/$t" "corpus/$t" "seeds/$t" \
        -runs="$runs" -timeout="${TIMEOUT:-10}" -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/" </dev/null >"$log" 2>&1
    status=$?
    set -e
    end=$(date +%s.%N)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    after=$(find "artifacts/$t" -type f | wc -l)
    crashes=$((after - before))
    if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then
        crashes="error (exit $status, see $log)"
    fi
    [ "$status" -eq 0 ] || failed=1
    row=$(printf '| %s | %s | %.0f | %s |' "$t" "${execs:-?}" "$(awk "BEGIN { print $end - $start }")" "$crashes")
    echo "$row" >>"$table"
    echo "$row"
done
echo
cat "$table"
exit "$failed"
