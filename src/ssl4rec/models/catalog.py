"""New items for a fitted model without retraining: a copy of the model with a longer catalog.

Only models that read item text can rank an item they were not trained on: a
sequential model with ``item_repr="text"`` represents every item by its text vector
through the MoE adaptor, and ``"id+text"`` adds the learned unknown-item vector (or
zero without ``id_dropout``) as the new item's ID part, exactly as for items that had
no training events. ID-only models (and the non-sequential ones) learned one
parameter row or one matrix column per trained item, so a new item has nothing to
be scored by; ``cannot_add_items`` says why.

``with_items`` never changes the model it is given: it returns a copy whose item
encoder, vocabulary, histories and item table are one row per new item longer, so a
service can keep answering from the old model while the new one is built and then
swap references.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
import torch
from torch import nn

from ssl4rec.data.interactions import IdVocab
from ssl4rec.errors import ConfigError, DataError
from ssl4rec.models.base import Recommender
from ssl4rec.models.history import History
from ssl4rec.models.nn.sequential import SequentialRecommender

__all__ = ["cannot_add_items", "mark_trained", "text_width", "with_items"]


def cannot_add_items(model: Recommender[Any]) -> str | None:
    """Why ``model`` cannot rank new items, or ``None`` when it can (text models)."""
    name = type(model).__name__
    if model.backend != "torch":
        return (
            f"{name} is served through {model.backend} (serve --backend {model.backend}): "
            "its exported graph has a fixed catalog; serve the torch backend to add items"
        )
    if not isinstance(model, SequentialRecommender):
        return (
            f"{name} cannot rank items unseen in training: it learned one parameter per "
            "trained item and reads no item text; serve a text model (e.g. SASRec with "
            "item_repr 'text' or 'id+text') to add items at runtime"
        )
    if model.config.item_repr == "id":
        return (
            f"{name} with item_repr='id' cannot rank items unseen in training: it "
            "learned one ID vector per trained item and reads no item text; retrain with "
            "item_repr 'text' or 'id+text' to add items at runtime"
        )
    return None


def text_width(model: Recommender[Any]) -> int:
    """Width of the text vectors ``model`` reads (a text model; see ``cannot_add_items``)."""
    reason = cannot_add_items(model)
    if reason is not None:
        raise ConfigError(reason)
    assert isinstance(model, SequentialRecommender) and model.net is not None
    return int(model.net.items.text.shape[1])


def with_items(
    model: Recommender[Any],
    ids: Sequence[str],
    text_vectors: np.ndarray,
    fields: Sequence[Mapping[str, Any]] | None = None,
) -> Recommender[Any]:
    """A copy of ``model`` that also ranks the items ``ids``, represented by their text.

    Args:
        model: a fitted text model (``cannot_add_items(model)`` is ``None``).
        ids: raw ids of the new items, none of them already in the catalog.
        text_vectors: float ``(len(ids), t)``, from the encoder the model was trained
            with (``model.config.text_encoder``).
        fields: per new item, item-table fields (``title`` ...); only columns the
            table has are kept (a model without a table gets one with ``title``), and
            a value that does not fit its column's type is left empty.

    Returns:
        A new model; ``model`` itself is unchanged.

    Raises:
        ConfigError: a model that cannot rank new items (the reason).
        DataError: an id already in the catalog, or vectors of the wrong shape.
    """
    width = text_width(model)
    assert isinstance(model, SequentialRecommender) and model.net is not None
    assert model.item_vocab is not None and model.history is not None
    vectors = np.asarray(text_vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape != (len(ids), width):
        raise DataError(
            f"with_items: text vectors must have shape ({len(ids)}, {width}); "
            f"got {tuple(vectors.shape)}"
        )
    known = [i for i in ids if i in model.item_vocab]
    if known or len(set(ids)) != len(ids):
        raise DataError(
            f"with_items: item id {(known or list(ids))[0]!r} is already in the catalog"
        )
    new = copy.copy(model)
    new.net = copy.deepcopy(model.net)
    items = new.net.items
    n, k = items.num_items, len(ids)
    device = items.text.device
    items.text = torch.cat([items.text, torch.from_numpy(vectors).to(device)])  # (n + k, t)
    items.trained = torch.cat([items.trained, torch.zeros(k, dtype=torch.bool, device=device)])
    if items.ids is not None:
        old = items.ids.weight.detach()
        grown = nn.Embedding(n + k, old.shape[1]).to(device)
        with torch.no_grad():
            grown.weight[:n] = old
            grown.weight[n:] = 0.0  # never read: untrained items take the unknown vector or 0
        items.ids = grown
    items.num_items = n + k
    new.item_vocab = IdVocab([*model.item_vocab.to_list(), *ids], name="item")
    new.history = History(indptr=model.history.indptr, items=model.history.items, num_items=n + k)
    new.item_table = _grown_table(model.item_table, model.item_vocab, ids, fields)
    new._windows_cache = None
    return new


def mark_trained(model: Recommender[Any], counts: np.ndarray) -> None:
    """Let items with events in ``counts`` (per item index) take part in training.

    A sequential model leaves items without training events out of its softmax;
    before training on new events, items added at runtime that now have events
    must count as trained (their ID vector then starts learning).
    """
    if isinstance(model, SequentialRecommender) and model.net is not None:
        items = model.net.items
        has = torch.from_numpy(np.asarray(counts) > 0).to(items.trained.device)
        items.trained = items.trained | has


def _grown_table(
    table: pl.DataFrame | None,
    vocab: IdVocab,
    ids: Sequence[str],
    fields: Sequence[Mapping[str, Any]] | None,
) -> pl.DataFrame | None:
    rows = [dict(f) for f in (fields or [{}] * len(ids))]
    if table is None:
        if not any(r.get("title") for r in rows):
            return None
        table = pl.DataFrame(
            {"item_id": vocab.to_list(), "title": [None] * len(vocab)},
            schema={"item_id": pl.Utf8, "title": pl.Utf8},
        )
    extra = pl.DataFrame({"item_id": list(ids)})
    for column in table.columns:
        if column == "item_id":
            continue
        values = [r.get(column) for r in rows]
        try:
            extra = extra.with_columns(pl.Series(column, values, dtype=table.schema[column]))
        except (TypeError, ValueError, pl.exceptions.PolarsError):
            extra = extra.with_columns(pl.lit(None, dtype=table.schema[column]).alias(column))
    extra = extra.with_columns(pl.col("item_id").cast(table.schema["item_id"]))
    return pl.concat([table, extra.select(table.columns)], how="vertical")
