"""RecBole 1.2.1's GRU4Rec or SASRec on ml-100k with the protocol `assay eval --protocol loo`
uses: leave-one-out by time (LS valid_and_test, TO order), full ranking, cross-entropy over all
items, sequences of at most 50 items, early stopping on validation NDCG@10 with patience 10.

    python recbole_seq.py MODEL DATA_DIR EPOCHS OUT.json

DATA_DIR holds `ml-100k/ml-100k.inter` (RecBole's atomic files, as `assay data fetch ml100k`
stores them). Prints and writes one JSON object: test hit@10 and NDCG@10, epochs run, training
seconds per epoch and in all, wall seconds.
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

from recbole.config import Config  # noqa: E402
from recbole.data import create_dataset, data_preparation  # noqa: E402
from recbole.utils import get_model, get_trainer, init_logger, init_seed  # noqa: E402


def main():
    model, data_dir, epochs, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    config = {
        "data_path": data_dir,
        "USER_ID_FIELD": "user_id",
        "ITEM_ID_FIELD": "item_id",
        "TIME_FIELD": "timestamp",
        "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
        "MAX_ITEM_LIST_LENGTH": 50,
        "train_neg_sample_args": None,
        "loss_type": "CE",
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full",
                      "group_by": "user"},
        "metrics": ["Hit", "NDCG"],
        "topk": [10],
        "valid_metric": "NDCG@10",
        "epochs": epochs,
        "stopping_step": 10,
        "seed": 2020,
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
    trainer.fit(train, valid, saved=True, show_progress=False)
    # The best epoch's weights, from the checkpoint this run just wrote (torch 2.6+ refuses
    # RecBole's pickled checkpoint unless told it is trusted).
    import torch
    checkpoint = torch.load(trainer.saved_model_file, map_location="cpu", weights_only=False)
    net.load_state_dict(checkpoint["state_dict"])
    test = trainer.evaluate(test_data, load_best_model=False, show_progress=False)
    wall = time.perf_counter() - began
    # RecBole logs "epoch N training [time: X s, ...]" per epoch.
    log = open(_latest_log()).read()
    train = [float(s) for s in re.findall(r"epoch \d+ training \[time: ([0-9.]+)s", log)]
    summary = {
        "tool": "RecBole 1.2.1",
        "model": model,
        "hit@10": float(test["hit@10"]),
        "ndcg@10": float(test["ndcg@10"]),
        "epochs": len(train),
        "train_seconds_per_epoch": sum(train) / max(len(train), 1),
        "train_seconds": sum(train),
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
