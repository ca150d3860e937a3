"""HTTP endpoints of the notifier: the ops delivery log and replay (role ops; tenant = partnership)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime

from services.notifier import outcomes, queries
from services.notifier.schemas import DeliveryDetail, DeliveryPage, ReplayRequest, Status
from shared.auth import Principal, Role
from shared.http import PROBLEM_RESPONSES, ReadTx, Tx, request_clock, require
from shared.policy import Policy

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"])
Ops = Annotated[Principal, Depends(require(Role.OPS))]


def _authorities(request: Request, principal: Principal) -> frozenset[str]:
    policy: Policy = request.app.state.policy
    return policy.authorities_of(principal.tenant)


@router.get("", response_model=DeliveryPage, responses=PROBLEM_RESPONSES)
async def list_deliveries(
    principal: Ops,
    session: ReadTx,
    request: Request,
    status: Annotated[Status | None, Query(examples=["dead"])] = None,
    recipient_id: Annotated[str | None, Query(max_length=64, examples=["redcar-rhi"])] = None,
    event_type: Annotated[str | None, Query(max_length=64, examples=["rhi.opened"])] = None,
    since: Annotated[AwareDatetime | None, Query(description="Created at or after (with a time zone)")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Created before (with a time zone)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> DeliveryPage:
    """The partnership's deliveries (about children of its local authorities), newest first; no notice bodies."""
    filters = queries.Filters(status, recipient_id, event_type, since, until)
    authorities = _authorities(request, principal)
    return await queries.list_deliveries(session, authorities=authorities, filters=filters, limit=limit, cursor=cursor)


@router.get("/{delivery_id}", response_model=DeliveryDetail, responses=PROBLEM_RESPONSES)
async def read_delivery(delivery_id: str, principal: Ops, session: ReadTx, request: Request) -> DeliveryDetail:
    """One delivery with every attempt and replay."""
    return await queries.read_delivery(session, authorities=_authorities(request, principal), delivery_id=delivery_id)


@router.post("/{delivery_id}/replay", status_code=202, response_model=DeliveryDetail, responses=PROBLEM_RESPONSES)
async def replay_delivery(
    delivery_id: str, body: ReplayRequest, principal: Ops, session: Tx, request: Request
) -> DeliveryDetail:
    """Send a dead delivery again under the same id, with a fresh retry budget (409 unless it is dead)."""
    authorities = _authorities(request, principal)
    await outcomes.replay(
        session,
        delivery_id=delivery_id,
        authorities=authorities,
        actor=principal.key_id,
        reason=body.reason,
        clock=request_clock(request),
    )
    await session.flush()
    return await queries.read_delivery(session, authorities=authorities, delivery_id=delivery_id)
