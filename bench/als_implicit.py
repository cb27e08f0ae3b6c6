"""Fit implicit's ALS (conjugate gradient) on the CSV written by `als_bench generate`.

usage: als_implicit.py PATH FACTORS ITERATIONS ALPHA REG
Prints one JSON line with the fit seconds. implicit uses confidence = alpha * r, so pass
alpha = 1 + assay's alpha for the same problem on a binary matrix.
"""
import json
import sys
import time

import numpy as np
import scipy.sparse as sp
import implicit
from implicit.cpu.als import AlternatingLeastSquares


def main():
    path, factors, iterations, alpha, reg = sys.argv[1:6]
    start = time.perf_counter()
    pairs = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int32)
    users, items = pairs[:, 0], pairs[:, 1]
    matrix = sp.csr_matrix(
        (np.ones(len(users), dtype=np.float32), (users, items)),
        shape=(users.max() + 1, items.max() + 1),
    )
    read = time.perf_counter() - start
    model = AlternatingLeastSquares(
        factors=int(factors),
        regularization=float(reg),
        alpha=float(alpha),
        iterations=int(iterations),
        use_cg=True,
        random_state=1,
    )
    fit_start = time.perf_counter()
    model.fit(matrix, show_progress=False)
    fit = time.perf_counter() - fit_start
    print(json.dumps({
        "tool": "implicit " + implicit.__version__,
        "users": matrix.shape[0], "items": matrix.shape[1], "nnz": int(matrix.nnz),
        "read_s": round(read, 3), "fit_s": round(fit, 3),
        "checksum": float(np.asarray(model.item_factors, dtype=np.float64).sum()),
    }))


if __name__ == "__main__":
    main()
