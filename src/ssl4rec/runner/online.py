"""Online updates: warm-start a served model on the events collected since it was trained.

``update_model(model, new_events, old_events=..., config=UpdateConfig())`` is the one
update used by ``ssl4rec update``, ``ssl4rec serve --update-every`` and the online
policy of ``ssl4rec replay``:

1. the new events (raw user id, raw item id, timestamp) on items the model knows are
   put in time order; the most recent ``holdout`` share of them is held out;
2. training data = the full histories (the model's training history, then older
   stored events, then the new events before the held-out slice) of every user with
   new events, plus a replay sample of ``replay`` × as many other users' histories
   (against forgetting);
3. a gradient model is copied with its weights (warm start) and trained by the
   generic ``Trainer`` for at most ``epochs`` epochs, early-stopping on NDCG@10 of the
   held-out slice; a closed-form model (EASE, ItemKNN, Pop) is solved again on all
   histories (its solution has no state to warm-start from);
4. **guard**: the old model and the new one score the held-out slice from the same
   histories; the new one is accepted only if its NDCG@10 is not below the old one's
   by more than ``tolerance``, else it is returned with ``accepted = False`` and the
   reason.

The returned model keeps the old model's training history and vocabularies, so a
service that adds stored events to that history at request time (``serving``) counts
each event once. Models with per-user parameters (BPR, CDAE, CFGAN) cannot be warm-
started for new users and are refused with that reason.

The continual-learning recipe (fine-tune on new data plus a replay sample of old
data, validate on the most recent slice) follows common practice for incremental
recommender updates, e.g. Zhang et al., "How to Retrain Recommender System? A
Sequential Meta-Learning Method", SIGIR 2020 (their baseline "fine-tune + sample").
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ssl4rec.config.base import Checks
from ssl4rec.data.interactions import IdVocab, Interactions
from ssl4rec.errors import ConfigError

__all__ = ["Event", "UpdateConfig", "UpdateResult", "update_model"]

logger = logging.getLogger(__name__)

Event = tuple[str, str, int]
"""``(raw user id, raw item id, timestamp)``."""


@dataclass(frozen=True, kw_only=True)
class UpdateConfig:
    """How an online update trains and when its result replaces the served model."""

    epochs: int = 5
    """Most epochs of warm-started training (early stopping may end sooner)."""
    learning_rate: float | None = None
    """Learning rate of the update; ``None`` keeps the model's own."""
    holdout: float = 0.2
    """Share of the new events, the most recent, held out for early stopping and the guard."""
    replay: float = 1.0
    """Users with no new events replayed per user with new events (against forgetting)."""
    tolerance: float = 0.0
    """The new model is accepted when its held-out NDCG@10 ≥ the old one's − tolerance."""
    patience: int = 2
    """Validations without improvement before the update stops."""
    min_events: int = 2
    """Fewer new events than this: no update (nothing to hold out and train on)."""
    time_budget_s: float | None = None
    """Seconds of training after which the update stops (``None``: no limit)."""
    seed: int = 0
    """Seed of the replay sample and of training."""

    def __post_init__(self) -> None:
        checks = Checks("UpdateConfig")
        checks.positive("epochs", self.epochs)
        checks.positive("learning_rate", self.learning_rate)
        checks.in_range("holdout", self.holdout, 0.0, 1.0, low_open=True, high_open=True)
        checks.non_negative("replay", self.replay)
        checks.non_negative("tolerance", self.tolerance)
        checks.positive("patience", self.patience)
        checks.in_range("min_events", self.min_events, 2, math.inf)
        checks.positive("time_budget_s", self.time_budget_s)
        checks.raise_if_any()


@dataclass
class UpdateResult:
    """What an update did."""

    model: Any | None
    """The updated model (also when rejected: kept aside), ``None`` when nothing ran."""
    accepted: bool
    reason: str
    """Why it was accepted, rejected, or not run (one line)."""
    old_metric: float | None = None
    """NDCG@10 of the served model on the held-out slice."""
    new_metric: float | None = None
    """NDCG@10 of the updated model on the same slice."""
    num_events: int = 0
    """New events on known items."""
    num_unknown: int = 0
    """New events skipped: their item is not in the model's catalog."""
    num_train_events: int = 0
    num_holdout: int = 0
    num_users: int = 0
    """Users with new events."""
    seconds: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)
    """The trainer's summary (gradient models)."""

    def to_dict(self) -> dict[str, Any]:
        """Everything but the model, as plain JSON values."""
        out = dataclasses.asdict(dataclasses.replace(self, model=None))
        out.pop("model")
        return out


def update_model(
    model: Any,
    new_events: Sequence[Event],
    *,
    old_events: Sequence[Event] = (),
    config: UpdateConfig | None = None,
) -> UpdateResult:
    """Warm-start ``model`` on ``new_events``; see the module docstring.

    Args:
        model: a fitted recommender (it is not modified).
        new_events: events since the model's last update, any order.
        old_events: stored events already used by earlier updates (histories only).
        config: update settings.

    Returns:
        The result; ``model is None`` when there were fewer than ``min_events`` new
        events on known items (nothing was changed).

    Raises:
        ConfigError: a model with per-user parameters (it cannot be warm-started).
    """
    from ssl4rec.evaluation.evaluator import evaluate_interactions
    from ssl4rec.models.catalog import mark_trained
    from ssl4rec.training.trainer import TrainConfig, Trainer

    cfg = config or UpdateConfig()
    start = time.perf_counter()
    vocab = model.item_vocab
    known = [e for e in new_events if e[1] in vocab]
    unknown = len(new_events) - len(known)
    if len(known) < cfg.min_events:
        return UpdateResult(
            model=None,
            accepted=False,
            reason=f"no update: {len(known)} new event(s) on known items "
            f"(at least {cfg.min_events} needed)",
            num_events=len(known),
            num_unknown=unknown,
        )
    _check_warm_start(model)
    order = sorted(range(len(known)), key=lambda i: known[i][2])  # stable: ties keep arrival
    known = [known[i] for i in order]
    cut = len(known) - max(1, round(cfg.holdout * len(known)))
    cut = max(cut, 1)
    fresh, held = known[:cut], known[cut:]
    old = [e for e in old_events if e[1] in vocab]
    train, valid, users = _update_data(model, old, fresh, held, cfg)

    # a deep copy of the weights; the (read-only) histories and tables are shared
    shared = (model.history, model.item_table, model.item_vocab, model.user_vocab)
    candidate = copy.deepcopy(model, memo={id(x): x for x in shared if x is not None})
    summary: dict[str, Any] = {}
    if model.closed_form:
        candidate._remember(train)
        candidate.solve(train)
    else:
        changes: dict[str, Any] = {"epochs": cfg.epochs, "seed": cfg.seed}
        if cfg.learning_rate is not None:
            changes["learning_rate"] = cfg.learning_rate
        candidate.config = dataclasses.replace(model.config, **changes)
        candidate._remember(train)
        mark_trained(candidate, train.item_counts)
        trainer = Trainer(
            TrainConfig(
                patience=cfg.patience,
                monitor="ndcg@10",
                progress=False,
                time_budget_s=cfg.time_budget_s,
            )
        )
        summary = trainer.fit(candidate, train, valid=valid)
        candidate.config = model.config
        candidate.train_summary = {**dict(model.train_summary or {}), "last_update": summary}
    seen = train.csr()
    old_value = _ndcg(evaluate_interactions, _scoring_from(model, train), valid, seen)
    new_value = _ndcg(evaluate_interactions, _scoring_from(candidate, train), valid, seen)
    # serve from the old training history: the store adds new events at request time
    candidate.history, candidate.user_vocab = model.history, model.user_vocab
    candidate.item_vocab, candidate.item_table = model.item_vocab, model.item_table
    accepted = new_value >= old_value - cfg.tolerance
    verdict = "accepted" if accepted else "rejected"
    reason = (
        f"{verdict}: held-out ndcg@10 {new_value:.4f} (new) vs {old_value:.4f} (served), "
        f"tolerance {cfg.tolerance:g}, {len(held)} held-out event(s)"
    )
    result = UpdateResult(
        model=candidate,
        accepted=accepted,
        reason=reason,
        old_metric=old_value,
        new_metric=new_value,
        num_events=len(known),
        num_unknown=unknown,
        num_train_events=len(train),
        num_holdout=len(held),
        num_users=users,
        seconds=round(time.perf_counter() - start, 4),
        summary=summary,
    )
    logger.info("online update %s (%.1f s)", reason, result.seconds)
    return result


def _scoring_from(model: Any, data: Interactions) -> Any:
    """A shallow copy of ``model`` (same weights) that scores users from ``data``'s histories.

    The served model itself is never changed: requests may be reading it.
    """
    from ssl4rec.models.history import History

    view = copy.copy(model)
    view.history = History.from_interactions(data)
    view.user_vocab = data.user_vocab
    return view


def _ndcg(evaluate: Any, model: Any, valid: Interactions, seen: Any) -> float:
    result = evaluate(model, valid, seen=seen, metrics=("ndcg@10",))
    return float(result.metrics["ndcg@10"])


def _check_warm_start(model: Any) -> None:
    """Refuse models whose parameters have one row per training user."""
    if model.closed_form:
        return
    users = model.num_users
    for name, module in model.modules().items():
        for key, value in module.state_dict().items():
            if value.ndim >= 1 and value.shape[0] == users and users != model.num_items:
                raise ConfigError(
                    f"update: {type(model).__name__} has per-user parameters "
                    f"({name}.{key}, {tuple(value.shape)}) and cannot be warm-started for "
                    "new users; retrain it with `ssl4rec train` instead"
                )


def _update_data(
    model: Any,
    old: list[Event],
    fresh: list[Event],
    held: list[Event],
    cfg: UpdateConfig,
) -> tuple[Interactions, Interactions, int]:
    """Training histories (context + replay) and the held-out events, over one vocabulary."""
    hist = model.history
    vocab = model.item_vocab
    user_ids = list(model.user_vocab.to_list())
    index = {u: i for i, u in enumerate(user_ids)}
    for u, _, _ in (*old, *fresh, *held):
        if u not in index:
            index[u] = len(user_ids)
            user_ids.append(u)
    n_users = len(user_ids)
    updated = sorted({index[u] for u, _, _ in (*fresh, *held)})
    rng = np.random.default_rng(cfg.seed)
    lengths = np.diff(hist.indptr)
    pool = np.setdiff1d(np.flatnonzero(lengths > 0), np.asarray(updated, dtype=np.int64))
    size = min(len(pool), round(cfg.replay * len(updated)))
    if model.closed_form:  # solved again from scratch: on every history
        size = len(pool)
    replay = rng.choice(pool, size=size, replace=False) if size else np.zeros(0, dtype=np.int64)
    chosen = np.zeros(n_users, dtype=bool)
    chosen[updated] = True
    chosen[replay] = True
    first = min(e[2] for e in fresh)
    base = min([first, *(e[2] for e in old)]) - 2  # training history: before all stored events
    users: list[np.ndarray] = []
    items: list[np.ndarray] = []
    stamps: list[np.ndarray] = []
    trained_users = np.flatnonzero(chosen[: hist.num_users])
    for row in trained_users:  # the model's training history: before everything stored
        seq = hist.sequence(int(row))
        users.append(np.full(len(seq), row, dtype=np.int32))
        items.append(seq.astype(np.int32))
        stamps.append(np.full(len(seq), base, dtype=np.int64))
    for events in (old, fresh):
        picked = [e for e in events if chosen[index[e[0]]]]
        if picked:
            users.append(np.asarray([index[e[0]] for e in picked], dtype=np.int32))
            items.append(vocab.indices([e[1] for e in picked]).astype(np.int32))
            times = [min(e[2], first - 1) if events is old else e[2] for e in picked]
            stamps.append(np.asarray(times, dtype=np.int64))
    user_vocab = IdVocab(user_ids, name="user")
    train = Interactions(
        users=np.concatenate(users),
        items=np.concatenate(items),
        weights=np.ones(sum(len(a) for a in users), dtype=np.float32),
        timestamps=np.concatenate(stamps),
        user_vocab=user_vocab,
        item_vocab=vocab,
        item_table=model.item_table,
        name="update-train",
    )
    valid = Interactions(
        users=np.asarray([index[e[0]] for e in held], dtype=np.int32),
        items=vocab.indices([e[1] for e in held]).astype(np.int32),
        weights=np.ones(len(held), dtype=np.float32),
        timestamps=np.asarray([e[2] for e in held], dtype=np.int64),
        user_vocab=user_vocab,
        item_vocab=vocab,
        item_table=model.item_table,
        name="update-holdout",
    )
    logger.info(
        "update data: users=%d replayed=%d train_events=%d holdout=%d",
        len(updated),
        len(replay),
        len(train),
        len(valid),
    )
    return train, valid, len(updated)
