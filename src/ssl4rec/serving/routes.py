"""HTTP endpoints of the service (one router; the app factory mounts it)."""

from __future__ import annotations

import hmac
import logging
import time
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from pydantic import BaseModel

from ssl4rec.serving.schemas import (
    MAX_METHOD_LENGTH,
    AttentionOut,
    AttentionRequest,
    DeletedOut,
    ErrorBody,
    EventBatch,
    EventIn,
    EventOut,
    EventsOut,
    Explanation,
    ExplanationRequest,
    HealthOut,
    HistoryOut,
    HistoryWeight,
    ItemOut,
    ItemsOut,
    Reason,
    RecommendationsOut,
    RecommendedItem,
    SessionRequest,
    SimilarOut,
    TokenWeight,
    UsersOut,
)
from ssl4rec.serving.service import RecommendationService, RequestError, Scored
from ssl4rec.serving.store import EventRecord, StoredEvent

__all__ = ["router"]

logger = logging.getLogger(__name__)

_ERRORS = {
    401: "no API key sent to a write endpoint that needs one",
    403: "a wrong API key",
    404: "an unknown user or item id (named in detail, quoted briefly)",
    413: "a request body over ServeSettings.max_body_bytes",
    422: "an invalid parameter or body (field names it)",
    503: "no model loaded",
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error statuses, all with the ``ErrorBody`` schema."""
    return {code: {"model": ErrorBody, "description": _ERRORS[code]} for code in codes}


# every operation may answer 413 (body limit), 422 and 503 (no model)
router = APIRouter(responses=_errors(413, 422, 503))

# Read endpoints are ``async def`` and score inline: the work is short and CPU-bound,
# so a thread hop per request would only add latency (one process scores one request
# at a time either way; scale out with more processes or replicas). Writes run in
# the thread pool, because a database write may wait for a lock.


# ---------------------------------------------------------------------- dependencies
async def get_service(request: Request) -> RecommendationService:
    """The service this request started on (``live.VersionHeader``); 503 while none is loaded."""
    service = getattr(request.state, "service", None) or getattr(request.app.state, "service", None)
    if service is None:
        raise RequestError(503, "model", "model not loaded")
    return service


async def require_api_key(
    request: Request,
    x_api_key: Annotated[str | None, Header(alias="X-API-Key")] = None,
) -> None:
    """401 without a key, 403 with a wrong one, when the service has a key."""
    expected = request.app.state.settings.api_key
    if expected is None:
        return
    if x_api_key is None:
        raise RequestError(401, "X-API-Key", "missing API key: send it in the X-API-Key header")
    if not hmac.compare_digest(x_api_key.encode(), expected.encode()):
        raise RequestError(403, "X-API-Key", "wrong API key")


Service = Annotated[RecommendationService, Depends(get_service)]
K = Annotated[int, Query(ge=1, description="Number of items.")]
Method = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=MAX_METHOD_LENGTH,
        description="Explanation method (see /model-info explanation_methods); "
        "the model's default when omitted.",
    ),
]
Layer = Annotated[
    int | None, Query(ge=0, description="Transformer block, 0 = first; the last when omitted.")
]
Head = Annotated[
    int | None, Query(ge=0, description="Attention head; the mean over heads when omitted.")
]


def _json(body: BaseModel, status_code: int = 200) -> Response:
    """Serialize a response model once, with pydantic's Rust encoder.

    Returning a ``Response`` skips FastAPI's second validation of ``response_model``.
    """
    return Response(body.model_dump_json(), status_code=status_code, media_type="application/json")


def _check_k(service: RecommendationService, k: int) -> None:
    if k > service.settings.max_k:
        raise RequestError(422, "k", f"k must be ≤ {service.settings.max_k}; got {k}")


def _items(service: RecommendationService, scored: list[Scored]) -> list[RecommendedItem]:
    ids, titles = service.item_ids, service.titles
    return [
        RecommendedItem(
            item=ids[s.index],
            title=titles[s.index],
            detail=service.details[s.index],
            score=s.score,
            because=None if s.because is None else _reasons(service, s.because),
        )
        for s in scored
    ]


def _reasons(service: RecommendationService, pairs: list[tuple[int, float]]) -> list[Reason]:
    return [Reason(item=service.item_ids[i], title=service.titles[i], weight=w) for i, w in pairs]


def _check_session(service: RecommendationService, items: list[str]) -> np.ndarray:
    """Item indices of a session; 422 over ``max_history`` ids, 404 naming an unknown one."""
    limit = service.settings.max_history
    if len(items) > limit:
        raise RequestError(422, "items", f"items must hold at most {limit} ids; got {len(items)}")
    return service.item_indices(items)


def _history_weights(
    service: RecommendationService, history: np.ndarray, weights: np.ndarray
) -> list[HistoryWeight]:
    ids, titles = service.item_ids, service.titles
    return [
        HistoryWeight(position=pos, item=ids[i], title=titles[i], weight=_finite(w))
        for pos, (i, w) in enumerate(zip(history.tolist(), weights.tolist(), strict=True))
    ]


def _finite(value: float) -> float:
    """JSON has no NaN or infinity; a non-finite weight is reported as 0."""
    return value if np.isfinite(value) else 0.0


def _explanation(
    service: RecommendationService,
    user: str | None,
    index: int,
    history: np.ndarray,
    *,
    method: str | None,
    top: int,
    tokens: bool = False,
    encoder: Any = None,
) -> Explanation:
    """Explain ``index`` after ``history``; the popularity fallback when it is empty."""
    result = service.explain(history, [index], method=method, tokens=tokens, encoder=encoder)[0]
    fallback = not len(history)
    return Explanation(
        user=user,
        item=service.item_ids[index],
        title=service.titles[index],
        score=float(service.popularity[index]) if fallback else service.score_of(history, index),
        method=result.method,
        sentence=result.sentence,
        because=_reasons(service, result.top(top)),
        weights=_history_weights(service, result.history, result.weights),
        tokens=[TokenWeight(token=t, weight=_finite(w)) for t, w in result.tokens] or None,
        fallback="popularity" if fallback else None,
    )


def _attention(
    service: RecommendationService,
    user: str | None,
    history: np.ndarray,
    *,
    layer: int | None,
    head: int | None,
) -> AttentionOut:
    weights = service.attention(history, layer=layer, head=head)
    assert service.attention_shape is not None  # service.attention checked it
    num_layers, num_heads = service.attention_shape
    return AttentionOut(
        user=user,
        layer=num_layers - 1 if layer is None else layer,
        head=head,
        num_layers=num_layers,
        num_heads=num_heads,
        weights=_history_weights(service, history, weights),
    )


def _item_out(service: RecommendationService, index: int, *, fields: bool = False) -> ItemOut:
    return ItemOut(
        item=service.item_ids[index],
        title=service.titles[index],
        popularity=int(service.popularity[index]),
        fields=service.item_row(index) if fields else None,
    )


def _event_out(ev: StoredEvent) -> EventOut:
    return EventOut(
        id=ev.id,
        user=ev.user,
        item=ev.item,
        timestamp=ev.timestamp,
        weight=ev.weight,
        event_id=ev.event_id,
        duplicate=ev.duplicate,
    )


# ---------------------------------------------------------------------- status
@router.get("/health", response_model=HealthOut, tags=["status"])
async def health(request: Request) -> Any:
    """200 when a model is loaded and the event store answers; 503 otherwise."""
    service = getattr(request.app.state, "service", None)
    if service is None:
        raise RequestError(503, "model", "model not loaded")
    service.store.ping()
    return HealthOut(status="ok", model_loaded=True, model=service.model.name)


@router.get("/models", tags=["status"])
async def models(service: Service) -> dict[str, Any]:
    """The loaded model: name, config, saved meta, metrics of its run."""
    return {"models": [service.info()]}


@router.get("/model-info", tags=["status"])
async def model_info(request: Request, service: Service) -> dict[str, Any]:
    """The loaded model (same as the one entry of ``/models``) and its version."""
    live = getattr(request.app.state, "live", None)
    versions = {v.service: v.number for v in live.versions} if live is not None else {}
    return {**service.info(), "version": versions.get(service)}


# ---------------------------------------------------------------------- users
@router.get("/users", response_model=UsersOut, tags=["users"])
async def users(
    service: Service,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    """Training users (by index order) and users with recently posted events."""
    ids = service.user_vocab.ids[offset : offset + limit]
    return UsersOut(
        users=[str(u) for u in ids],
        recent=service.store.users(limit=limit),
        total=len(service.user_vocab),
    )


@router.get("/users/{user}/recommendations", response_model=RecommendationsOut, tags=["users"])
async def user_recommendations(
    service: Service,
    user: str,
    k: K = 10,
    exclude_seen: bool = True,
    explain: Annotated[bool, Query(description="Add the history items behind each.")] = False,
    method: Method = None,
) -> Any:
    """Top-k for a user from training history plus posted events.

    Unknown users get the most popular items, labelled ``fallback: "popularity"``.
    """
    _check_k(service, k)
    history, _known = service.user_history(user)  # unknown users have an empty history
    return _recommendations(
        service, user, history, k, exclude_seen=exclude_seen, explain=explain, method=method
    )


@router.get(
    "/users/{user}/recommendations/{item}/explanation",
    response_model=Explanation,
    tags=["users"],
    responses=_errors(404),
)
async def explanation(
    request: Request,
    service: Service,
    user: str,
    item: str,
    method: Method = None,
    top: Annotated[int, Query(ge=1, le=100, description="Reasons listed in because.")] = 10,
    tokens: Annotated[
        bool, Query(description="Also weigh the words of the item's text (text models).")
    ] = False,
) -> Any:
    """Why ``item`` is recommended to ``user``: every history item's weight and a sentence.

    422 names ``method`` when the model does not support it (the supported ones are
    listed), or ``tokens`` for a model that reads no item text. A user without
    history gets the labelled popularity fallback.
    """
    index = service.item_index(item)
    history, _known = service.user_history(user)
    return _json(
        _explanation(
            service,
            user,
            index,
            history,
            method=method,
            top=top,
            tokens=tokens,
            encoder=_text_encoder(request),
        )
    )


def _text_encoder(request: Request) -> Any:
    """The app's item-text encoder if one was set (``app.state.text_encoder``)."""
    return getattr(request.app.state, "text_encoder", None)


@router.get(
    "/users/{user}/attention",
    response_model=AttentionOut,
    tags=["users"],
)
async def attention(service: Service, user: str, layer: Layer = None, head: Head = None) -> Any:
    """Attention of the scoring position over the user's history (Transformer models).

    422 names ``layer`` or ``head`` when out of range, and ``model`` for a model
    without attention.
    """
    history, _known = service.user_history(user)
    return _json(_attention(service, user, history, layer=layer, head=head))


@router.get("/users/{user}/history", response_model=HistoryOut, tags=["users"])
async def user_history(
    service: Service, user: str, limit: Annotated[int, Query(ge=1, le=1000)] = 20
) -> Any:
    """The user's most recent training items and posted events (oldest first)."""
    training: list[int] = []
    if user in service.user_vocab:
        training = [
            int(i) for i in service.history.sequence(service.user_vocab.index(user))[-limit:]
        ]
    events = service.store.user_events(user, limit=limit)
    return HistoryOut(
        user=user,
        known=bool(training) or bool(events),
        training=[_item_out(service, i) for i in training],
        events=[_event_out(e) for e in events],
    )


# ---------------------------------------------------------------------- sessions
@router.post(
    "/recommendations",
    response_model=RecommendationsOut,
    tags=["sessions"],
    responses=_errors(404),
)
async def session_recommendations(service: Service, body: SessionRequest) -> Any:
    """Top-k for an anonymous session (raw item ids, oldest first).

    An empty session gets the most popular items, labelled as the fallback.
    """
    _check_k(service, body.k)
    history = _check_session(service, body.items)
    return _recommendations(
        service,
        None,
        history,
        body.k,
        exclude_seen=body.exclude_seen,
        explain=body.explain,
        method=body.method,
    )


@router.post(
    "/explanations",
    response_model=Explanation,
    tags=["sessions"],
    responses=_errors(404),
)
async def session_explanation(
    request: Request, service: Service, body: ExplanationRequest
) -> Any:
    """Why ``item`` is recommended after an anonymous session (as the user endpoint)."""
    index = service.item_index(body.item)
    history = _check_session(service, body.items)
    return _json(
        _explanation(
            service,
            None,
            index,
            history,
            method=body.method,
            top=body.top,
            tokens=body.tokens,
            encoder=_text_encoder(request),
        )
    )


@router.post(
    "/attention",
    response_model=AttentionOut,
    tags=["sessions"],
    responses=_errors(404),
)
async def session_attention(service: Service, body: AttentionRequest) -> Any:
    """Attention of the scoring position over an anonymous session (Transformer models)."""
    history = _check_session(service, body.items)
    return _json(_attention(service, None, history, layer=body.layer, head=body.head))


def _recommendations(
    service: RecommendationService,
    user: str | None,
    history: np.ndarray,
    k: int,
    *,
    exclude_seen: bool,
    explain: bool,
    method: str | None,
) -> Response:
    """Top-``k`` from ``history``; the most popular items, labelled, when it is empty."""
    if method is not None or (explain and service.explanation_methods):
        method = service.check_method(method)  # 422 for an unsupported one
    if not len(history):
        return _json(
            RecommendationsOut(
                user=user,
                model=service.model.name,
                items=_items(service, service.popular(k)),
                fallback="popularity",
                history_length=0,
                retrieval="popularity",
            )
        )
    scored = service.recommend(
        history, k, exclude_seen=exclude_seen, explain=explain, method=method
    )
    return _json(
        RecommendationsOut(
            user=user,
            model=service.model.name,
            items=_items(service, scored),
            explanation_method=method if explain else None,
            history_length=len(history),
            retrieval=service.retrieval,
        )
    )


# ---------------------------------------------------------------------- items
@router.get("/items", response_model=ItemsOut, tags=["items"])
async def items(
    service: Service,
    query: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> Any:
    """Items whose title or id contains ``query`` (most popular first)."""
    return ItemsOut(items=[_item_out(service, i) for i in service.search(query, limit)])


@router.get(
    "/items/{item}",
    response_model=ItemOut,
    tags=["items"],
    responses=_errors(404),
)
async def item_detail(service: Service, item: str) -> Any:
    """One item with its fields from the item table."""
    return _item_out(service, service.item_index(item), fields=True)


@router.get(
    "/items/{item}/similar",
    response_model=SimilarOut,
    tags=["items"],
    responses=_errors(404),
)
async def similar_items(service: Service, item: str, k: K = 10) -> Any:
    """Items like ``item``.

    Cosine of learned item vectors when the model has them, else the model's scores
    for a history of ``item`` alone.
    """
    _check_k(service, k)
    index = service.item_index(item)
    scored, method = service.similar(index, k)
    return SimilarOut(
        item=item,
        title=service.titles[index],
        method=method,
        items=_items(service, scored),  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------------- events
def _record(ev: EventIn, now: int) -> EventRecord:
    return EventRecord(
        user=ev.user,
        item=ev.item,
        timestamp=now if ev.timestamp is None else ev.timestamp,
        weight=ev.weight,
        event_id=ev.event_id,
    )


_WRITE_EVENTS: dict[str, Any] = {
    "status_code": status.HTTP_201_CREATED,
    "dependencies": [Depends(require_api_key)],
    "responses": _errors(401, 403, 404),
    "tags": ["events"],
}
"""Route settings of both event writes: 201, the API key when one is set."""


@router.post("/events", response_model=EventOut, **_WRITE_EVENTS)
def post_event(service: Service, body: EventIn) -> Any:
    """Store one interaction; the user's next recommendations include it."""
    stored = service.add_events([_record(body, int(time.time()))])
    return _json(_event_out(stored[0]), status.HTTP_201_CREATED)


@router.post("/events/batch", response_model=EventsOut, **_WRITE_EVENTS)
def post_events(service: Service, body: EventBatch) -> Any:
    """Store several interactions in one transaction (all or none)."""
    now = int(time.time())
    stored = service.add_events([_record(ev, now) for ev in body.events])
    return EventsOut(events=[_event_out(e) for e in stored])


async def require_set_api_key(
    request: Request,
    x_api_key: Annotated[str | None, Header(alias="X-API-Key")] = None,
) -> None:
    """Like ``require_api_key``, and 403 when the service runs without a key."""
    if request.app.state.settings.api_key is None:
        raise RequestError(403, "X-API-Key", "deleting users needs a server started with an API key")
    await require_api_key(request, x_api_key)


@router.delete(
    "/users/{user}",
    response_model=DeletedOut,
    dependencies=[Depends(require_set_api_key)],
    responses=_errors(401, 403),
    tags=["users"],
)
def delete_user(service: Service, user: str) -> Any:
    """Delete a user's events and in-memory history (API key required, always).

    The next recommendation for the user is the anonymous fallback. The model's
    weights keep what they learnt from the user until retraining (see docs/privacy.md).
    """
    return DeletedOut(**service.forget_user(user))
