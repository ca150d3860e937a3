"""Sends due deliveries: claim with a lease, send outside any transaction, record each outcome."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Mapping

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notifier.channels import Channel, Message, Outcome, RetryLater
from services.notifier.config import NotifierSettings
from services.notifier.models import Delivery
from services.notifier.service import apply_outcome, backoff, due_query
from shared.clock import Clock

log = structlog.get_logger(__name__)

CLAIM_BATCH = 50


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
        rng: random.Random | None = None,
    ) -> None:
        self._sessions = sessions
        self._channels = channels
        self._settings = settings
        self._clock = clock
        self._lock = lock_rows
        self._after_commit = after_commit
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
        """Dispatch until stopped."""
        poll = self._settings.delivery_poll_interval.total_seconds()
        while not self._stopping:
            try:
                sent = await self.dispatch_due()
            except Exception:
                log.exception("dispatcher.batch_failed")
                sent = 0
            if sent < CLAIM_BATCH:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=poll)
                self._wake.clear()

    async def dispatch_due(self) -> int:
        """Send every due delivery once; return how many were attempted."""
        claimed = await self._claim()
        if not claimed:
            return 0
        outcomes = await asyncio.gather(*(self._send(d) for d in claimed))
        async with self._sessions() as session, session.begin():
            for delivery, outcome in zip(claimed, outcomes, strict=True):
                row = await session.get(Delivery, delivery.id)
                assert row is not None
                delay = backoff(
                    row.attempts,
                    base=self._settings.delivery_base_backoff,
                    cap=self._settings.delivery_max_backoff,
                    rng=self._rng,
                )
                apply_outcome(
                    session,
                    delivery=row,
                    outcome=outcome,
                    clock=self._clock,
                    max_attempts=self._settings.delivery_max_attempts,
                    next_delay=delay,
                )
        self._after_commit()
        return len(claimed)

    async def _claim(self) -> list[Delivery]:
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            rows = list((await session.scalars(due_query(now, CLAIM_BATCH, lock=self._lock))).all())
            for row in rows:
                row.lease_until = now + self._settings.delivery_lease
        return rows

    async def _send(self, delivery: Delivery) -> Outcome:
        channel = self._channels.get(delivery.channel)
        if channel is None:
            return RetryLater(f"no {delivery.channel} channel configured")
        try:
            return await channel.send(Message(id=delivery.id, body=delivery.body), delivery.recipient_id)
        except Exception as exc:  # a channel bug must not lose the delivery
            log.exception("dispatcher.channel_error", delivery_id=delivery.id)
            return RetryLater(f"channel error: {exc!r}"[:500])
