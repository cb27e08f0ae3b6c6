#!/usr/bin/env bash
# Exact KNN-Shapley, assay against pyDVL 0.10 on the same files.
#
#   bench/knn_side_by_side.sh [PYDVL_N] [PYTHON]
#
# 1. assay on N = 100,000 training x M = 1,000 test points (D = 20, K = 5), in memory.
# 2. PYDVL_N x 1,000 points (default 10,000; pyDVL at 100,000 took 421 s on two idle cores)
#    written as CSV files; assay values them from the files, pyDVL
#    (bench/pydvl_knn_speed.py, n_jobs = 2) values the same files, and the values are compared.
# 3. pyDVL's time at 100,000 is extrapolated from PYDVL_N as N log N (it sorts every training
#    point per test point, like assay): an estimate, printed as such.
#
# PYTHON must have pydvl==0.10.0 and scikit-learn (python -m venv v && v/bin/pip install
# pydvl==0.10.0 scikit-learn). Run from the repository root or from crates/assay-value.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
n_py="${1:-10000}"
python="${2:-python3}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
cd "$here/.."
cargo build --release -p assay-value --example knn_speed >/dev/null 2>&1 \
  || cargo build --release -p assay-value --example knn_speed
example="$(cargo metadata --format-version 1 --no-deps \
  | "$python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/examples/knn_speed"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
echo "== assay, 100000 x 1000"
/usr/bin/time -f "   wall %e s, cpu %U s user + %S s sys" "$example" 100000 1000 20 5
echo "== assay, $n_py x 1000, in memory and from CSV"
"$example" "$n_py" 1000 20 5 "$dir"
echo "== pyDVL, $n_py x 1000, same CSV files"
py_line="$("$python" "$here/pydvl_knn_speed.py" "$dir" 5 2)"
echo "$py_line"
"$python" - "$dir" "$n_py" "$py_line" <<'PY'
import math, sys
import numpy as np
folder, n, line = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ours = np.loadtxt(f"{folder}/assay_values.csv")
theirs = np.load(f"{folder}/pydvl_values.npy")
print(f"max |assay - pyDVL| over {n} values: {np.max(np.abs(ours - theirs)):.2e}")
seconds = float(line.split(":")[1].split("s")[0])
scale = (100_000 * math.log(100_000)) / (n * math.log(n))
print(f"pyDVL at 100000 x 1000, EXTRAPOLATED (N log N from {n}): about {seconds * scale:.0f} s")
PY
