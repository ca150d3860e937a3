"""HTTP endpoints of the RHI tracker: social-care worklist and actions, reports, the ops SLA view."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

import structlog
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel

from services.rhi_tracker import actions
from services.rhi_tracker.actions import Actor, Precondition
from services.rhi_tracker.config import RhiSettings
from services.rhi_tracker.models import Task, TrackedEpisode
from services.rhi_tracker.queries import detail, read_task, worklist
from services.rhi_tracker.reports import DEFINITIONS, figures, load_incidents, period_bounds, to_csv
from services.rhi_tracker.schemas import (
    AuthorityReport,
    CompleteIn,
    Day,
    DeclineIn,
    Instant,
    NotOfferedIn,
    NotPossibleIn,
    OfferIn,
    ReportOut,
    SlaOut,
    TaskOut,
    TaskPage,
)
from services.rhi_tracker.sla import sla_view
from services.rhi_tracker.states import ACTIVE, Status
from shared.auth import Principal, Role
from shared.errors import InvalidInput, NotFound
from shared.http import PROBLEM_RESPONSES, ReadTx, Tx, request_clock, require
from shared.policy import Policy

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1/rhi", tags=["return home interviews"])
SocialCare = Annotated[Principal, Depends(require(Role.SOCIAL_CARE))]
Reader = Annotated[Principal, Depends(require(Role.SOCIAL_CARE, Role.OPS))]
Ops = Annotated[Principal, Depends(require(Role.OPS))]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description='The task\'s ETag (its version, e.g. "3"); a stale one is a 412.'),
]
ERRORS: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    404: {**PROBLEM_RESPONSES[404], "description": "No such task for this local authority."},
    409: {**PROBLEM_RESPONSES[409], "description": "Not allowed in the task's state, or expected_version is stale."},
    412: {**PROBLEM_RESPONSES[409], "description": "If-Match names a version the task is no longer at."},
    428: {**PROBLEM_RESPONSES[409], "description": "Neither If-Match nor expected_version was sent."},
}
MAX_PERIOD = timedelta(days=400)
B = TypeVar("B", bound=BaseModel)


def _settings(request: Request) -> RhiSettings:
    settings: RhiSettings = request.app.state.settings
    return settings


def _policy(request: Request) -> Policy:
    policy: Policy = request.app.state.policy
    return policy


def _etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


@router.get("/tasks", response_model=TaskPage, responses=PROBLEM_RESPONSES)
async def list_tasks(
    principal: SocialCare,
    session: ReadTx,
    status: Annotated[list[Status] | None, Query(description="Default: open and offered.")] = None,
    due_after: Annotated[Instant | None, Query(description="Due at or after this instant.")] = None,
    due_before: Annotated[Instant | None, Query(description="Due before this instant.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> TaskPage:
    """The authority's interview tasks, soonest due first; filter by state and due window."""
    statuses = status or sorted(ACTIVE)
    return await worklist(
        session,
        la=principal.tenant,
        statuses=statuses,
        due_after=due_after,
        due_before=due_before,
        limit=limit,
        cursor=cursor,
    )


@router.get("/tasks/{task_id}", response_model=TaskOut, responses=PROBLEM_RESPONSES)
async def get_task(task_id: str, principal: SocialCare, session: ReadTx, response: Response) -> TaskOut:
    """One task with its findings, outcome and history; the ETag is its version."""
    task = await read_task(session, la=principal.tenant, task_id=task_id)
    log.info("rhi.task_read", task_id=task_id, key_id=principal.key_id)  # every read of a child's record
    _etag(response, task.version)
    return task


async def _act(
    request: Request,
    response: Response,
    session: Tx,
    principal: Principal,
    task_id: str,
    body: B,
    if_match: str | None,
    action: Callable[..., Awaitable[Task]],
) -> TaskOut:
    want = Precondition(if_match=if_match, expected_version=getattr(body, "expected_version", None))
    actor = Actor(principal=principal, clock=request_clock(request), skew=_settings(request).clock_skew)
    task = await action(session, actor=actor, task_id=task_id, body=body, want=want)
    episode = await session.get(TrackedEpisode, task.episode_id)
    assert episode is not None
    await session.flush()
    _etag(response, task.version)
    return await detail(session, task, episode)


@router.post("/tasks/{task_id}/offer", response_model=TaskOut, responses=ERRORS)
async def offer(
    task_id: str,
    body: OfferIn,
    principal: SocialCare,
    session: Tx,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> TaskOut:
    """Record that the interview was offered (from open)."""
    return await _act(request, response, session, principal, task_id, body, if_match, actions.offer)


@router.post("/tasks/{task_id}/complete", response_model=TaskOut, responses=ERRORS)
async def complete(
    task_id: str,
    body: CompleteIn,
    principal: SocialCare,
    session: Tx,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> TaskOut:
    """Record the interview with its structured findings (from open or offered); emits rhi.completed."""
    return await _act(request, response, session, principal, task_id, body, if_match, actions.complete)


@router.post("/tasks/{task_id}/decline", response_model=TaskOut, responses=ERRORS)
async def decline(
    task_id: str,
    body: DeclineIn,
    principal: SocialCare,
    session: Tx,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> TaskOut:
    """Record that the child declined, with the reason and the number of attempts (from open or offered)."""
    return await _act(request, response, session, principal, task_id, body, if_match, actions.decline)


@router.post("/tasks/{task_id}/not-possible", response_model=TaskOut, responses=ERRORS)
async def not_possible(
    task_id: str,
    body: NotPossibleIn,
    principal: SocialCare,
    session: Tx,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> TaskOut:
    """Record that the interview could not take place, and why (from open or offered)."""
    return await _act(request, response, session, principal, task_id, body, if_match, actions.not_possible)


@router.post("/tasks/{task_id}/not-offered", response_model=TaskOut, responses=ERRORS)
async def not_offered(
    task_id: str,
    body: NotOfferedIn,
    principal: SocialCare,
    session: Tx,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> TaskOut:
    """Record a manager's decision not to offer an interview: who decided and why (from open)."""
    return await _act(request, response, session, principal, task_id, body, if_match, actions.not_offered)


def _authorities(principal: Principal, policy: Policy, la: str | None) -> list[str]:
    """Social care sees its own authority; ops the authorities of its partnership (optionally one)."""
    mine = {principal.tenant} if principal.role is Role.SOCIAL_CARE else set(policy.authorities_of(principal.tenant))
    if la is not None:
        if la not in mine:
            raise NotFound(f"no local authority {la} for this principal")
        return [la]
    return sorted(mine)


CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "JSON, or CSV with format=csv"},
    **PROBLEM_RESPONSES,
}


@router.get("/reports", response_model=ReportOut, responses=CSV_RESPONSE)
async def report(
    principal: Reader,
    session: ReadTx,
    request: Request,
    period_start: Annotated[Day, Query(alias="from", description="First day (Europe/London), e.g. 2026-01-01")],
    period_end: Annotated[Day, Query(alias="to", description="Last day, inclusive, e.g. 2026-03-31")],
    la: Annotated[str | None, Query(pattern=r"^[EW][0-9]{8}$")] = None,
    output: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Any:
    """Per authority and period: incidents, children and each measure, split looked-after / not, in / out of area."""
    try:
        starts_at, ends_at = period_bounds(period_start, period_end)
    except OverflowError:  # the last representable day has no day after it
        starts_at, ends_at = datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC)
    if not timedelta(0) < ends_at - starts_at <= MAX_PERIOD:
        raise InvalidInput(
            "1 field(s) failed validation", errors=[{"pointer": "/to", "message": "after from, within 400 days"}]
        )
    policy = _policy(request)
    las = _authorities(principal, policy, la)
    incidents = await load_incidents(session, las=las, starts_at=starts_at, ends_at=ends_at)
    out = ReportOut(
        period_start=period_start,
        period_end=period_end,
        starts_at=starts_at,
        ends_at=ends_at,
        generated_at=request_clock(request).now(),
        authorities=[
            AuthorityReport(la=code, name=policy.authority_name(code), splits=figures(incidents[code], ends_at))
            for code in las
        ],
        definitions=DEFINITIONS,
    )
    if output == "csv":
        return Response(to_csv(out), media_type="text/csv; charset=utf-8")
    return out


@router.get("/sla", response_model=SlaOut, responses=PROBLEM_RESPONSES)
async def sla(
    principal: Ops,
    session: ReadTx,
    request: Request,
    lag_window_hours: Annotated[float, Query(gt=0, le=24 * 31, description="Breaches counted for the lag.")] = 24,
) -> SlaOut:
    """Per authority of the partnership: open, due within 12 h, breached, oldest breach, sweeper lag; no child data."""
    policy = _policy(request)
    authorities = {code: policy.authority_name(code) for code in policy.authorities_of(principal.tenant)}
    now = request_clock(request).now()
    return await sla_view(
        session,
        partnership=principal.tenant,
        authorities=authorities,
        now=now,
        window=timedelta(hours=lag_window_hours),
    )
