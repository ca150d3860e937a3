"""The devstack gateway routes by path prefix and forwards requests whole, repeated query parameters included."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request

from devstack.gateway import create_app


def echo_app(name: str) -> FastAPI:
    """An upstream that says who it is and what it received."""
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def echo(path: str, request: Request) -> dict[str, object]:
        status = request.query_params.getlist("status")
        return {"service": name, "path": "/" + path, "status": status, "body": (await request.body()).decode()}

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def upstream() -> Iterator[str]:
    """The rhi_tracker stand-in, served by uvicorn on a free port in a thread."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(echo_app("rhi_tracker"), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


async def test_repeated_query_parameters_and_the_body_reach_the_service(upstream: str) -> None:
    gateway = create_app({"rhi_tracker": upstream})
    transport = httpx.ASGITransport(app=gateway)
    async with (
        gateway.router.lifespan_context(gateway),
        httpx.AsyncClient(transport=transport, base_url="http://gateway") as client,
    ):
        got = (await client.get("/v1/rhi/tasks?status=open&status=offered")).json()
        posted = (await client.post("/v1/rhi/tasks/t1/offer", content=b'{"a": 1}')).json()
        missing = await client.get("/v1/nowhere")
    assert got == {"service": "rhi_tracker", "path": "/v1/rhi/tasks", "status": ["open", "offered"], "body": ""}
    assert posted["path"] == "/v1/rhi/tasks/t1/offer"
    assert posted["body"] == '{"a": 1}'
    assert missing.status_code == 404
    assert "no service serves /v1/nowhere" in missing.json()["detail"]


async def test_a_service_that_is_down_is_a_502_problem_not_a_500() -> None:
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    gateway = create_app({"intake": down})
    transport = httpx.ASGITransport(app=gateway)
    async with (
        gateway.router.lifespan_context(gateway),
        httpx.AsyncClient(transport=transport, base_url="http://gateway") as client,
    ):
        answer = await client.post("/v1/episodes", content=b"{}")
    assert answer.status_code == 502
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"] == f"{down} did not answer"
