"""HTTP endpoints of the intake API (role police; tenant = force)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import batch, queries, service
from services.intake.config import IntakeSettings
from services.intake.schemas import (
    Batch,
    BatchOut,
    EpisodeCancel,
    EpisodeOut,
    EpisodePage,
    EpisodeReport,
    EpisodeReturn,
    EpisodeSummary,
    EpisodeUpdate,
)
from shared.auth import Principal, Role
from shared.group_commit import GroupCommit
from shared.http import PROBLEM_RESPONSES, ReadTx, request_clock, require

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1/episodes", tags=["episodes"])
Police = Annotated[Principal, Depends(require(Role.POLICE))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Send the same key to retry safely: the first answer is replayed; another body is a 409.",
    ),
]
ACCEPTED = {202: {"model": EpisodeSummary, "description": "Accepted and stored; events follow."}, **PROBLEM_RESPONSES}


def _settings(request: Request) -> IntakeSettings:
    settings: IntakeSettings = request.app.state.settings
    return settings


async def _submit(
    request: Request,
    principal: Principal,
    key: str | None,
    body: BaseModel,
    action: Callable[[AsyncSession], Awaitable[EpisodeSummary]],
    hint: tuple[str, str] | None = None,
) -> JSONResponse:
    """Run one change through group commit, replaying the stored answer for a repeated Idempotency-Key."""
    committer: GroupCommit = request.app.state.group_commit
    # Only a request carrying an Idempotency-Key needs a hash of itself.
    request_hash = service.fingerprint({"path": request.url.path, "body": body.model_dump(mode="json")}) if key else ""
    now = request_clock(request).now()

    async def work(session: AsyncSession) -> tuple[int, dict[str, Any]]:
        stored = await service.replay_or_remember(
            session, force=principal.tenant, key=key, request_hash=request_hash, now=now
        )
        if stored is not None:
            return stored.status_code, stored.response
        result = (await action(session)).model_dump(mode="json")
        service.remember(
            session, force=principal.tenant, key=key, request_hash=request_hash, status=202, response=result, now=now
        )
        return 202, result

    status, content = await committer.run(work, hint=hint)
    episode_id = content.get("id")
    log.info("episode.accepted", path=request.url.path, status=status, episode_id=episode_id, correlation_id=episode_id)
    return JSONResponse(content, status_code=status)


@router.post("", status_code=202, response_model=EpisodeSummary, responses=ACCEPTED)
async def report_episode(
    body: EpisodeReport, principal: Police, request: Request, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Report a missing child. The same report again (same force and police reference) returns the same episode."""
    clock, skew = request_clock(request), _settings(request).clock_skew
    return await _submit(
        request,
        principal,
        idempotency_key,
        body,
        lambda s: service.report_episode(s, principal=principal, report=body, clock=clock, skew=skew),
        hint=(principal.tenant, body.police_reference),
    )


@router.post("/{episode_id}/updates", status_code=202, response_model=EpisodeSummary, responses=ACCEPTED)
async def update_episode(
    episode_id: str, body: EpisodeUpdate, principal: Police, request: Request, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Re-grade the risk, add information or correct the record; every version is kept with who and when."""
    clock, skew = request_clock(request), _settings(request).clock_skew
    return await _submit(
        request,
        principal,
        idempotency_key,
        body,
        lambda s: service.update_episode(
            s, principal=principal, episode_id=episode_id, update=body, clock=clock, skew=skew
        ),
    )


@router.post("/{episode_id}/return", status_code=202, response_model=EpisodeSummary, responses=ACCEPTED)
async def record_return(
    episode_id: str, body: EpisodeReturn, principal: Police, request: Request, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Record that the child returned or was found; this starts the 72-hour interview clock."""
    clock, skew = request_clock(request), _settings(request).clock_skew
    return await _submit(
        request,
        principal,
        idempotency_key,
        body,
        lambda s: service.record_return(
            s, principal=principal, episode_id=episode_id, body=body, clock=clock, skew=skew
        ),
    )


@router.post("/{episode_id}/cancel", status_code=202, response_model=EpisodeSummary, responses=ACCEPTED)
async def cancel_episode(
    episode_id: str, body: EpisodeCancel, principal: Police, request: Request, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Cancel an episode that was reported in error."""
    clock = request_clock(request)
    return await _submit(
        request,
        principal,
        idempotency_key,
        body,
        lambda s: service.cancel_episode(s, principal=principal, episode_id=episode_id, body=body, clock=clock),
    )


@router.post("/batch", response_model=BatchOut, responses=PROBLEM_RESPONSES)
async def run_batch(body: Batch, principal: Police, request: Request) -> BatchOut:
    """Up to 100 operations in order, each with its own result; an item fails alone, never the batch."""
    committer: GroupCommit = request.app.state.group_commit
    clock, skew = request_clock(request), _settings(request).clock_skew
    return await committer.run(lambda s: batch.run(s, principal=principal, batch=body, clock=clock, skew=skew))


@router.get("", response_model=EpisodePage, responses=PROBLEM_RESPONSES)
async def list_episodes(
    principal: Police,
    session: ReadTx,
    status: Literal["open", "returned", "cancelled"] | None = Query(default=None, examples=["open"]),
    limit: int = Query(default=50, ge=1, le=500),
    cursor: str | None = Query(default=None, max_length=200),
) -> EpisodePage:
    """The force's episodes, newest report first; `status=open` lists those still missing."""
    return await queries.list_episodes(session, force=principal.tenant, status=status, limit=limit, cursor=cursor)


@router.get("/{episode_id}", response_model=EpisodeOut, responses=PROBLEM_RESPONSES)
async def read_episode(episode_id: str, principal: Police, session: ReadTx) -> EpisodeOut:
    """One of the force's episodes with every version, its classification and RHI status."""
    return await queries.read_episode(session, force=principal.tenant, episode_id=episode_id)
