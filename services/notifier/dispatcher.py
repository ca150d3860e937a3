"""Sends due deliveries: claim with a lease, send outside any transaction, record each outcome.

A dispatcher killed after sending but before recording leaves the row leased; when the lease runs
out the row is sent again under the same id (the webhook-id, the e-mail Message-ID), so the
recipient can tell a repeat from a new notice. Nothing is lost; a repeat is possible, by design.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Mapping

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notifier.channels import Channel, Message, Outcome, RetryLater
from services.notifier.config import NotifierSettings
from services.notifier.models import Delivery, DeliveryStatus
from services.notifier.outcomes import after_dead, apply_outcome, backoff, due_query
from shared.clock import Clock
from shared.policy import Policy

log = structlog.get_logger(__name__)
Batch = tuple[list[Delivery], list[Outcome]]


class Dispatcher:
    """The delivery worker; one per notifier process, safe to run several (leases + SKIP LOCKED)."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        channels: Mapping[str, Channel],
        settings: NotifierSettings,
        clock: Clock,
        lock_rows: bool,
        after_commit: Callable[[], None],
        policy: Policy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._sessions = sessions
        self._channels = channels
        self._settings = settings
        self._clock = clock
        self._lock = lock_rows
        self._after_commit = after_commit
        self._policy = policy  # without one, a dead delivery raises no alert and tries no fallback
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """New deliveries were committed; look now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the current batch and return from run()."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Dispatch until stopped: each transaction records the last batch's outcomes and leases the next batch."""
        poll = self._settings.delivery_poll_interval.total_seconds()
        sent: Batch = ([], [])
        while not self._stopping:
            try:
                claimed = await self.record_and_claim(*sent)
                sent = (claimed, list(await asyncio.gather(*(self.send(d) for d in claimed))))
            except Exception:
                log.exception("dispatcher.batch_failed")  # unrecorded outcomes: sent again when their lease ends
                claimed, sent = [], ([], [])
            if not claimed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=poll)
                self._wake.clear()
        if sent[0]:
            await self.record(*sent)

    async def dispatch_due(self) -> int:
        """Send every due delivery once and record the outcomes; return how many were attempted."""
        claimed = await self.claim()
        if not claimed:
            return 0
        outcomes = await asyncio.gather(*(self.send(d) for d in claimed))
        await self.record(claimed, outcomes)
        return len(claimed)

    async def claim(self) -> list[Delivery]:
        """Lease a batch of due deliveries (committed, so the lease holds if this process dies)."""
        return await self.record_and_claim([], [])

    async def record_and_claim(self, sent: list[Delivery], outcomes: list[Outcome]) -> list[Delivery]:
        """One transaction: record a sent batch's outcomes, then lease the next batch (one commit, not two)."""
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            if sent:
                await self._record(session, sent, outcomes)
            query = due_query(now, self._settings.delivery_batch, lock=self._lock)
            rows = list((await session.scalars(query)).all())
            if rows:
                lease = now + self._settings.delivery_lease
                await session.execute(
                    update(Delivery).where(Delivery.id.in_([r.id for r in rows])).values(lease_until=lease)
                )
        if sent:
            self._after_commit()
        return rows

    async def send(self, delivery: Delivery) -> Outcome:
        """One attempt over the delivery's channel, outside any transaction."""
        channel = self._channels.get(delivery.channel)
        if channel is None:
            return RetryLater(f"no {delivery.channel} channel configured")
        try:
            return await channel.send(Message(id=delivery.id, body=delivery.body), delivery.recipient_id)
        except Exception as exc:  # a channel bug must not lose the delivery
            log.exception("dispatcher.channel_error", delivery_id=delivery.id)
            return RetryLater(f"channel error: {type(exc).__name__}"[:500])

    async def record(self, claimed: list[Delivery], outcomes: list[Outcome]) -> None:
        """Record every outcome of a batch in one transaction; dead ones raise alerts and fallbacks."""
        async with self._sessions() as session, session.begin():
            await self._record(session, claimed, outcomes)
        self._after_commit()

    async def _record(self, session: AsyncSession, claimed: list[Delivery], outcomes: list[Outcome]) -> None:
        query = select(Delivery).where(Delivery.id.in_([d.id for d in claimed]))
        rows = {row.id: row for row in (await session.scalars(query)).all()}
        for delivery, outcome in zip(claimed, outcomes, strict=True):
            row = rows[delivery.id]
            delay = backoff(
                row.attempts,
                base=self._settings.delivery_base_backoff,
                cap=self._settings.delivery_max_backoff,
                rng=self._rng,
            )
            status = apply_outcome(
                session,
                delivery=row,
                outcome=outcome,
                clock=self._clock,
                max_attempts=self._settings.delivery_max_attempts,
                next_delay=delay,
            )
            if status == DeliveryStatus.DEAD and self._policy is not None:
                await after_dead(session, delivery=row, policy=self._policy, clock=self._clock)
