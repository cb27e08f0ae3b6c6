# Sourced by the benchmarks that run RecBole 1.2.1 beside assay, from the repository root with
# ASSAY and VENV set: finds the ml-100k pack in RecBole's atomic format (DATA_DIR, default
# ../shared/data, else `assay data fetch ml100k`'s cache) and makes the throwaway venv when it
# has no recbole (PyPI's torch is the CUDA build, several GB, but runs on the CPU).
[ -x "$ASSAY" ] || cargo build --release -p assay --bin assay
if [ -z "${DATA_DIR:-}" ]; then
  if [ -f ../shared/data/ml-100k/ml-100k.inter ]; then
    DATA_DIR="$(cd ../shared/data && pwd)"
  else
    "$ASSAY" data fetch ml100k >/dev/null
    DATA_DIR="$(dirname "$(find "${ASSAY_HOME:-$HOME/.cache/assay}" -name ml-100k.inter | head -1)")/.."
  fi
fi
if ! "$VENV/bin/python" -c "import recbole" 2>/dev/null; then
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q recbole==1.2.1 torch
fi
