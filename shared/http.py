"""HTTP plumbing shared by the services: problem+json errors, transactions, principals, health."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shared.auth import Principal, PrincipalCache, Role, authenticate, check_role
from shared.clock import Clock
from shared.errors import AppError

PROBLEM = "application/problem+json"


class FieldError(BaseModel):
    """One failed field: a JSON pointer into the request body and what is wrong."""

    pointer: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] = []


def _problem_doc(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description, "content": {PROBLEM: {}}}


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem_doc("The body is not valid JSON."),
    401: _problem_doc("No credential, or an unknown or revoked one."),
    403: _problem_doc("The credential's role may not do this."),
    404: _problem_doc("No such episode for this force."),
    409: _problem_doc("Conflicts with the current state or with an earlier request under the same key."),
    413: _problem_doc("The body is over the size limit."),
    415: _problem_doc("The body is not application/json."),
    422: _problem_doc("A field failed validation; `errors` names each one."),
    503: _problem_doc("Temporarily unable to store the request; send it again."),
}


def problem(status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None) -> JSONResponse:
    """An RFC 9457 problem response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def pointer(loc: tuple[int | str, ...]) -> str:
    """Turn a pydantic error location into a JSON pointer into the request body."""
    parts = list(loc[1:]) if loc and loc[0] == "body" else list(loc)
    if not parts:
        return ""  # RFC 6901: the empty pointer is the whole document
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


async def _database_busy(_request: Request, exc: Exception) -> JSONResponse:
    response = problem(503, "Temporarily unavailable", "the database is busy; send the request again")
    response.headers["retry-after"] = "1"
    return response


async def _app_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem(exc.status, exc.title, exc.detail, exc.errors)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errs = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errs):
        return problem(400, "Invalid JSON", "the request body is not valid JSON")
    fields = [{"pointer": pointer(tuple(e["loc"])), "message": str(e["msg"])} for e in errs]
    return problem(422, "Invalid request", f"{len(fields)} field(s) failed validation", fields)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    response = problem(exc.status_code, str(exc.detail), str(exc.detail))
    response.headers.update(exc.headers or {})
    if exc.status_code == 405:
        response.headers["allow"] = ", ".join(allowed_methods(request))
    return response


def allowed_methods(request: Request) -> list[str]:
    """Every method any route serves at this path (Starlette's own Allow names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods - {"HEAD"})


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error to application/problem+json in one place."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(OperationalError, _database_busy)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return factory


def _readers(request: Request) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = getattr(request.app.state, "read_sessions", None) or _sessions(request)
    return factory


async def read_transaction(request: Request) -> AsyncIterator[AsyncSession]:
    """A read-only transaction (on SQLite it never waits for the write lock)."""
    async with _readers(request)() as session, session.begin():
        yield session


ReadTx = Annotated[AsyncSession, Depends(read_transaction, scope="function")]


async def transaction(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent."""
    async with _sessions(request)() as session, session.begin():
        yield session
    for hook in request.app.state.after_commit:
        hook()


Tx = Annotated[AsyncSession, Depends(transaction, scope="function")]


def request_clock(request: Request) -> Clock:
    """The process clock, set by the composition root."""
    clock: Clock = request.app.state.clock
    return clock


async def current_principal(request: Request) -> Principal:
    """Authenticate the Authorization header (successes are cached briefly; see PrincipalCache)."""
    header = request.headers.get("authorization") or ""
    cache: PrincipalCache = request.app.state.principals
    if (cached := cache.get(header, time.monotonic())) is not None:
        return cached
    # One lookup per key at a time: when a cached key expires, the requests in flight share it.
    pending = cache.inflight.get(header)
    if pending is not None:
        return await asyncio.shield(pending)
    future: asyncio.Future[Principal] = asyncio.get_running_loop().create_future()
    cache.inflight[header] = future
    try:
        async with _readers(request)() as session:
            principal = await authenticate(session, header or None)
        cache.put(header, principal, time.monotonic())
        future.set_result(principal)
        return principal
    except BaseException as exc:
        future.set_exception(exc)
        future.exception()  # retrieved here, so an unwaited failure is not reported as lost
        raise
    finally:
        cache.inflight.pop(header, None)


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency admitting only the given roles; every route declares one."""
    allowed = frozenset(roles)

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        return check_role(principal, allowed)

    return dependency
