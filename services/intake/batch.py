"""The batch endpoint: operations applied in order, each all-or-nothing in its own savepoint."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import service
from services.intake.schemas import (
    Batch,
    BatchOperation,
    BatchOut,
    BatchResult,
    EpisodeCancel,
    EpisodeReport,
    EpisodeReturn,
    EpisodeSummary,
    EpisodeUpdate,
)
from shared.auth import Principal
from shared.clock import Clock
from shared.errors import AppError
from shared.http import pointer

MODELS: dict[str, type[BaseModel]] = {
    "report": EpisodeReport,
    "update": EpisodeUpdate,
    "return": EpisodeReturn,
    "cancel": EpisodeCancel,
}


def problem_body(status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """A problem document, as a single request would have received it."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return body


def _action(
    op: BatchOperation, body: BaseModel, principal: Principal, clock: Clock, skew: timedelta
) -> Callable[[AsyncSession], Awaitable[EpisodeSummary]]:
    episode_id = op.episode_id or ""
    if isinstance(body, EpisodeReport):
        return lambda s: service.report_episode(s, principal=principal, report=body, clock=clock, skew=skew)
    if isinstance(body, EpisodeUpdate):
        return lambda s: service.update_episode(
            s, principal=principal, episode_id=episode_id, update=body, clock=clock, skew=skew
        )
    if isinstance(body, EpisodeReturn):
        return lambda s: service.record_return(
            s, principal=principal, episode_id=episode_id, body=body, clock=clock, skew=skew
        )
    assert isinstance(body, EpisodeCancel)
    return lambda s: service.cancel_episode(s, principal=principal, episode_id=episode_id, body=body, clock=clock)


async def run_one(
    session: AsyncSession, *, index: int, op: BatchOperation, principal: Principal, clock: Clock, skew: timedelta
) -> BatchResult:
    """Validate and apply one operation; any failure rolls back only this operation."""
    prefix = f"/operations/{index}"
    if op.op != "report" and not op.episode_id:
        errors = [{"pointer": f"{prefix}/episode_id", "message": f"required for {op.op}"}]
        return BatchResult(index=index, status=422, body=problem_body(422, "Invalid request", "missing id", errors))
    try:
        body = MODELS[op.op].model_validate(op.body)
    except ValidationError as exc:
        errors = [{"pointer": prefix + "/body" + pointer(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
        detail = f"{len(errors)} field(s) failed validation"
        return BatchResult(index=index, status=422, body=problem_body(422, "Invalid request", detail, errors))
    request_hash = service.fingerprint({"op": op.op, "episode_id": op.episode_id, "body": body.model_dump(mode="json")})
    try:
        async with session.begin_nested():
            stored = await service.replay_or_remember(
                session, force=principal.tenant, key=op.idempotency_key, request_hash=request_hash, now=clock.now()
            )
            if stored is not None:
                return BatchResult(index=index, status=stored.status_code, body=stored.response)
            result = (await _action(op, body, principal, clock, skew)(session)).model_dump(mode="json")
            service.remember(
                session,
                force=principal.tenant,
                key=op.idempotency_key,
                request_hash=request_hash,
                status=202,
                response=result,
                now=clock.now(),
            )
    except AppError as exc:
        errors = [{**e, "pointer": prefix + "/body" + e["pointer"]} for e in exc.errors]
        return BatchResult(index=index, status=exc.status, body=problem_body(exc.status, exc.title, exc.detail, errors))
    return BatchResult(index=index, status=202, body=result)


async def run(session: AsyncSession, *, principal: Principal, batch: Batch, clock: Clock, skew: timedelta) -> BatchOut:
    """Apply every operation in order and report each one's outcome."""
    results = [
        await run_one(session, index=i, op=op, principal=principal, clock=clock, skew=skew)
        for i, op in enumerate(batch.operations)
    ]
    return BatchOut(results=results)
