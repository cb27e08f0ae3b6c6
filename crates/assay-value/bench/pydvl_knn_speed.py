"""Times pyDVL 0.10's KNNShapleyValuation on train.csv / test.csv written by
`cargo run --release -p assay-value --example knn_speed N M D K DIR`, and writes its values
to DIR/pydvl_values.npy for comparison.

    python pydvl_knn_speed.py DIR K [N_JOBS]
"""

import sys
import time

import numpy as np
from joblib import parallel_config
from pydvl.valuation.dataset import Dataset
from pydvl.valuation.methods.knn_shapley import KNNShapleyValuation
from sklearn.neighbors import KNeighborsClassifier


def read(path):
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    return data[:, :-1], data[:, -1].astype(int)


def main():
    folder, k = sys.argv[1], int(sys.argv[2])
    n_jobs = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    x_train, y_train = read(f"{folder}/train.csv")
    x_test, y_test = read(f"{folder}/test.csv")
    start = time.perf_counter()
    with parallel_config(n_jobs=n_jobs):
        valuation = KNNShapleyValuation(
            KNeighborsClassifier(n_neighbors=k), Dataset(x_test, y_test), progress=False
        )
        valuation.fit(Dataset(x_train, y_train))
    elapsed = time.perf_counter() - start
    result = valuation.result
    values = np.empty(len(y_train))
    values[np.asarray(result.indices)] = np.asarray(result.values)
    np.save(f"{folder}/pydvl_values.npy", values)
    print(f"pydvl N={len(y_train)} M={len(y_test)} K={k}: {elapsed:.2f} s with n_jobs={n_jobs}")


if __name__ == "__main__":
    main()
