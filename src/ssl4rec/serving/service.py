"""What the service does, independent of HTTP: histories, scoring, explanations.

A user's history is the training history saved with the model followed by the
events posted since (read from the event store on every request, so several API
replicas over one store agree). Recommendations score that history with
``model.score_history``: sequential models read the updated sequence, item-based
models and autoencoders fold the updated item set in. Nothing is retrained.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from ssl4rec.errors import Ssl4recError
from ssl4rec.explain import Explanation, supported_methods
from ssl4rec.explain import explain as explain_items
from ssl4rec.explain.tokens import reads_item_text
from ssl4rec.models.base import Recommender
from ssl4rec.models.capabilities import ItemVectors, QueryVectors
from ssl4rec.models.nn.sequential import SequentialRecommender
from ssl4rec.serving.limits import quote
from ssl4rec.serving.retrieval import VectorIndex, build_index, top_k_rows
from ssl4rec.serving.settings import ServeSettings
from ssl4rec.serving.store import EventRecord, EventStore, StoredEvent
from ssl4rec.text.encoder import ItemTextEncoder
from ssl4rec.text.templates import table_texts

__all__ = ["RecommendationService", "RequestError", "Scored"]

logger = logging.getLogger(__name__)


class RequestError(Ssl4recError, ValueError):
    """A request the service cannot answer; carries the HTTP status and the field.

    Args:
        status_code: HTTP status (404 unknown id, 422 invalid value, 403 ...).
        field: the request field at fault, e.g. ``"item"`` or ``"k"``.
        message: what is wrong, naming the value.
    """

    def __init__(self, status_code: int, field: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Scored:
    """One recommended item (index) with its score and explanation."""

    index: int
    score: float
    because: list[tuple[int, float]] | None = None


class RecommendationService:
    """Answers recommendation queries for one fitted model over an event store.

    Args:
        model: a fitted recommender.
        store: where posted events live.
        settings: limits and retrieval choice.
        model_dir: folder the model came from (for ``info``), if any.
    """

    def __init__(
        self,
        model: Recommender[Any],
        store: EventStore,
        settings: ServeSettings,
        *,
        model_dir: Path | None = None,
    ) -> None:
        if not model.is_fitted:
            raise RequestError(503, "model", f"{type(model).__name__} is not fitted")
        assert model.history is not None and model.item_vocab is not None
        assert model.user_vocab is not None
        self.model = model
        self.store = store
        self.settings = settings
        self.model_dir = model_dir
        self.item_vocab = model.item_vocab
        self.user_vocab = model.user_vocab
        self.history = model.history
        self.num_items = len(self.item_vocab)
        self.item_ids: list[str] = self.item_vocab.to_list()
        self.titles: list[str | None] = _titles(model)
        self.details: list[str | None] = _details(model)
        """Item text beside the title (``DETAIL_TEMPLATE``), ``None`` where empty."""
        self._search_text = [
            f"{(t or '').lower()}\n{i.lower()}"
            for t, i in zip(self.titles, self.item_ids, strict=True)
        ]
        counts = np.bincount(self.history.items, minlength=self.num_items)
        self.popularity = counts.astype(np.int64)
        self.popular_order = np.argsort(-counts, kind="stable")
        self.query_index: VectorIndex | None = None
        self.similar_index: VectorIndex | None = None
        if isinstance(model, ItemVectors):
            vectors = np.asarray(_numpy(model.item_vectors()), dtype=np.float32)  # (n, d)
            if isinstance(model, QueryVectors):
                self.query_index = build_index(
                    vectors,
                    backend=settings.retrieval,
                    faiss_min_items=settings.faiss_min_items,
                )
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            self.similar_index = build_index(
                vectors / np.maximum(norms, 1e-12),
                backend=settings.retrieval,
                faiss_min_items=settings.faiss_min_items,
            )
        self.retrieval = self.query_index.kind if self.query_index is not None else "exact"
        self.explanation_methods: list[str] = supported_methods(model)
        """Explanation methods that support the model, the default first."""
        self.explain_method: str | None = (
            self.explanation_methods[0] if self.explanation_methods else None
        )
        self.attention_shape: tuple[int, int] | None = None
        """``(num_layers, num_heads)`` of a Transformer (``attention_maps``), else ``None``."""
        if isinstance(model, SequentialRecommender):
            maps = np.asarray(model.attention_maps(np.zeros(1, dtype=np.int64)))
            self.attention_shape = (int(maps.shape[0]), int(maps.shape[1]))
        self._text_encoder: ItemTextEncoder | None = None  # loaded by the first tokens=true
        self._item_texts: list[str] | None = None
        self.loaded_at = time.time()

    # ------------------------------------------------------------------ ids and histories
    def item_index(self, item: str, *, field: str = "item") -> int:
        """Index of a raw item id; 404 naming ``field`` when unknown."""
        try:
            return self.item_vocab.index(item)
        except KeyError:
            raise RequestError(404, field, f"unknown item id {quote(item)}") from None

    def item_indices(self, items: Sequence[str], *, field: str = "items") -> np.ndarray:
        """Indices of raw item ids; 404 naming ``field`` and the first unknown id."""
        out = np.empty(len(items), dtype=np.int32)
        for pos, item in enumerate(items):
            try:
                out[pos] = self.item_vocab.index(item)
            except KeyError:
                raise RequestError(404, f"{field}[{pos}]", f"unknown item id {quote(item)}") from None
        return out

    def user_history(self, user: str) -> tuple[np.ndarray, bool]:
        """The user's item indices, oldest first, and whether the user is known.

        Known means seen in training or with stored events. Stored events come after
        the training history; items unknown to the model are skipped.
        """
        limit = self.settings.max_history
        parts: list[np.ndarray] = []
        known = user in self.user_vocab
        if known:
            parts.append(self.history.sequence(self.user_vocab.index(user)))
        posted = self.store.user_items(user, limit=limit)
        if posted:
            known = True
            vocab = self.item_vocab
            idx = [vocab.index(i) for i in posted if i in vocab]
            parts.append(np.asarray(idx, dtype=np.int32))
        if not parts:
            return np.zeros(0, dtype=np.int32), known
        history = np.concatenate(parts) if len(parts) > 1 else parts[0]
        return history[-limit:], known

    # ------------------------------------------------------------------ recommending
    def recommend(
        self,
        history: np.ndarray,
        k: int,
        *,
        exclude_seen: bool,
        explain: bool,
        method: str | None = None,
    ) -> list[Scored]:
        """Top-``k`` for one history (item indices), optionally explained by ``method``."""
        exclude = [np.unique(history)] if exclude_seen else None
        # a learned bias on history items (seen_bias) is outside query · item; it only
        # matters when those items may be recommended
        model = self.model
        if (
            self.query_index is not None
            and isinstance(model, QueryVectors)
            and (exclude_seen or model.factorized)
        ):
            queries = np.asarray(_numpy(model.query_vectors([history])), dtype=np.float32)
            idx, vals = self.query_index.search(queries, k, exclude)
        else:
            with torch.no_grad():
                scores = self.model.score_history([history])  # (1, num_items)
            idx, vals = top_k_rows(_numpy(scores).astype(np.float32, copy=True), k, exclude)
        out = [
            Scored(int(i), float(v))
            for i, v in zip(idx[0], vals[0], strict=True)
            if i >= 0 and np.isfinite(v)
        ]
        if explain and len(history) and out and self.explanation_methods:
            explained = self.explain(history, [s.index for s in out], method=method)
            top = self.settings.explain_top
            out = [
                Scored(s.index, s.score, e.top(top))
                for s, e in zip(out, explained, strict=True)
            ]
        return out

    def popular(self, k: int, *, exclude: np.ndarray | None = None) -> list[Scored]:
        """The ``k`` items with the most training events (the unknown-user fallback)."""
        order = self.popular_order
        if exclude is not None and len(exclude):
            order = order[~np.isin(order, exclude)]
        return [Scored(int(i), float(self.popularity[i])) for i in order[:k]]

    def score_of(self, history: np.ndarray, item: int) -> float:
        """The model's score of ``item`` for ``history``."""
        with torch.no_grad():
            scores = _numpy(self.model.score_history([history]))
        return float(scores[0, item])

    def similar(
        self, item: int, k: int
    ) -> tuple[list[Scored], Literal["item-vectors", "single-item-scores"]]:
        """Items most like ``item`` and the method used.

        With item vectors: cosine similarity. Otherwise the model's scores for a
        history made of ``item`` alone ("people who consumed this next consume").
        """
        exclude = [np.asarray([item])]
        method: Literal["item-vectors", "single-item-scores"]
        if self.similar_index is not None:
            vectors = self.similar_index
            query = np.asarray(_numpy(self.model.item_vectors()), dtype=np.float32)[[item]]  # type: ignore[attr-defined]
            query /= max(float(np.linalg.norm(query)), 1e-12)
            idx, vals = vectors.search(query, k, exclude)
            method = "item-vectors"
        else:
            with torch.no_grad():
                scores = self.model.score_history([np.asarray([item], dtype=np.int32)])
            idx, vals = top_k_rows(_numpy(scores).astype(np.float32, copy=True), k, exclude)
            method = "single-item-scores"
        out = [
            Scored(int(i), float(v))
            for i, v in zip(idx[0], vals[0], strict=True)
            if i >= 0 and np.isfinite(v)
        ]
        return out, method

    # ------------------------------------------------------------------ explanations
    def check_method(self, method: str | None) -> str:
        """``method``, or the model's default one; 422 naming ``method`` when unsupported."""
        supported = self.explanation_methods
        if method is None:
            if not supported:
                raise RequestError(
                    422, "method", f"no explanation method supports {type(self.model).__name__}"
                )
            return supported[0]
        if method not in supported:
            raise RequestError(
                422,
                "method",
                f"method must be one of {supported} for {type(self.model).__name__}; "
                f"got {quote(method)}",
            )
        return method

    def explain(
        self,
        history: np.ndarray,
        items: Sequence[int],
        *,
        method: str | None = None,
        tokens: bool = False,
        encoder: ItemTextEncoder | None = None,
    ) -> list[Explanation]:
        """Why each of ``items`` is recommended after ``history``, through ``ssl4rec.explain``.

        Every history position gets a weight (``Explanation.weights``, oldest first);
        an empty history gives the labelled popularity explanation. With ``tokens``
        a text-enhanced model also weighs the words of each item's text: the texts
        are rendered from the model's item table with its template, and re-encoded
        by ``encoder`` (default: the model's own ``text_encoder``, loaded once).

        Raises:
            RequestError: 422 naming ``method`` (unsupported) or ``tokens`` (a model
                that reads no item text).
        """
        method = self.check_method(method)
        history = np.asarray(history, dtype=np.int64)
        text: dict[str, Any] = {}
        if tokens and len(history):
            text = self._token_inputs(encoder)
        # gradient methods need autograd: no torch.no_grad() here
        return explain_items(self.model, history, items, method=method, **text)

    def _token_inputs(self, encoder: ItemTextEncoder | None) -> dict[str, Any]:
        """``encoder`` and ``item_texts`` for word weights; 422 for an ID-only model."""
        if not reads_item_text(self.model):
            raise RequestError(
                422,
                "tokens",
                f"tokens needs a model that reads item text; {type(self.model).__name__} "
                "here does not (item_repr 'id')",
            )
        config = self.model.config
        if encoder is None:
            if self._text_encoder is None:
                from ssl4rec.text.sentence_transformers import SentenceTransformerEncoder

                self._text_encoder = SentenceTransformerEncoder(config.text_encoder)
            encoder = self._text_encoder
        if self._item_texts is None:
            self._item_texts = table_texts(
                self.model.item_table, self.num_items, config.text_template
            )
        return {"encoder": encoder, "item_texts": self._item_texts}

    def attention(self, history: np.ndarray, *, layer: int | None, head: int | None) -> np.ndarray:
        """Attention of the scoring position over ``history``, float64 ``(len(history),)``.

        Args:
            history: item indices, oldest first.
            layer: Transformer block (0 = first); ``None`` takes the last.
            head: attention head; ``None`` takes the mean over heads.

        Raises:
            RequestError: 422 for a model without attention, or ``layer``/``head``
                out of range (named).
        """
        if self.attention_shape is None or not isinstance(self.model, SequentialRecommender):
            raise RequestError(
                422,
                "model",
                f"{type(self.model).__name__} has no attention maps "
                "(only Transformer models such as SASRec and BERT4Rec do)",
            )
        num_layers, num_heads = self.attention_shape
        if layer is not None and not 0 <= layer < num_layers:
            raise RequestError(422, "layer", f"layer must be in [0, {num_layers}); got {layer}")
        if head is not None and not 0 <= head < num_heads:
            raise RequestError(422, "head", f"head must be in [0, {num_heads}); got {head}")
        if not len(history):
            return np.zeros(0)
        maps = np.asarray(
            self.model.attention_maps(np.asarray(history, dtype=np.int64)), dtype=np.float64
        )  # (num_layers, num_heads, len(history))
        per_head = maps[num_layers - 1 if layer is None else layer]  # (num_heads, n)
        return per_head.mean(axis=0) if head is None else per_head[head]

    # ------------------------------------------------------------------ items
    def search(self, query: str, limit: int) -> list[int]:
        """Items whose title or id contains ``query`` (case-insensitive), most popular first."""
        needle = query.strip().lower()
        if not needle:
            return [int(i) for i in self.popular_order[:limit]]
        hits = np.asarray([i for i, text in enumerate(self._search_text) if needle in text])
        if not len(hits):
            return []
        order = np.argsort(-self.popularity[hits], kind="stable")
        return [int(i) for i in hits[order][:limit]]

    def item_row(self, item: int) -> dict[str, Any]:
        """The item's fields from the saved item table (values as plain JSON types)."""
        table = self.model.item_table
        if table is None:
            return {}
        row = table.row(item, named=True)
        return {k: _plain(v) for k, v in row.items() if k != "item_id"}

    # ------------------------------------------------------------------ events
    def add_events(self, records: Sequence[EventRecord]) -> list[StoredEvent]:
        """Validate item ids and store the events (new users are created by them)."""
        for pos, rec in enumerate(records):
            if rec.item not in self.item_vocab:
                field = "item" if len(records) == 1 else f"events[{pos}].item"
                raise RequestError(404, field, f"unknown item id {quote(rec.item)}")
        stored = self.store.add(records)
        logger.debug("events stored: n=%d", len(stored))
        return stored

    def forget_user(self, user: str) -> dict[str, Any]:
        """Delete ``user``'s stored events and the training history held in memory.

        The next request for ``user`` gets the anonymous fallback. Logged without
        the id or any event.
        """
        events = self.store.delete_user(user)
        dropped = False
        if user in self.user_vocab:
            index = self.user_vocab.index(user)
            if len(self.history.sequence(index)):
                self.history = self.history.without_user(index)
                self.model.history = self.history
                dropped = True
        logger.info("user deleted: events=%d training_history=%s", events, dropped)
        return {"user": user, "events_deleted": events, "training_history_deleted": dropped}

    # ------------------------------------------------------------------ model info
    def info(self) -> dict[str, Any]:
        """Model name, config, saved meta and metrics (when the run folder has them)."""
        from ssl4rec.config.base import to_dict

        meta: dict[str, Any] = {}
        metrics: dict[str, Any] | None = None
        if self.model_dir is not None:
            meta = _read_json(self.model_dir / "meta.json") or {}
            metrics = _read_json(self.model_dir / "metrics.json") or _read_json(
                self.model_dir.parent / "metrics.json"
            )
        return {
            "name": self.model.name,
            "class": type(self.model).__name__,
            "config": _plain(to_dict(self.model.config)),
            "meta": meta,
            "metrics": metrics,
            "compression": meta.get("compression"),
            "backend": self.model.backend,
            "num_users": len(self.user_vocab),
            "num_items": self.num_items,
            "is_sequential": bool(self.model.is_sequential),
            "retrieval": self.retrieval,
            "explanation_method": self.explain_method,
            "explanation_methods": list(self.explanation_methods),
            "attention": (
                None
                if self.attention_shape is None
                else {"num_layers": self.attention_shape[0], "num_heads": self.attention_shape[1]}
            ),
            "model_dir": str(self.model_dir) if self.model_dir is not None else None,
            "case": _case_info(self.settings),
            "loaded_at": self.loaded_at,
            "privacy": _plain(self.model.privacy),
        }


def _case_info(settings: ServeSettings) -> dict[str, Any] | None:
    """The served case and its siblings (the web page's switch), or ``None``."""
    if settings.case is None:
        return None
    return {
        "name": settings.case.name,
        "title": settings.case.title,
        "question": settings.case.question,
        "cases": [{"name": c.name, "title": c.title} for c in settings.cases],
    }


def _numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().float().cpu().numpy()
    return np.asarray(value)


def _titles(model: Recommender[Any]) -> list[str | None]:
    n = len(model.item_vocab or [])
    table = model.item_table
    if table is None or "title" not in table.columns:
        return [None] * n
    return [None if t is None else str(t) for t in table.get_column("title").to_list()]


DETAIL_TEMPLATE = (
    "{year}",
    " · {genres}",
    " · tags: {tags}",
    " · brand: {brand}",
    " · {categories}",
    " · {description}",
)
"""What the web page shows under a recommended item's title (segments, see
``text.templates``); fields the item table lacks are left out. A UniSRec-style item
table has only ``description`` (title, categories and brand in one text): it is
shown whole, cut at ``DETAIL_CHARS``."""
DETAIL_CHARS = 160
"""Longest detail text; longer ones are cut at a word and end with an ellipsis."""


def _details(model: Recommender[Any]) -> list[str | None]:
    n = len(model.item_vocab or [])
    table = model.item_table
    if table is None:
        return [None] * n
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # items without text: no detail
        texts = table_texts(table, n, DETAIL_TEMPLATE)
    texts = [t.lstrip(" ·") for t in texts]  # an item without a year starts with " · "
    return [_shorten(t) if t else None for t in texts]


def _shorten(text: str) -> str:
    if len(text) <= DETAIL_CHARS:
        return text
    return text[: DETAIL_CHARS - 1].rsplit(" ", 1)[0].rstrip(" ,·") + "…"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        logger.warning("cannot read %s: %s", path, err)
        return None
    return data if isinstance(data, dict) else None
