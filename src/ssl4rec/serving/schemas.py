"""Request and response bodies of the service (pydantic; separate from the configs)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MAX_BATCH",
    "MAX_ID_LENGTH",
    "AttentionOut",
    "AttentionRequest",
    "ErrorBody",
    "EventBatch",
    "EventIn",
    "EventOut",
    "EventsOut",
    "Explanation",
    "ExplanationRequest",
    "HealthOut",
    "HistoryOut",
    "HistoryWeight",
    "ItemOut",
    "ItemsOut",
    "Reason",
    "RecommendationsOut",
    "RecommendedItem",
    "SessionRequest",
    "SimilarOut",
    "TokenWeight",
    "UsersOut",
]

MAX_ID_LENGTH = 200
"""Longest raw user or item id accepted (the event store's column width)."""
MAX_BATCH = 1000
"""Most events in one ``POST /events/batch``."""
_MAX_SESSION = 10_000
"""Hard cap on a session's length; ``ServeSettings.max_history`` may be lower."""

MAX_METHOD_LENGTH = 100
"""Longest explanation method name accepted (names are short registry keys)."""

Id = Field(min_length=1, max_length=MAX_ID_LENGTH)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    """Every error response: what is wrong and the request field at fault."""

    detail: Any
    """A message, or FastAPI's list of validation problems for 422."""
    field: str | None = None
    """The field at fault (``"k"``, ``"item"``, ``"items[2]"``, ``"X-API-Key"``)."""


class Reason(BaseModel):
    """A history item behind a recommendation, with its weight."""

    item: str
    title: str | None
    weight: float


class RecommendedItem(BaseModel):
    """One recommended item."""

    item: str
    title: str | None
    detail: str | None = None
    """The item's text beside its title (year, genres, tags, brand, categories), from
    the model's item table; ``None`` when it has none."""
    score: float
    because: list[Reason] | None = None
    """History items that drove the score (only with ``explain=true``)."""


class RecommendationsOut(BaseModel):
    """Top-k for a user or a session."""

    user: str | None
    """The user id; ``None`` for an anonymous session."""
    model: str
    items: list[RecommendedItem]
    fallback: Literal["popularity"] | None = None
    """``"popularity"`` when the user has no history and the list is the most popular."""
    explanation_method: str | None = None
    """The explanation method behind ``because`` (with ``explain=true``)."""
    history_length: int
    """Items in the history that was scored (training + posted events, or the session)."""
    retrieval: str
    """``"exact"``, a faiss index kind, or ``"popularity"``."""


class SessionRequest(_Strict):
    """An anonymous session or a not-yet-stored history: raw item ids, oldest first."""

    items: list[str] = Field(max_length=_MAX_SESSION)
    k: int = Field(10, ge=1)
    exclude_seen: bool = True
    explain: bool = False
    method: str | None = Field(None, min_length=1, max_length=MAX_METHOD_LENGTH)
    """Explanation method for ``explain``; the model's default when omitted."""


class EventIn(_Strict):
    """An interaction to store."""

    user: str = Id
    item: str = Id
    timestamp: int | None = Field(None, ge=0, le=2**62)
    """Seconds (or any monotone unit); the server time when omitted."""
    weight: float = Field(1.0, gt=0, le=1e6, allow_inf_nan=False)
    event_id: str | None = Field(None, min_length=1, max_length=MAX_ID_LENGTH)
    """Client-chosen unique id: a retried event with the same id is stored once."""


class EventBatch(_Strict):
    """Several events, stored in one transaction."""

    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH)


class EventOut(BaseModel):
    """A stored event."""

    id: int
    user: str
    item: str
    timestamp: int
    weight: float
    event_id: str | None
    duplicate: bool
    """True when ``event_id`` had been stored before (nothing new was written)."""


class EventsOut(BaseModel):
    """Stored events."""

    events: list[EventOut]


class HistoryWeight(BaseModel):
    """One history position and the weight an explanation gives it."""

    position: int
    """0 for the oldest history event."""
    item: str
    title: str | None
    weight: float
    """The method's own units; larger pushed the recommended item up more."""


class TokenWeight(BaseModel):
    """A word of the recommended item's text and its weight."""

    token: str
    weight: float


class Explanation(BaseModel):
    """Why an item is recommended to a user or after a session."""

    user: str | None
    """The user id; ``None`` for an anonymous session."""
    item: str
    title: str | None
    score: float | None
    method: str
    """The explanation method (``"popularity"`` for the fallback)."""
    sentence: str
    """One sentence naming the strongest reasons."""
    because: list[Reason]
    """History items with the largest positive total weight, strongest first."""
    weights: list[HistoryWeight]
    """Every history position's weight, oldest first."""
    tokens: list[TokenWeight] | None = None
    """Words of the item's text with weights, for methods that read text."""
    fallback: Literal["popularity"] | None = None


class ExplanationRequest(_Strict):
    """Explain ``item`` after an anonymous session (raw item ids, oldest first)."""

    items: list[str] = Field(max_length=_MAX_SESSION)
    item: str = Id
    method: str | None = Field(None, min_length=1, max_length=MAX_METHOD_LENGTH)
    """An explanation method the model supports; the model's default when omitted."""
    top: int = Field(10, ge=1, le=100)
    """Reasons listed in ``because``."""
    tokens: bool = False
    """Also weigh the words of the item's text (text-enhanced models)."""


class AttentionOut(BaseModel):
    """Attention of the scoring position over the history (Transformer models)."""

    user: str | None
    layer: int
    """Transformer block, 0 = first."""
    head: int | None
    """Attention head; ``None`` for the mean over heads."""
    num_layers: int
    num_heads: int
    weights: list[HistoryWeight]
    """Every history position's attention, oldest first (0 outside the model's window)."""


class AttentionRequest(_Strict):
    """Attention over an anonymous session (raw item ids, oldest first)."""

    items: list[str] = Field(max_length=_MAX_SESSION)
    layer: int | None = Field(None, ge=0)
    """Transformer block; the last when omitted."""
    head: int | None = Field(None, ge=0)
    """Attention head; the mean over heads when omitted."""


class ItemOut(BaseModel):
    """An item of the catalog."""

    item: str
    title: str | None
    popularity: int
    """Training events of the item."""
    fields: dict[str, Any] | None = None


class ItemsOut(BaseModel):
    """Items matching a search."""

    items: list[ItemOut]


class SimilarOut(BaseModel):
    """Items like a given one."""

    item: str
    title: str | None
    method: Literal["item-vectors", "single-item-scores"]
    items: list[RecommendedItem]


class HistoryOut(BaseModel):
    """A user's recent training history and posted events."""

    user: str
    known: bool
    training: list[ItemOut]
    events: list[EventOut]


class UsersOut(BaseModel):
    """Some user ids (for pickers)."""

    users: list[str]
    recent: list[str]
    """Users with posted events, most recent first."""
    total: int


class HealthOut(BaseModel):
    """Liveness and readiness."""

    status: Literal["ok", "unavailable"]
    model_loaded: bool
    model: str | None = None


class DeletedOut(BaseModel):
    """What ``DELETE /users/{user}`` removed."""

    user: str
    events_deleted: int
    """Events removed from the event store."""
    training_history_deleted: bool
    """Whether a training history held in memory was dropped (the model folder keeps
    it until ``ssl4rec forget``; the weights keep its influence until retraining)."""
