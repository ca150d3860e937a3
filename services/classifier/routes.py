"""HTTP endpoints for MSET coordinators (role mset; tenant = partnership): list, child, timeline, links."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from services.classifier import linking, queries, service
from services.classifier.context import Context
from services.classifier.schemas import (
    ChildOut,
    ChildPage,
    CorrectionIn,
    DecisionOut,
    EpisodeDecisions,
    LinkIn,
    Sort,
    Timeline,
    UnlinkOut,
)
from shared.auth import Principal, Role
from shared.errors import InvalidInput
from shared.http import PROBLEM_RESPONSES, ReadTx, Tx, require

router = APIRouter(tags=["mset"])
Mset = Annotated[Principal, Depends(require(Role.MSET))]
LaFilter = Annotated[str | None, Query(pattern=r"^[EW][0-9]{8}$", description="only children of this LA")]
RuleFilter = Annotated[str | None, Query(max_length=64, description="only children meeting this repeat rule")]
SortParam = Annotated[Sort, Query(description="order of the list; '-' is descending")]
NOT_VISIBLE = {**PROBLEM_RESPONSES[404], "description": "No such child or episode visible to this partnership."}
ERRORS: dict[int | str, dict[str, Any]] = {
    **{k: v for k, v in PROBLEM_RESPONSES.items() if k in (401, 403, 422)},
    404: NOT_VISIBLE,
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, 400: PROBLEM_RESPONSES[400], 409: PROBLEM_RESPONSES[409]}
log = structlog.get_logger(__name__)
CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "The list as CSV (UTF-8, one row per child)."}
}


def context(request: Request) -> Context:
    """The classifier's policy, clock and rule-set version."""
    ctx: Context = request.app.state.classifier
    return ctx


Ctx = Annotated[Context, Depends(context)]


def authorities(principal: Principal, ctx: Context, la: str | None = None) -> frozenset[str]:
    """The partnership's local authorities; a filter on another LA is a 422."""
    las = ctx.policy.authorities_of(principal.tenant)
    if la is not None and la not in las:
        raise InvalidInput("not one of the partnership's local authorities", errors=[{"pointer": "/la", "message": la}])
    return las


@router.get("/v1/mset/children", response_model=ChildPage, responses=ERRORS)
async def mset_list(
    principal: Mset,
    ctx: Ctx,
    session: ReadTx,
    la: LaFilter = None,
    rule: RuleFilter = None,
    sort: SortParam = Sort.LAST_REPORTED_DESC,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ChildPage:
    """Children meeting any repeat-missing rule whose responsible or host LA is in the partnership."""
    las = authorities(principal, ctx, la)
    return await queries.mset_list(session, las, la=la, rule=rule, sort=sort, limit=limit, offset=offset)


@router.get("/v1/mset/children.csv", response_class=Response, responses={**CSV, **ERRORS})
async def mset_csv(
    principal: Mset,
    ctx: Ctx,
    session: ReadTx,
    la: LaFilter = None,
    rule: RuleFilter = None,
    sort: SortParam = Sort.LAST_REPORTED_DESC,
) -> Response:
    """The same list as CSV, for the meeting papers (at most 50,000 rows)."""
    body = await queries.mset_csv(session, authorities(principal, ctx, la), la=la, rule=rule, sort=sort)
    log.info("mset.read", what="list.csv", la=la, rule=rule, actor=principal.key_id, tenant=principal.tenant)
    headers = {"content-disposition": 'attachment; filename="mset-children.csv"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/v1/children/{child_id}", response_model=ChildOut, responses=ERRORS)
async def read_child(child_id: str, principal: Mset, ctx: Ctx, session: ReadTx) -> ChildOut:
    """One child: summary, every episode with its classification, and the audit trail of links."""
    found = await queries.child_detail(session, child_id, authorities(principal, ctx))
    log.info("mset.read", what="child", child_id=child_id, actor=principal.key_id, tenant=principal.tenant)
    return found


@router.get("/v1/children/{child_id}/timeline", response_model=Timeline, responses=ERRORS)
async def timeline(child_id: str, principal: Mset, ctx: Ctx, session: ReadTx) -> Timeline:
    """Every episode, classification, link, interview task event and notification of the child, oldest first."""
    found = await queries.child_timeline(session, child_id, authorities(principal, ctx))
    log.info("mset.read", what="timeline", child_id=child_id, actor=principal.key_id, tenant=principal.tenant)
    return found


@router.post("/v1/children/{child_id}/links", response_model=ChildOut, responses=WRITE_ERRORS)
async def link_episode(child_id: str, body: LinkIn, principal: Mset, ctx: Ctx, session: Tx) -> ChildOut:
    """Link an episode to this child (audited: who, when, why); repeat counts follow."""
    las = authorities(principal, ctx)
    await linking.link(
        session,
        principal=principal,
        authorities=las,
        child_id=child_id,
        episode_id=body.episode_id,
        reason=body.reason,
        ctx=ctx,
    )
    return await queries.child_detail(session, child_id, las)


@router.post("/v1/children/{child_id}/unlinks", response_model=UnlinkOut, responses=WRITE_ERRORS)
async def unlink_episode(child_id: str, body: LinkIn, principal: Mset, ctx: Ctx, session: Tx) -> UnlinkOut:
    """Split an episode from this child into a child of its own (audited); repeat counts follow."""
    new_id = await linking.unlink(
        session,
        principal=principal,
        authorities=authorities(principal, ctx),
        child_id=child_id,
        episode_id=body.episode_id,
        reason=body.reason,
        ctx=ctx,
    )
    return UnlinkOut(episode_id=body.episode_id, child_id=new_id, previous_child_id=child_id)


@router.get("/v1/mset/episodes/{episode_id}/decisions", response_model=EpisodeDecisions, responses=ERRORS)
async def decisions(episode_id: str, principal: Mset, ctx: Ctx, session: ReadTx) -> EpisodeDecisions:
    """An episode's child and every decision on it with rule ids and reasons, oldest first."""
    return await queries.episode_decisions(session, episode_id, authorities(principal, ctx))


@router.post(
    "/v1/mset/episodes/{episode_id}/corrections", status_code=201, response_model=DecisionOut, responses=WRITE_ERRORS
)
async def correct(episode_id: str, body: CorrectionIn, principal: Mset, ctx: Ctx, session: Tx) -> DecisionOut:
    """Correct an episode's classification with a reason; a new decision, the earlier ones stay (audited)."""
    row = await service.correct(
        session,
        principal=principal,
        authorities=authorities(principal, ctx),
        episode_id=episode_id,
        classification=body.classification,
        reason=body.reason,
        ctx=ctx,
    )
    return queries.decision_out(row)
