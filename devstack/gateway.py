"""One HTTP base URL for the four services: a small reverse proxy routing by path prefix."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "host", "content-length"}


def route_table(upstreams: dict[str, str]) -> list[tuple[str, str]]:
    """(path prefix, upstream base URL), longest prefix first."""
    prefixes = {
        "/v1/episodes": "intake",
        "/v1/mset": "classifier",
        "/v1/children": "classifier",
        "/v1/rhi": "rhi_tracker",
        "/v1/deliveries": "notifier",
    }
    table = [(prefix, upstreams[service]) for prefix, service in prefixes.items() if service in upstreams]
    return sorted(table, key=lambda item: -len(item[0]))


def create_app(upstreams: dict[str, str]) -> Starlette:
    """Build the gateway for {service name: base URL}."""
    table = route_table(upstreams)
    client = httpx.AsyncClient(timeout=30.0)

    async def proxy(request: Request) -> Response:
        path = request.url.path
        target = next((base for prefix, base in table if path == prefix or path.startswith(prefix + "/")), None)
        if target is None:
            body = {"type": "about:blank", "title": "Not found", "status": 404, "detail": f"no service serves {path}"}
            return JSONResponse(body, status_code=404, media_type="application/problem+json")
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        # The raw query string, so repeated parameters (?status=open&status=offered) all reach the service.
        url = target + path + (f"?{request.url.query}" if request.url.query else "")
        try:
            upstream = await client.request(request.method, url, headers=headers, content=await request.body())
        except httpx.TransportError as exc:
            # A service that is down or restarting: say so, as a proxy does, instead of failing with a 500.
            status, title = (
                (504, "Gateway timeout") if isinstance(exc, httpx.TimeoutException) else (502, "Bad gateway")
            )
            body = {"type": "about:blank", "title": title, "status": status, "detail": f"{target} did not answer"}
            return JSONResponse(body, status_code=status, media_type="application/problem+json")
        out = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP | {"content-encoding"}}
        return Response(upstream.content, status_code=upstream.status_code, headers=out)

    async def health(_request: Request) -> JSONResponse:
        results = {}
        for name, base in upstreams.items():
            try:
                results[name] = (await client.get(base + "/health", timeout=2)).status_code == 200
            except httpx.HTTPError:
                results[name] = False
        return JSONResponse({"status": "ok" if all(results.values()) else "degraded", "services": results})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(
        routes=[Route("/health", health), Route("/{path:path}", proxy, methods=methods)], lifespan=lifespan
    )


if __name__ == "__main__":
    import uvicorn

    app = create_app(json.loads(os.environ["MCN_GATEWAY_UPSTREAMS"]))
    uvicorn.run(
        app,
        host=os.environ.get("MCN_HTTP_HOST", "127.0.0.1"),
        port=int(os.environ.get("MCN_HTTP_PORT", "8000")),
        log_level="warning",
    )
