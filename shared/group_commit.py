"""Group commit: many requests' units of work share one transaction.

A commit per request caps SQLite at ~800 writes/s on this hardware. Here a batch of units runs
in one transaction with autoflush off, so the ORM writes every unit's rows at commit in one
multi-row INSERT per table. The contract for units: check everything (and raise AppError)
before adding or changing any row, and touch only the database (no network calls). A unit's
AppError fails that unit alone. If anything else fails (e.g. two units in one batch claiming
the same unique key), the batch is rolled back and rerun one unit per savepoint, so each
request stays all-or-nothing and is answered only after its transaction committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.errors import AppError, TransientError

log = structlog.get_logger(__name__)
T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[Any]]
Outcome = tuple[asyncio.Future[Any], Any, BaseException | None]
Prefetch = Callable[[AsyncSession, list[Hashable]], Awaitable[None]]


class GroupCommit:
    """Runs submitted units of work in shared transactions; each caller gets its own result or error."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        after_commit: Callable[[], None],
        prefetch: Prefetch | None = None,
        max_batch: int = 256,
    ) -> None:
        self._sessions = sessions
        self._after_commit = after_commit
        self._prefetch = prefetch
        self._max_batch = max_batch
        self._queue: list[tuple[Work, asyncio.Future[Any]]] = []
        self._hints: dict[int, Hashable] = {}
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]], *, hint: Hashable | None = None) -> T:
        """Run `work` in the next shared transaction and return its result once committed.

        A `hint` (e.g. a natural key) is handed, with the batch's other hints, to `prefetch`
        before the units run, so one query can serve the whole batch.
        """
        if self._closing:
            raise TransientError("the service is shutting down; send the request again")
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="group-commit")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        if hint is not None:
            self._hints[id(future)] = hint
        self._queue.append((work, future))
        self._ready.set()
        return await asyncio.shield(future)

    async def close(self) -> None:
        """Finish what is queued and the batch in flight, then stop."""
        self._closing = True
        self._ready.set()
        if self._task is not None:
            # Cancelling mid-commit would abandon a transaction and its connection; let the loop end itself.
            await self._task

    async def _loop(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._queue:
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
                await self._commit(batch)
            if self._closing:
                return

    async def _commit(self, batch: list[tuple[Work, asyncio.Future[Any]]]) -> None:
        try:
            outcomes = await self._together(batch)
        except Exception as exc:
            log.info("group_commit.isolating", size=len(batch), error=type(exc).__name__)
            try:
                outcomes = await self._isolated(batch)
            except Exception as exc2:  # the commit itself failed: nothing in the batch was stored
                log.warning("group_commit.failed", size=len(batch), error=type(exc2).__name__)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(TransientError("could not store the request; send it again"))
                return
        self._settle(outcomes)

    async def _together(self, batch: list[tuple[Work, asyncio.Future[Any]]]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        async with self._sessions() as session, session.begin():
            hints = [h for _, f in batch if (h := self._hints.get(id(f))) is not None]
            if self._prefetch is not None and hints:
                await self._prefetch(session, hints)
            with session.no_autoflush:
                for work, future in batch:
                    try:
                        outcomes.append((future, await work(session), None))
                    except AppError as exc:  # checked before writing, so nothing of it is pending
                        outcomes.append((future, None, exc))
        return outcomes

    async def _isolated(self, batch: list[tuple[Work, asyncio.Future[Any]]]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        async with self._sessions() as session, session.begin():
            for work, future in batch:
                outcomes.append((future, *await self._one(session, work)))
        return outcomes

    def _settle(self, outcomes: list[Outcome]) -> None:
        for future, result, error in outcomes:
            self._hints.pop(id(future), None)
            if future.done():
                continue
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)
        self._after_commit()

    @staticmethod
    async def _one(session: AsyncSession, work: Work) -> tuple[Any, BaseException | None]:
        try:
            async with session.begin_nested():
                return await work(session), None
        except Exception as exc:  # this unit only: its savepoint is rolled back, the others stand
            return None, exc
