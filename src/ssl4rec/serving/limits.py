"""Request limits that hold before any parsing: body size, and short quotes of input.

``BodySizeLimit`` is a plain ASGI middleware: a request whose ``Content-Length``
exceeds the limit is answered 413 at once, before its body is read; a body sent
without a length (chunked) is read up to the limit and answered 413 as soon as it
passes it, or handed on whole when it does not. Either way the server never holds more than the limit of one
request's body, so one large upload cannot stall the other requests.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["QUOTE_LIMIT", "BodySizeLimit", "quote"]

logger = logging.getLogger(__name__)

QUOTE_LIMIT = 100
"""Most characters of user input that an error message repeats."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)``, cut to ``limit`` characters with the full length stated.

    Example:
        >>> quote("x" * 500)
        "'xxxxxxxx…' (502 characters)"
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}…' ({len(text)} characters)"


class BodySizeLimit:
    """Answer 413 to HTTP requests whose body exceeds ``max_bytes``.

    Args:
        app: the ASGI app to wrap.
        max_bytes: the largest body accepted, in bytes.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a declared oversized body at once; count an undeclared one."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            logger.warning("request refused: body=%d bytes limit=%d", declared, self.max_bytes)
            await self._refuse(send, declared)
            return
        if declared is not None:
            # the server delivers at most the declared length
            await self.app(scope, receive, send)
            return
        # no declared length (chunked): read up to the limit, then replay the body
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # client went away
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:
                logger.warning("request refused: body over limit=%d (no length)", self.max_bytes)
                await self._refuse(send, received)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, size: int) -> None:
        body = json.dumps(
            {
                "detail": f"request body must be at most {self.max_bytes} bytes; got {size}",
                "field": "body",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
