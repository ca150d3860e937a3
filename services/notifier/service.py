"""Notifier use cases: route an event to deliveries now or to held notices. Take the session, never commit.

Held notices (school mornings, digests), returns and cancellations: held.py. Outcomes and replays:
outcomes.py. Delivery rows: deliveries.py.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.deliveries import About, add_deliveries, to_json
from services.notifier.held import hold
from services.notifier.models import Delivery
from services.notifier.notices import builder_for, envelope
from services.notifier.routing import Facts, Selected, choose, facts_of
from shared.clock import Clock
from shared.events.codec import Decoded
from shared.policy import Policy
from shared.policy.notifications import Timing


async def route_event(session: AsyncSession, *, decoded: Decoded, policy: Policy, clock: Clock) -> list[Delivery]:
    """Deliveries for every recipient the rules choose now; held notices for the ones that wait."""
    facts = facts_of(decoded.payload)
    if facts is None:
        return []
    created: list[Delivery] = []
    for chosen in choose(policy, decoded.event.type, facts):
        if chosen.rule.timing is Timing.IMMEDIATE:
            created += await _immediate(session, chosen, decoded, facts, clock)
        else:
            await hold(session, chosen, decoded, facts, policy, clock)
    return created


async def _immediate(
    session: AsyncSession, chosen: Selected, decoded: Decoded, facts: Facts, clock: Clock
) -> list[Delivery]:
    r = chosen.recipient
    build = builder_for(decoded.event.type, r.audience)
    assert build is not None, "validate() refused policies without a notice for a routed audience"
    body = envelope(decoded.event.type, r.audience, decoded.event.time, build(decoded.payload))
    return await add_deliveries(
        session,
        recipient=r,
        event_id=decoded.event.id,
        event_type=decoded.event.type,
        body=to_json(body),
        about=About(facts.episode_id, facts.child_id, facts.responsible_la),
        statutory=chosen.rule.statutory,
        clock=clock,
    )
