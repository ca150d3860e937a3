"""The chaos run's stack: every part on free ports and one FileClock, and a wait until the system is quiet."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.recipients import recipient
from devstack.stack import Stack, local_policy, start_on_free_ports
from devstack.synthetic import school_urn
from services.notifier.models import Delivery, DeliveryStatus
from services.rhi_tracker.models import TaskHistory
from shared.inbox import InboxEntry
from shared.outbox import OutboxMessage

# Faster than shipped so the run settles sooner: sweeps, and how long a killed dispatcher's rows stay leased.
TIMERS = {
    "MCN_RHI_SWEEP_INTERVAL": "PT0.5S",
    "MCN_RELEASE_SWEEP_INTERVAL": "PT2S",
    "MCN_DELIVERY_LEASE": "PT5S",
    "MCN_KAFKA_REQUEST_TIMEOUT_MS": "3000",
}
SCHOOLS_WITH_A_LEAD = 100  # of each authority's SCHOOLS_PER_AUTHORITY: a quarter of the children's schools


def start_stack(
    data_dir: Path, database_url: str | None, clock_file: Path, log_level: str, authorities: Sequence[str]
) -> Stack:
    """Start every part on free ports, sharing the FileClock; on failure stop what started."""
    env = {"MCN_CLOCK_FILE": str(clock_file), "MCN_LOG_LEVEL": log_level, **TIMERS}
    return start_on_free_ports(data_dir, database_url, env, partial(chaos_policy, authorities))


def chaos_policy(authorities: Sequence[str], receiver_port: int, path: Path) -> Path:
    """The example policy on the local receiver, plus safeguarding leads of the feed's schools.

    The example names no school the generator uses; without these, no school notice would be held,
    and the check that every held notice is released would check nothing.
    """
    local_policy(receiver_port, path)
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    urns = [school_urn(authorities, la, n) for la in authorities for n in range(SCHOOLS_WITH_A_LEAD)]
    leads = [recipient(f"dsl-{urn}", "dsl", "school", receiver_port, school_urn=urn) for urn in urns]
    document["notifications"]["recipients"] += leads
    path.write_text(yaml.safe_dump(document))
    return path


async def fingerprint(session: AsyncSession, stack: Stack) -> tuple[Any, ...]:
    """What still changes while the system works: outbox, inbox, deliveries, task history, the sinks' logs."""
    unpublished = select(func.count()).where(OutboxMessage.published_at.is_(None))
    pending = select(func.count()).where(Delivery.status == DeliveryStatus.PENDING)
    counts = [
        await session.scalar(select(func.count()).select_from(OutboxMessage)),
        await session.scalar(unpublished),
        await session.scalar(select(func.count()).select_from(InboxEntry)),
        await session.scalar(select(func.count()).select_from(Delivery)),
        await session.scalar(pending),
        await session.scalar(select(func.count()).select_from(TaskHistory)),
    ]
    sizes = [p.stat().st_size if p.exists() else 0 for p in (stack.receiver_log, stack.mail_log)]
    return (*counts, *sizes)


async def quiet(sessions: async_sessionmaker[AsyncSession], stack: Stack, settle_s: float, timeout_s: float) -> bool:
    """Wait until nothing is unpublished or pending and nothing changed for `settle_s`; False on timeout."""
    deadline, last, since = time.monotonic() + timeout_s, None, time.monotonic()
    while time.monotonic() < deadline:
        async with sessions() as session:
            now = await fingerprint(session, stack)
        if now != last:
            last, since = now, time.monotonic()
        elif now[1] == 0 and now[4] == 0 and time.monotonic() - since >= settle_s:
            return True
        await asyncio.sleep(0.5)
    return False
