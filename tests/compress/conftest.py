"""Run folders of tiny models on a planted dataset, shared by the compression tests.

``ssl4rec.runner.load_data`` is pointed at the same data and the hash text encoder
stands in for MiniLM, so pruning and distillation re-make the run's split offline.
"""

from __future__ import annotations

import pytest

from ssl4rec.runner import run_experiment
from ssl4rec.runner.experiment import ExperimentConfig
from ssl4rec.testing.fakes import HashTextEncoder
from ssl4rec.testing.synthetic import TINY_SEQUENTIAL, cycle_data


def _data():
    return cycle_data(num_users=60, num_items=300, length=12)


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """Run folders: ID + text SASRec, Mult-VAE and EASE."""
    import ssl4rec.text.sentence_transformers as st

    patch = pytest.MonkeyPatch()
    patch.setattr(st, "SentenceTransformerEncoder", lambda name: HashTextEncoder(32))
    root = tmp_path_factory.mktemp("runs")
    base = {"data": {"dataset": "ml-100k"}, "split": {"protocol": "loo"}}
    train = {"patience": None, "progress": False, "num_threads": 1}
    sasrec = {
        **TINY_SEQUENTIAL,
        "name": "sasrec",
        "item_repr": "id+text",
        "epochs": 3,
        "seen_bias": True,
    }
    configs = {
        "sasrec": {**base, "model": sasrec, "train": train},
        "multvae": {
            **base,
            "model": {"name": "multvae", "hidden_dims": [32], "embedding_dim": 16, "epochs": 3},
            "train": train,
        },
        "ease": {**base, "model": {"name": "ease"}},
    }
    data = _data()
    try:
        for name, config in configs.items():
            run_experiment(ExperimentConfig.from_dict(config), data=data, out_dir=root / name)
    finally:
        patch.undo()  # each test has its own stand-ins (below); later tests get the real class
    return root


@pytest.fixture(autouse=True)
def stand_ins(monkeypatch):
    """The run's data (instead of ml-100k) and the hash encoder (instead of MiniLM)."""
    import ssl4rec.runner
    import ssl4rec.text.sentence_transformers as st

    data = _data()
    monkeypatch.setattr(ssl4rec.runner, "load_data", lambda config, home=None: data)
    monkeypatch.setattr(st, "SentenceTransformerEncoder", lambda name: HashTextEncoder(32))
