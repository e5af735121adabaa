"""What one request may cost: body bytes (counted as they arrive), users, ``n``,
and users x ``n``, so that no request, however it is sent, makes the server read
or build more than its settings allow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from recommender_systems.errors import ParameterError
from recommender_systems.serving import errors

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def check_size(size: int, limit: int, name: str) -> None:
    if size > limit:
        raise errors.RequestTooLarge(f"{name}: at most {limit} per request, received {size}")


def check_n(n: int, limit: int) -> None:
    if n > limit:
        raise ParameterError(f"n: expected an integer <= {limit}, received {n}")


def check_results(users: int, n: int, limit: int) -> None:
    """The work of one request: ``users`` lists of ``n`` items."""
    if users * n > limit:
        raise errors.RequestTooLarge(
            f"users x n: at most {limit} recommendations per request, received {users} x {n} "
            f"= {users * n}; ask for fewer users or a smaller n"
        )


class BodyLimit:
    """Answers 413 to a request body over ``max_bytes``, counting the bytes as they
    arrive, whatever the framing (``Content-Length`` or chunked): an announced
    length over the limit is refused before anything is read, and a chunked body
    is refused as soon as the limit is passed, so the server never holds more than
    ``max_bytes`` of it. The connection is closed after the 413.

    A request without a body (no ``Content-Length``, not chunked: every GET) passes
    straight through. A body within the limit is handed to the application whole.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: bytes | None = None
        chunked = False
        for key, value in scope["headers"]:
            if key == b"content-length":
                length = value
            elif key == b"transfer-encoding":
                chunked = True
        if length is None and not chunked:
            await self.app(scope, receive, send)
            return
        if length is not None and not (length.isdigit() and int(length) <= self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        body = await self._read(receive)
        if body is None:
            await self._refuse(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body, or ``None`` as soon as it passes the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = errors.error_response(
            413, "too_large", f"expected a body of at most {self.max_bytes} bytes"
        )
        # The rest of the body is never read: the connection cannot carry another request.
        response.headers["connection"] = "close"
        await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` in one message, then defers to ``receive``."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
