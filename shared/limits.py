"""Refuse oversized (413) and non-JSON (415) request bodies before any route sees them."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WITH_BODY = {"POST", "PUT", "PATCH"}


async def _problem(send: Send, status: int, title: str, detail: str) -> None:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def is_json(content_type: bytes) -> bool:
    """application/json or any +json type, with or without parameters."""
    media = content_type.split(b";")[0].strip().lower()
    return media == b"application/json" or media.endswith(b"+json")


class BodyLimits:
    """ASGI middleware: bodies are JSON and at most `max_bytes` (or a per-path limit); the body is buffered."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Callable[[], Sequence[BaseRoute]],
        max_bytes: int,
        per_path: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.routes = routes
        self.max_bytes = max_bytes
        self.per_path = dict(per_path or {})

    def _served(self, scope: Scope) -> bool:
        # Only requests a route will take are checked; the others get the router's 404 or 405.
        return any(route.matches(scope)[0] == Match.FULL for route in self.routes())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the body, then hand the app a receive that replays it."""
        if scope["type"] != "http" or scope["method"] not in WITH_BODY or not self._served(scope):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        limit = self.per_path.get(scope["path"], self.max_bytes)
        if not is_json(headers.get(b"content-type", b"")):
            await _problem(send, 415, "Unsupported media type", "send the body as application/json")
            return
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _problem(send, 413, "Content too large", f"the body is over the {limit}-byte limit")
            return
        body = await _read(receive, limit)
        if body is None:
            await _problem(send, 413, "Content too large", f"the body is over the {limit}-byte limit")
            return
        await self.app(scope, _replay(body, receive), send)


async def _read(receive: Receive, limit: int) -> bytes | None:
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replay(body: bytes, original: Receive) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await original()  # after the body, only a disconnect can come
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
