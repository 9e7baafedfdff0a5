"""A tiny data-parallel training job for the distributed tests (run once per rank).

``python -m ssl4rec.testing.distributed OUT [--model multvae|multdae|sasrec|zoo] [--batch-size B]
[--epochs E] [--run-dir DIR] [--resume] [--kill-rank R --kill-epoch K]`` fits a small
model on planted-signal data through the generic trainer. Under a launcher
(``torchrun``, or ``RANK``/``WORLD_SIZE``/``MASTER_ADDR``/``MASTER_PORT`` set by hand)
the trainer runs data-parallel. Rank 0 writes ``OUT/weights.safetensors`` and
``OUT/result.json`` (validation NDCG@10 after training, per-epoch losses); ``zoo``
trains one model of each other kind (BPR, CFGAN's two optimizers, RecVAE's phases with
sparse rows, CDAE, BERT4Rec, CL4SRec with sampled softmax, SASRec with item text) for
two epochs and records each one's summary. With
``--kill-rank``, that rank kills itself (SIGKILL) after the given epoch, to test that
the others fail clearly and that the run resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["main"]


class _KillAfter:
    """An epoch callback that SIGKILLs this process after epoch ``epoch`` on ``rank``."""

    def __init__(self, rank: int, epoch: int) -> None:
        self.rank, self.epoch = rank, epoch

    def on_epoch_end(self, model: Any, record: Mapping[str, Any]) -> None:
        from ssl4rec.training.distributed import world

        if world()[0] == self.rank and int(record["epoch"]) == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str] | None = None) -> None:
    """Run the job (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument(
        "--model", default="multvae", choices=["multvae", "multdae", "sasrec", "zoo"]
    )
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-dir", default=None)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--kill-rank", type=int, default=None)
    parser.add_argument("--kill-epoch", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)

    import torch
    from safetensors.torch import save_file

    from ssl4rec.evaluation.evaluator import evaluate
    from ssl4rec.models.mult_dae import MultDAE
    from ssl4rec.models.mult_vae import MultVAE
    from ssl4rec.models.sasrec import SASRec
    from ssl4rec.testing.synthetic import TINY_SEQUENTIAL, block_split, cycle_split
    from ssl4rec.training.checkpoint import model_tensors
    from ssl4rec.training.distributed import is_writer, shutdown
    from ssl4rec.training.trainer import TrainConfig

    torch.set_num_threads(1)
    if args.model == "zoo":
        _zoo(args.out)
        shutdown()
        return
    model: Any
    if args.model == "multvae":
        split = block_split()
        model = MultVAE(
            hidden_dims=(32,),
            embedding_dim=16,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=1e-2,
            total_anneal_steps=50,
            seed=args.seed,
        )
    elif args.model == "multdae":  # no dropout: a deterministic step, for exact comparisons
        split = block_split()
        model = MultDAE(
            hidden_dims=(32,),
            embedding_dim=16,
            dropout=0.0,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=1e-2,
            seed=args.seed,
        )
    else:
        split = cycle_split()
        settings = {**TINY_SEQUENTIAL, "batch_size": args.batch_size}
        model = SASRec(**settings, epochs=args.epochs, seed=args.seed)  # type: ignore[arg-type]
    config = TrainConfig(
        progress=False,
        patience=None,
        run_dir=args.run_dir,
        resume=args.resume,
        dist_timeout_s=args.timeout,
    )
    callbacks = [] if args.kill_rank is None else [_KillAfter(args.kill_rank, args.kill_epoch)]
    model.fit(split.train, valid=split.valid, train_config=config, callbacks=callbacks)
    ndcg = float(evaluate(model, split, part="valid", metrics=("ndcg@10",)).metrics["ndcg@10"])
    if is_writer():
        args.out.mkdir(parents=True, exist_ok=True)
        save_file(model_tensors(model), str(args.out / "weights.safetensors"))
        summary = model.train_summary
        log = Path(args.run_dir, "log.jsonl") if args.run_dir else None
        records = [json.loads(x) for x in log.read_text().splitlines()] if log else []
        losses = [r["losses"]["loss"] for r in records]
        result = {"valid_ndcg@10": ndcg, "summary": summary, "losses": losses}
        (args.out / "result.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    shutdown()


def _zoo(out: Path) -> None:
    import numpy as np

    from ssl4rec.models.registry import get_model_class
    from ssl4rec.testing.synthetic import TINY_SEQUENTIAL, block_split, cycle_split
    from ssl4rec.training.distributed import is_writer
    from ssl4rec.training.trainer import TrainConfig

    blocks, cycle = block_split(), cycle_split()
    text = np.random.default_rng(0).normal(size=(cycle.train.num_items, 12)).astype("float32")
    cases: list[tuple[str, Any, dict[str, Any]]] = [
        ("bpr", blocks, {}),
        ("cfgan", blocks, {}),
        ("recvae", blocks, {"hidden_dims": (16,), "embedding_dim": 8, "sparse_input": True}),
        ("cdae", blocks, {}),
        ("bert4rec", cycle, dict(TINY_SEQUENTIAL)),
        ("cl4srec", cycle, {**TINY_SEQUENTIAL, "loss": "sampled_ce", "num_negatives": 5}),
        ("sasrec", cycle, {**TINY_SEQUENTIAL, "item_repr": "id+text", "seen_bias": True}),
    ]
    summaries = {}
    for name, split, params in cases:
        model_class = get_model_class(name)
        extra = {"item_text": text} if params.get("item_repr", "id") != "id" else {}
        model = model_class(**params, **extra, epochs=2)
        settings = TrainConfig(progress=False, patience=None)
        model.fit(split.train, valid=split.valid, train_config=settings)
        summaries[name] = model.train_summary
    if is_writer():
        out.mkdir(parents=True, exist_ok=True)
        (out / "result.json").write_text(json.dumps(summaries, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
