"""Replay a dataset as a stream and measure static, history-folding and online-updated serving.

``replay(config)`` orders the events by global time (stable), fits the experiment's
model on the first ``train_fraction`` of them (its last tenth is the validation set
of early stopping), and streams the rest in windows of ``window`` events. Every
streamed event is scored *before* it is revealed, over the full catalog, with the
items of the history the policy knows masked (the service's ``exclude_seen``):

- **static**: the fitted model and the histories as they were at the cut (what a
  nightly batch system shows until its next retrain);
- **folding**: the fitted model and every earlier event folded into the user's
  history, as the service does on each request (``model.score_history`` of the
  training history followed by the posted events);
- **online**: like folding, and after every ``update_every`` windows the model is
  updated on those windows' events by ``ssl4rec.runner.online.update_model`` (the
  update ``ssl4rec update`` and ``serve --update-every`` run, with its guard).

Metrics per event: NDCG@10 and HR@10 of the revealed item (one relevant item, so
NDCG is ``1 / log2(rank + 2)`` inside the top 10). The result holds per-window means
for plots, and per policy the mean over all streamed events and over the last third
of them.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ssl4rec.config.base import Checks, from_dict
from ssl4rec.config.yaml_io import load_yaml
from ssl4rec.errors import ConfigError
from ssl4rec.evaluation.ranking import top_k
from ssl4rec.runner.online import UpdateConfig, update_model

__all__ = ["POLICIES", "ReplayConfig", "load_replay_config", "replay", "replay_seed"]

logger = logging.getLogger(__name__)

POLICIES = ("static", "folding", "online")


@dataclass(frozen=True, kw_only=True)
class ReplayConfig:
    """A replay: which experiment, how the stream is cut, how often the model updates."""

    experiment: str
    """Experiment config (data, model, train): a shipped config's name or a YAML path."""
    set: tuple[str, ...] = ()
    """Overrides of the experiment, as ``ssl4rec train --set`` (``model.epochs=20``)."""
    train_fraction: float = 0.7
    """Share of the events, earliest first, the model is fitted on before the stream."""
    window: int = 1000
    """Events per window."""
    update_every: int = 1
    """Windows between online updates."""
    max_windows: int | None = None
    """Stop after this many windows (``None``: the whole stream)."""
    k: int = 10
    """Cut-off of NDCG and HR."""
    seeds: tuple[int, ...] = (0,)
    """Model seeds (one replay each)."""
    update: UpdateConfig = field(default_factory=UpdateConfig)
    """Settings of each online update."""

    def __post_init__(self) -> None:
        checks = Checks("ReplayConfig")
        checks.in_range("train_fraction", self.train_fraction, 0, 1, low_open=True, high_open=True)
        checks.positive("window", self.window)
        checks.positive("update_every", self.update_every)
        checks.positive("max_windows", self.max_windows)
        checks.positive("k", self.k)
        if not self.seeds:
            checks.fail("seeds", "a non-empty list", self.seeds)
        checks.raise_if_any()


def load_replay_config(path: str | Path, *, overrides: Sequence[str] = ()) -> ReplayConfig:
    """Read a replay YAML (a shipped name in ``ssl4rec/bench/replay/``, or a path).

    Raises:
        ConfigError: naming the file and the field.
    """
    from ssl4rec.config.packaged import packaged_path
    from ssl4rec.config.yaml_io import apply_overrides

    file = packaged_path(path, package="ssl4rec", folder="bench/replay", what="replay config")
    data = apply_overrides(load_yaml(file), overrides)
    try:
        return from_dict(ReplayConfig, data)
    except ConfigError as err:
        raise ConfigError(f"{file}: {err}") from None


def replay(config: ReplayConfig, *, out: Path | None = None) -> dict[str, Any]:
    """Run the replay for every seed; write ``replay.json`` and ``replay.png`` into ``out``.

    Returns:
        ``{"policies": {policy: {"ndcg@10": mean over seeds, "ndcg@10_std": ...,
        ... "_last_third" variants}}, "seeds": [per-seed results], "config": ...}``.
    """
    runs = [replay_seed(config, seed) for seed in config.seeds]
    result = {"config": _plain_config(config), "policies": _summary(runs, config.k), "seeds": runs}
    if out is not None:
        import json

        out.mkdir(parents=True, exist_ok=True)
        (out / "replay.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
        plot_replay(result, out / "replay.png")
    return result


def replay_seed(config: ReplayConfig, seed: int) -> dict[str, Any]:
    """One replay with model seed ``seed`` (see the module docstring)."""
    from ssl4rec.config.packaged import config_path
    from ssl4rec.models.history import History
    from ssl4rec.runner.experiment import load_experiment
    from ssl4rec.runner.run import build_model, load_data

    exp = load_experiment(
        config_path(config.experiment), overrides=[*config.set, f"model.seed={seed}"]
    )
    data = load_data(exp.data)
    order = np.argsort(data.timestamps, kind="stable")
    cut = int(len(order) * config.train_fraction)
    pre = data.select(order[:cut])
    fit_cut = int(cut * 0.9)
    train, valid = data.select(order[:fit_cut]), data.select(order[fit_cut:cut])
    start = time.perf_counter()
    model = build_model(exp)
    model.fit(train, valid=valid, train_config=exp.train)
    fit_seconds = time.perf_counter() - start
    model.history = History.from_interactions(pre)  # served histories: everything before the stream
    logger.info("replay: fitted %s on %d events in %.1f s", model.name, len(train), fit_seconds)

    stream = order[cut:]
    windows = [stream[i : i + config.window] for i in range(0, len(stream), config.window)]
    if config.max_windows is not None:
        windows = windows[: config.max_windows]
    users_raw, items_raw = data.user_vocab.ids, data.item_vocab.ids
    folded: dict[int, list[int]] = {}
    update_cfg = dataclasses.replace(config.update, seed=seed)
    online = model
    per_window: dict[str, list[dict[str, float]]] = {p: [] for p in POLICIES}
    updates: list[dict[str, Any]] = []
    consumed: list[tuple[str, str, int]] = []
    pending: list[tuple[str, str, int]] = []
    for number, window in enumerate(windows):
        users = data.users[window].astype(np.int64)
        items = data.items[window].astype(np.int64)
        base = [model.history.sequence(int(u)) for u in users]
        histories = []
        for u, i in zip(users.tolist(), items.tolist(), strict=True):
            earlier = folded.setdefault(u, [])
            histories.append(np.asarray(earlier, dtype=np.int32))
            earlier.append(i)
        full = [np.concatenate([b, h]) for b, h in zip(base, histories, strict=True)]
        for policy, scorer, hist in (
            ("static", model, base),
            ("folding", model, full),
            ("online", online, full),
        ):
            ndcg, hit = _score_events(scorer, hist, items, config.k)
            per_window[policy].append(
                {"window": number, "events": len(window), "ndcg": ndcg, "hit": hit}
            )
        pending += [
            (str(users_raw[u]), str(items_raw[i]), int(t))
            for u, i, t in zip(users, items, data.timestamps[window], strict=True)
        ]
        if (number + 1) % config.update_every == 0 and number + 1 < len(windows):
            result = update_model(online, pending, old_events=consumed, config=update_cfg)
            updates.append({"after_window": number, **result.to_dict()})
            if result.accepted and result.model is not None:
                online = result.model
            consumed += pending
            pending = []
    return {
        "seed": seed,
        "model": model.name,
        "dataset": data.name,
        "events": len(data),
        "train_events": len(train),
        "stream_events": int(sum(len(w) for w in windows)),
        "fit_seconds": round(fit_seconds, 2),
        "windows": per_window,
        "updates": updates,
        "totals": {p: _totals(per_window[p], config.k) for p in POLICIES},
    }


def _score_events(
    model: Any, histories: list[np.ndarray], targets: np.ndarray, k: int
) -> tuple[float, float]:
    """Sums of NDCG@k and HR@k of ``targets`` after ``histories`` (history items masked)."""
    ndcg = hit = 0.0
    for start in range(0, len(histories), 512):
        chunk = histories[start : start + 512]
        with torch.no_grad():
            scores = model.score_history(chunk).float().clone()  # (B, n)
        rows = np.repeat(np.arange(len(chunk)), [len(h) for h in chunk])
        cols = np.concatenate([np.zeros(0, np.int64), *(np.asarray(h, np.int64) for h in chunk)])
        scores[
            torch.as_tensor(rows, dtype=torch.long), torch.as_tensor(cols, dtype=torch.long)
        ] = -torch.inf
        _, top = top_k(scores, k)  # (B, k)
        wanted = torch.as_tensor(targets[start : start + len(chunk)])[:, None]
        found = top == wanted  # (B, k)
        rank = found.float().argmax(dim=1)  # position of the target where found
        inside = found.any(dim=1)
        hit += float(inside.sum())
        ndcg += float((inside / torch.log2(rank.float() + 2)).sum())
    return ndcg, hit


def _totals(windows: list[dict[str, float]], k: int) -> dict[str, float]:
    events = np.asarray([w["events"] for w in windows], dtype=np.float64)
    ndcg = np.asarray([w["ndcg"] for w in windows])
    hit = np.asarray([w["hit"] for w in windows])
    total = events.sum()
    last = np.cumsum(events) > total * 2 / 3  # windows ending in the last third
    last[np.argmax(last)] = True
    return {
        f"ndcg@{k}": float(ndcg.sum() / total),
        f"hit@{k}": float(hit.sum() / total),
        f"ndcg@{k}_last_third": float(ndcg[last].sum() / events[last].sum()),
        f"hit@{k}_last_third": float(hit[last].sum() / events[last].sum()),
    }


def _summary(runs: list[dict[str, Any]], k: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for policy in POLICIES:
        keys = runs[0]["totals"][policy].keys()
        row: dict[str, float] = {}
        for key in keys:
            values = np.asarray([r["totals"][policy][key] for r in runs])
            row[key] = float(values.mean())
            row[f"{key}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        out[policy] = row
    for key in (f"ndcg@{k}", f"ndcg@{k}_last_third"):
        gaps = {
            "online-folding": [
                r["totals"]["online"][key] - r["totals"]["folding"][key] for r in runs
            ],
            "folding-static": [
                r["totals"]["folding"][key] - r["totals"]["static"][key] for r in runs
            ],
        }
        for name, diffs in gaps.items():
            gap = np.asarray(diffs)
            out.setdefault("gaps", {})[f"{name} {key}"] = float(gap.mean())
            out["gaps"][f"{name} {key}_std"] = float(gap.std(ddof=1)) if len(gap) > 1 else 0.0
    return out


def plot_replay(result: dict[str, Any], path: Path) -> None:
    """NDCG@k per window for each policy (mean over seeds; one line per policy)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = result["seeds"]
    k = result["config"]["k"]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for policy in POLICIES:
        curves = np.asarray(
            [[w["ndcg"] / max(w["events"], 1) for w in r["windows"][policy]] for r in runs]
        )  # (seeds, windows)
        x = np.arange(curves.shape[1]) + 1
        ax.plot(x, curves.mean(axis=0), marker=".", label=policy)
        if len(runs) > 1:
            ax.fill_between(x, curves.min(axis=0), curves.max(axis=0), alpha=0.15)
    first = runs[0]
    ax.set_xlabel(f"window ({result['config']['window']} events each, time order)")
    ax.set_ylabel(f"NDCG@{k} (next event)")
    ax.set_title(f"{first['dataset']}: {first['model']}, {len(runs)} seed(s)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plain_config(config: ReplayConfig) -> dict[str, Any]:
    from ssl4rec.config.base import to_dict

    data = to_dict(config)
    data["k"] = config.k
    return data
