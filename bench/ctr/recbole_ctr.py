"""RecBole 1.2.1's DeepFM (or LR) on ml-100k as RecBole's context-aware task: rating >= 4 is
positive (`threshold: {rating: 4}`), fields user_id, item_id, rating's timestamp, age, gender,
occupation, release_year and class (RecBole's `context-aware_ml-100k.yaml`), random 80/10/10
split ordered RO (`context-aware.yaml`), early stopping on validation AUC with stopping step
10, RecBole's DeepFM defaults (embedding 10, MLP 128-128-128, dropout 0.2, lr 0.001, batch 2048).

    python recbole_ctr.py MODEL DATA_DIR SEED OUT.json

DATA_DIR holds `ml-100k/ml-100k.{inter,user,item}` (RecBole's atomic files). Prints and writes
one JSON object: test AUC and LogLoss, validation AUC, epochs run, training seconds.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from recbole_common import (  # noqa: E402
    epoch_train_seconds, patch_numpy, train_and_test, write_summary)

patch_numpy()

import pandas as pd  # noqa: E402
from recbole.data.dataset import Dataset  # noqa: E402
from recbole.utils import FeatureType  # noqa: E402


def _remap(self, remap_list):
    """RecBole 1.2.1's `Dataset._remap`, with a token sequence column set as a Series of arrays
    (pandas 3 applies `agg(len)` to the whole column, not to each row)."""
    if len(remap_list) == 0:
        return
    tokens, split_point = self._concat_remaped_tokens(remap_list)
    new_ids_list, mp = pd.factorize(tokens)
    new_ids_list = np.split(new_ids_list + 1, split_point)
    mp = np.array(["[PAD]"] + list(mp))
    token_id = {t: i for i, t in enumerate(mp)}
    for (feat, field, ftype), new_ids in zip(remap_list, new_ids_list):
        if field not in self.field2id_token:
            self.field2id_token[field] = mp
            self.field2token_id[field] = token_id
        if ftype == FeatureType.TOKEN:
            feat[field] = new_ids
        elif ftype == FeatureType.TOKEN_SEQ:
            split_point = np.cumsum(feat[field].map(len).to_numpy())[:-1]
            seqs = np.split(new_ids, split_point)
            feat[field] = pd.Series(seqs, index=feat.index, dtype=object)


Dataset._remap = _remap


def main():
    model, data_dir, seed, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    config = {
        "data_path": data_dir,
        "threshold": {"rating": 4},
        "load_col": {
            "inter": ["user_id", "item_id", "rating", "timestamp"],
            "user": ["user_id", "age", "gender", "occupation"],
            "item": ["item_id", "release_year", "class"],
        },
        "eval_args": {"split": {"RS": [0.8, 0.1, 0.1]}, "order": "RO", "group_by": None,
                      "mode": "labeled"},
        "train_neg_sample_args": None,
        "metrics": ["AUC", "LogLoss"],
        "valid_metric": "AUC",
        "epochs": 300,
        "stopping_step": 10,
        "seed": seed,
        "reproducibility": True,
        "device": "cpu",
        "use_gpu": False,
        "show_progress": False,
        "checkpoint_dir": "saved",
    }
    run = train_and_test(model, config)
    epochs = epoch_train_seconds()
    summary = {
        "tool": "RecBole 1.2.1",
        "model": model,
        "seed": seed,
        "rows": [len(run.train.dataset), len(run.valid.dataset), len(run.test_data.dataset)],
        "fields": [f for f in run.train.dataset.field2type if f != "label"],
        "test_auc": float(run.test["auc"]),
        "test_logloss": float(run.test["logloss"]),
        "valid_auc": float(run.valid_result["auc"]),
        "epochs": len(epochs),
        "train_seconds": sum(epochs),
        "wall_seconds": run.wall,
    }
    write_summary(summary, out)


if __name__ == "__main__":
    main()
