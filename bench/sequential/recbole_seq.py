"""RecBole 1.2.1's GRU4Rec or SASRec on ml-100k with the protocol `assay eval --protocol loo`
uses: leave-one-out by time (LS valid_and_test, TO order), full ranking, cross-entropy over all
items, sequences of at most 50 items, early stopping on validation NDCG@10 with patience 10.

    python recbole_seq.py MODEL DATA_DIR EPOCHS OUT.json

DATA_DIR holds `ml-100k/ml-100k.inter` (RecBole's atomic files, as `assay data fetch ml100k`
stores them). Prints and writes one JSON object: test hit@10 and NDCG@10, epochs run, training
seconds per epoch and in all, wall seconds.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from recbole_common import (  # noqa: E402
    epoch_train_seconds, patch_numpy, train_and_test, write_summary)

patch_numpy()


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
    run = train_and_test(model, config)
    # RecBole logs "epoch N training [time: X s, ...]" per epoch.
    train = epoch_train_seconds()
    summary = {
        "tool": "RecBole 1.2.1",
        "model": model,
        "hit@10": float(run.test["hit@10"]),
        "ndcg@10": float(run.test["ndcg@10"]),
        "epochs": len(train),
        "train_seconds_per_epoch": sum(train) / max(len(train), 1),
        "train_seconds": sum(train),
        "wall_seconds": run.wall,
    }
    write_summary(summary, out)


if __name__ == "__main__":
    main()
