"""RecBole 1.2.1's DeepFM (or LR) on ml-100k as RecBole's context-aware task: rating >= 4 is
positive (`threshold: {rating: 4}`), fields user_id, item_id, rating's timestamp, age, gender,
occupation, release_year and class (RecBole's `context-aware_ml-100k.yaml`), random 80/10/10
split ordered RO (`context-aware.yaml`), early stopping on validation AUC with stopping step
10, RecBole's DeepFM defaults (embedding 10, MLP 128-128-128, dropout 0.2, lr 0.001, batch 2048).

    python recbole_ctr.py MODEL DATA_DIR SEED OUT.json

DATA_DIR holds `ml-100k/ml-100k.{inter,user,item}` (RecBole's atomic files). Prints and writes
one JSON object: test AUC and LogLoss, validation AUC, epochs run, training seconds.
"""

import json
import re
import sys
import time

import numpy as np

# RecBole 1.2.1 reads aliases that numpy 2 removed; they name the same types.
for alias, kind in [("float_", np.float64), ("complex_", np.complex128), ("unicode_", np.str_),
                    ("bool8", np.bool_), ("int_", np.int64)]:
    if alias not in np.__dict__:
        setattr(np, alias, kind)

import pandas as pd  # noqa: E402
from recbole.config import Config  # noqa: E402
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

from recbole.data import create_dataset, data_preparation  # noqa: E402
from recbole.utils import get_model, get_trainer, init_logger, init_seed  # noqa: E402


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
    began = time.perf_counter()
    # RecBole's quick_start, without its import of ray (whose tune module fails on numpy 2).
    config = Config(model=model, dataset="ml-100k", config_dict=config)
    init_seed(config["seed"], config["reproducibility"])
    init_logger(config)
    dataset = create_dataset(config)
    train, valid, test_data = data_preparation(config, dataset)
    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    net = get_model(config["model"])(config, train._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, net)
    best_valid, valid_result = trainer.fit(train, valid, saved=True, show_progress=False)
    import torch
    checkpoint = torch.load(trainer.saved_model_file, map_location="cpu", weights_only=False)
    net.load_state_dict(checkpoint["state_dict"])
    test = trainer.evaluate(test_data, load_best_model=False, show_progress=False)
    wall = time.perf_counter() - began
    log = open(_latest_log()).read()
    epochs = [float(s) for s in re.findall(r"epoch \d+ training \[time: ([0-9.]+)s", log)]
    summary = {
        "tool": "RecBole 1.2.1",
        "model": model,
        "seed": seed,
        "rows": [len(train.dataset), len(valid.dataset), len(test_data.dataset)],
        "fields": [f for f in train.dataset.field2type if f != "label"],
        "test_auc": float(test["auc"]),
        "test_logloss": float(test["logloss"]),
        "valid_auc": float(valid_result["auc"]),
        "epochs": len(epochs),
        "train_seconds": sum(epochs),
        "wall_seconds": wall,
    }
    print(json.dumps(summary, indent=2))
    with open(out, "w") as f:
        json.dump(summary, f, indent=2)


def _latest_log():
    import glob
    import os
    logs = glob.glob("log/**/*.log", recursive=True)
    return max(logs, key=os.path.getmtime)


if __name__ == "__main__":
    main()
