"""Run one RecBole 1.2.1 model on benchmark files; executed in RecBole's own venv.

Usage: ``python _recbole_driver.py SPEC.json OUT.json``. This file must not import
ssl4rec: it runs under a different interpreter with RecBole's pinned dependencies.

It performs ``run_recbole``'s steps one by one (config, dataset, data preparation,
model, trainer.fit, trainer.evaluate) without ``ray`` and with three changes:

- the best checkpoint is kept in memory instead of being written with ``torch.save``
  and read back with ``torch.load`` (which under torch >= 2.6 defaults to
  ``weights_only=True`` and refuses RecBole's checkpoint dict);
- an optional time budget stops training before the first epoch that would start
  after the budget is spent (the best model so far is then evaluated);
- timings (fit, per epoch, time to best validation, evaluation) and the peak
  resident memory of this process are measured and written as JSON;
- with ``scores_path`` in the spec, the score rows RecBole ranks in its final test
  evaluation (after its own ``-inf`` on the padding item) are also written, mapped
  back to the benchmark files' user and item tokens, as ``.npz`` arrays ``users``
  (one per row) and ``scores`` (rows x the largest item token + 1, ``-inf`` for an
  item RecBole does not know), so the harness can rank them with and without the
  user's history masked. The rows are the scores of the best model, recorded while
  RecBole evaluates it: no second forward pass.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import resource
import sys
import time
import traceback


class _BudgetSpent(Exception):
    """Raised inside ``Trainer.fit`` to stop training when the time budget is spent."""


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _plain(result: dict | None) -> dict:
    return {str(k): float(v) for k, v in (result or {}).items()}


def _patch_collector() -> None:
    """Make RecBole's collector skip values that are not tensors.

    RecBole 1.2.1 calls ``.cpu()`` on every collected value, including the plain int
    ``data.num_items`` that ItemCoverage/GiniIndex register.
    """
    from recbole.evaluator.collector import Collector

    def get_data_struct(self):
        data = self.data_struct._data_dict
        for key in data:
            if hasattr(data[key], "cpu"):
                data[key] = data[key].cpu()
        returned = copy.deepcopy(self.data_struct)
        for key in ["rec.topk", "rec.meanrank", "rec.score", "rec.items", "data.label"]:
            if key in self.data_struct:
                del self.data_struct[key]
        return returned

    Collector.get_data_struct = get_data_struct


def _score_recorder(trainer, rows: list) -> None:
    """Wrap ``trainer._full_sort_batch_eval`` to append each batch's users and scores.

    Installed just before the final test evaluation, so ``rows`` gets exactly the
    rows that RecBole's own test metrics are computed from.
    """
    original = trainer._full_sort_batch_eval
    uid_field = trainer.config["USER_ID_FIELD"]

    def full_sort_batch_eval(batched_data):
        interaction, scores, positive_u, positive_i = original(batched_data)
        rows.append((interaction[uid_field].cpu().numpy(), scores.detach().cpu().numpy()))
        return interaction, scores, positive_u, positive_i

    trainer._full_sort_batch_eval = full_sort_batch_eval


def _write_scores(path: str, rows: list, dataset, config) -> dict:
    """Write the recorded rows in token space (see the module docstring)."""
    import numpy as np

    users = np.concatenate([u for u, _ in rows]) if rows else np.zeros(0, dtype=np.int64)
    scores = np.concatenate([s for _, s in rows]) if rows else np.zeros((0, 0), np.float32)
    user_tokens = dataset.field2id_token[config["USER_ID_FIELD"]]
    item_tokens = dataset.field2id_token[config["ITEM_ID_FIELD"]]
    known = np.array([i for i, t in enumerate(item_tokens) if i > 0 and str(t).isdigit()])
    ours = np.array([int(item_tokens[i]) for i in known], dtype=np.int64)
    width = int(ours.max()) + 1 if len(ours) else 0
    out = np.full((len(users), width), -np.inf, dtype=np.float32)
    if len(ours):
        out[:, ours] = scores[:, known]
    user_ids = np.array([int(user_tokens[u]) for u in users], dtype=np.int64)
    tmp = path + ".tmp.npz"
    np.savez(tmp, users=user_ids, scores=out)
    os.replace(tmp, path)
    return {"score_rows": int(len(users)), "score_items": int(len(ours))}


def main(spec_path: str, out_path: str) -> int:
    with open(spec_path, encoding="utf-8") as fh:
        spec = json.load(fh)
    out: dict = {"status": "running"}
    start = time.perf_counter()
    try:
        import torch

        threads = spec.get("num_threads")
        if threads:
            torch.set_num_threads(int(threads))
        from recbole.config import Config
        from recbole.data import create_dataset, data_preparation
        from recbole.utils import get_model, get_trainer, init_logger, init_seed

        _patch_collector()
        config = Config(model=spec["model"], dataset=spec["dataset"], config_dict=spec["config"])
        init_seed(config["seed"], config["reproducibility"])
        init_logger(config)
        logging.getLogger().setLevel(logging.INFO)
        dataset = create_dataset(config)
        train_data, valid_data, test_data = data_preparation(config, dataset)
        out["load_s"] = time.perf_counter() - start

        fit_start = time.perf_counter()
        init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
        # closed-form models (EASE, ItemKNN) do their work in the constructor
        model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
        trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
        budget = spec.get("time_budget_s")
        state: dict = {"epochs": 0, "best_epoch": None, "time_to_best_s": None, "best": None}
        original_train_epoch = trainer._train_epoch

        def train_epoch(train_data, epoch_idx, *args, **kwargs):
            if budget is not None and time.perf_counter() - fit_start >= budget:
                raise _BudgetSpent()
            loss = original_train_epoch(train_data, epoch_idx, *args, **kwargs)
            state["epochs"] = epoch_idx + 1
            return loss

        def save_checkpoint(epoch, verbose=True, **kwargs):
            state["best"] = (
                copy.deepcopy(model.state_dict()),
                copy.deepcopy(model.other_parameter()),
            )
            state["best_epoch"] = epoch
            state["time_to_best_s"] = time.perf_counter() - fit_start

        trainer._train_epoch = train_epoch
        trainer._save_checkpoint = save_checkpoint
        stopped = "finished"
        try:
            _, best_valid = trainer.fit(train_data, valid_data, saved=True, show_progress=False)
        except _BudgetSpent:
            stopped = "time_budget"
            best_valid = trainer.best_valid_result
        fit_s = time.perf_counter() - fit_start
        if state["best"] is not None:
            model.load_state_dict(state["best"][0])
            model.load_other_parameter(state["best"][1])
        scores_path = spec.get("scores_path")
        recorded: list = []
        if scores_path:
            _score_recorder(trainer, recorded)
        eval_start = time.perf_counter()
        test = trainer.evaluate(test_data, load_best_model=False, show_progress=False)
        eval_s = time.perf_counter() - eval_start
        if scores_path:
            try:
                out.update(_write_scores(scores_path, recorded, dataset, config))
            except Exception as err:  # noqa: BLE001 - RecBole's own numbers still count
                out["scores_error"] = f"{type(err).__name__}: {err}"
        epochs = state["epochs"]
        iterative = config["MODEL_TYPE"].name != "TRADITIONAL" and epochs > 0
        out.update(
            status="ok",
            test=_plain(test),
            valid=_plain(best_valid),
            fit_s=fit_s,
            eval_s=eval_s,
            epochs_run=epochs,
            best_epoch=state["best_epoch"],
            seconds_per_epoch=(fit_s / epochs) if iterative else None,
            time_to_best_s=state["time_to_best_s"] if iterative else fit_s,
            stopped_reason=stopped,
            model_type=config["MODEL_TYPE"].name,
            num_items=int(dataset.item_num),
            num_users=int(dataset.user_num),
            torch=torch.__version__,
            torch_threads=torch.get_num_threads(),
        )
    except Exception as err:  # noqa: BLE001 - reported to the harness
        out.update(status="failed", error=f"{type(err).__name__}: {err}")
        out["traceback"] = traceback.format_exc(limit=10)
    out["wall_s"] = time.perf_counter() - start
    out["peak_rss_mb"] = _peak_rss_mb()
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(out, fh, indent=2)
    os.replace(tmp, out_path)
    return 0 if out["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
