"""The ops SLA view: per authority, interviews outstanding, due soon, breached, and how late breaches were seen.

Counts come from the worklist index (responsible_la, status, due_at); no child details are read.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.rhi_tracker.models import Task
from services.rhi_tracker.schemas import AuthoritySla, Lag, OldestBreach, SlaOut
from services.rhi_tracker.states import ACTIVE, Status

SOON = timedelta(hours=12)
ACTIVE_VALUES = [s.value for s in ACTIVE]


def percentile(sorted_values: list[float], q: float) -> float | None:
    """The nearest-rank percentile of sorted values (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * q // 100))
    return sorted_values[int(rank) - 1]


def lag_of(seconds: list[float]) -> Lag:
    """Summary of breach lags in seconds."""
    values = sorted(seconds)
    return Lag(
        breaches=len(values),
        p50_seconds=percentile(values, 50),
        p99_seconds=percentile(values, 99),
        max_seconds=values[-1] if values else None,
    )


async def _counts(session: AsyncSession, las: list[str], *where: object) -> dict[str, int]:
    query = select(Task.responsible_la, func.count()).where(Task.responsible_la.in_(las), *where)  # type: ignore[arg-type]
    return {la: int(n) for la, n in (await session.execute(query.group_by(Task.responsible_la))).all()}


async def _oldest(session: AsyncSession, la: str, now: datetime) -> OldestBreach | None:
    query = (
        select(Task.id, Task.episode_id, Task.due_at)
        .where(
            Task.responsible_la == la, Task.status.in_(ACTIVE_VALUES), Task.due_at <= now, Task.breached_at.is_not(None)
        )
        .order_by(Task.due_at)
        .limit(1)
    )
    row = (await session.execute(query)).first()
    if row is None:
        return None
    task_id, episode_id, due = row
    overdue = round((now - due) / timedelta(hours=1), 2)
    return OldestBreach(task_id=task_id, episode_id=episode_id, due_at=due, overdue_hours=overdue)


async def _lags(session: AsyncSession, las: list[str], since: datetime) -> dict[str, list[float]]:
    query = select(Task.responsible_la, Task.breached_at, Task.due_at).where(
        Task.responsible_la.in_(las), Task.breached_at >= since
    )
    result: dict[str, list[float]] = {la: [] for la in las}
    for la, breached_at, due in (await session.execute(query)).all():
        assert breached_at is not None
        result[la].append(max(0.0, (breached_at - due).total_seconds()))
    return result


async def sla_view(
    session: AsyncSession, *, partnership: str, authorities: dict[str, str | None], now: datetime, window: timedelta
) -> SlaOut:
    """Per authority of the partnership: open, offered, due within 12 h, breached, oldest breach, sweeper lag."""
    las = sorted(authorities)
    active = Task.status.in_(ACTIVE_VALUES)
    open_ = await _counts(session, las, active)
    offered = await _counts(session, las, Task.status == Status.OFFERED.value)
    soon = await _counts(session, las, active, Task.breached_at.is_(None), Task.due_at > now, Task.due_at <= now + SOON)
    breached = await _counts(session, las, active, Task.breached_at.is_not(None))
    lags = await _lags(session, las, now - window)
    rows = [
        AuthoritySla(
            la=la,
            name=authorities[la],
            open=open_.get(la, 0),
            offered=offered.get(la, 0),
            due_within_12h=soon.get(la, 0),
            breached=breached.get(la, 0),
            oldest_breach=await _oldest(session, la, now),
            sweeper_lag=lag_of(lags[la]),
        )
        for la in las
    ]
    return SlaOut(
        partnership=partnership,
        generated_at=now,
        lag_window_hours=window / timedelta(hours=1),
        authorities=rows,
        sweeper_lag=lag_of([s for la in las for s in lags[la]]),
    )
