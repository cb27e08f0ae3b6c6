"""What the RecBole 1.2.1 side of the benchmarks shares: the numpy 2 aliases RecBole still reads,
the training seconds of each epoch from RecBole's own log, and writing the summary.

Imported by bench/*/recbole_*.py, which put this folder on `sys.path` first.
"""

import glob
import json
import os
import re

import numpy as np


def patch_numpy():
    """RecBole 1.2.1 reads aliases that numpy 2 removed; they name the same types."""
    for alias, kind in [("float_", np.float64), ("complex_", np.complex128),
                        ("unicode_", np.str_), ("bool8", np.bool_), ("int_", np.int64)]:
        if alias not in np.__dict__:
            setattr(np, alias, kind)


def epoch_train_seconds():
    """The training seconds of every epoch, from the newest log under ./log."""
    logs = glob.glob("log/**/*.log", recursive=True)
    log = open(max(logs, key=os.path.getmtime)).read()
    return [float(s) for s in re.findall(r"epoch \d+ training \[time: ([0-9.]+)s", log)]


def write_summary(summary, out):
    """Prints the summary and writes it to `out` as JSON."""
    print(json.dumps(summary, indent=2))
    with open(out, "w") as f:
        json.dump(summary, f, indent=2)


def train_and_test(model, config_dict):
    """RecBole's quick_start without its import of ray (whose tune module fails on numpy 2):
    prepares the data, trains with early stopping, then tests the best epoch's weights from the
    checkpoint the run just wrote (torch 2.6+ refuses RecBole's pickled checkpoint unless told
    it is trusted). Returns the data splits, validation and test results and wall seconds."""
    import time
    from types import SimpleNamespace

    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_logger, init_seed

    began = time.perf_counter()
    config = Config(model=model, dataset="ml-100k", config_dict=config_dict)
    init_seed(config["seed"], config["reproducibility"])
    init_logger(config)
    dataset = create_dataset(config)
    train, valid, test_data = data_preparation(config, dataset)
    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    net = get_model(config["model"])(config, train._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, net)
    _, valid_result = trainer.fit(train, valid, saved=True, show_progress=False)
    checkpoint = torch.load(trainer.saved_model_file, map_location="cpu", weights_only=False)
    net.load_state_dict(checkpoint["state_dict"])
    test = trainer.evaluate(test_data, load_best_model=False, show_progress=False)
    return SimpleNamespace(train=train, valid=valid, test_data=test_data,
                           valid_result=valid_result, test=test,
                           wall=time.perf_counter() - began)
