"""The figures partnerships report, computed straight from the records (DOMAIN.md "What partnerships report").

`figures` is pure arithmetic over the period's incidents; `load_incidents` reads them; `to_csv`
writes the same numbers as the JSON, one row per (authority, split, measure).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.rhi_tracker.models import Task, TrackedEpisode
from services.rhi_tracker.schemas import Measure, ReportOut, SplitFigures
from services.rhi_tracker.states import ACTIVE, Status
from shared.events.codes import NotOfferedReason, RiskGrade

LONDON = ZoneInfo("Europe/London")
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Incident:
    """One episode of the period as the report sees it (its task's state as of now)."""

    episode_id: str
    child_key: str
    looked_after: bool
    out_of_area: bool
    classification: str | None
    risk_grade: str | None
    reported_at: datetime
    returned_at: datetime | None
    task_status: str | None = None
    offered_at: datetime | None = None
    completed_at: datetime | None = None
    due_at: datetime | None = None
    breached: bool = False
    not_offered_reason: str | None = None


Test = Callable[[Incident, datetime], bool]


def _band(low: timedelta | None, high: timedelta | None) -> Test:
    def test(i: Incident, end: datetime) -> bool:
        if i.returned_at is None or i.returned_at >= end:
            return False
        took = i.returned_at - i.reported_at
        return (low is None or took > low) and (high is None or took <= high)

    return test


def _status(*statuses: Status) -> Test:
    return lambda i, _end: i.task_status in {s.value for s in statuses}


def _grade(grade: RiskGrade) -> Test:
    return lambda i, _end: i.risk_grade is not None and RiskGrade(i.risk_grade).mapped is grade


def _not_offered(reason: NotOfferedReason) -> Test:
    return lambda i, _end: i.task_status == Status.NOT_OFFERED.value and i.not_offered_reason == reason.value


H24, H48, D7 = timedelta(hours=24), timedelta(hours=48), timedelta(days=7)
MEASURES: dict[str, tuple[str, Test]] = {
    "missing": ("classified missing (latest classification)", lambda i, _e: i.classification == "missing"),
    "absent": ("classified absent (latest classification)", lambda i, _e: i.classification == "absent"),
    "unclassified": ("no classification received yet", lambda i, _e: i.classification is None),
    **{
        f"risk_grade.{g.value}": (f"police risk grade {g.value} (legacy absent counts as no apparent risk)", _grade(g))
        for g in (RiskGrade.NO_APPARENT_RISK, RiskGrade.LOW, RiskGrade.MEDIUM, RiskGrade.HIGH)
    },
    "duration.up_to_24h": ("returned by period end, at most 24 h after the report", _band(None, H24)),
    "duration.24h_to_48h": (
        "returned by period end, more than 24 h and at most 48 h after the report",
        _band(H24, H48),
    ),
    "duration.48h_to_7d": (
        "returned by period end, more than 48 h and at most 7 days after the report",
        _band(H48, D7),
    ),
    "duration.over_7d": ("returned by period end, more than 7 days after the report", _band(D7, None)),
    "still_missing_at_period_end": (
        "not returned by the end of the period",
        lambda i, end: i.returned_at is None or i.returned_at >= end,
    ),
    "rhi.opened": ("an interview task was opened on return", lambda i, _e: i.task_status is not None),
    "rhi.offered": (
        "an interview was offered (recorded offer, decline or completion)",
        lambda i, _e: i.offered_at is not None,
    ),
    "rhi.offered_within_72h": (
        "offered by the due time (return + MCN_RHI_DEADLINE, 72 h by default)",
        lambda i, _e: i.offered_at is not None and i.due_at is not None and i.offered_at <= i.due_at,
    ),
    "rhi.completed": ("the interview took place", _status(Status.COMPLETED)),
    "rhi.completed_within_72h": (
        "the interview took place by the due time",
        lambda i, _e: i.completed_at is not None and i.due_at is not None and i.completed_at <= i.due_at,
    ),
    "rhi.declined": ("the child declined", _status(Status.DECLINED)),
    "rhi.not_offered": ("a manager decided not to offer one", _status(Status.NOT_OFFERED)),
    **{f"rhi.not_offered.{r.value}": (f"not offered, reason {r.value}", _not_offered(r)) for r in NotOfferedReason},
    "rhi.not_possible": ("the interview could not take place", _status(Status.NOT_POSSIBLE)),
    "rhi.superseded": (
        "missing again before the interview; the next episode's task covers it",
        _status(Status.SUPERSEDED),
    ),
    "rhi.outstanding": ("still open or offered now", _status(*ACTIVE)),
    "rhi.breached": ("the deadline passed before the interview (breach recorded)", lambda i, _e: i.breached),
}
SPLITS: dict[str, Callable[[Incident], bool]] = {
    "all": lambda i: True,
    "looked_after": lambda i: i.looked_after,
    "not_looked_after": lambda i: not i.looked_after,
    "in_area": lambda i: not i.out_of_area,
    "out_of_area": lambda i: i.out_of_area,
}
DEFINITIONS = {
    "incidents": "episodes reported in the period (cancelled ones excluded), by the responsible authority",
    "children": "distinct children among them (the classifier's child id, else the police person id, else the episode)",
    "out_of_area": "a host authority is set and differs from the responsible authority",
    **{name: text for name, (text, _) in MEASURES.items()},
}


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[first day 00:00, day after the last 00:00) in Europe/London, as UTC instants."""
    first = datetime.combine(start, time(0), tzinfo=LONDON)
    after = datetime.combine(end + DAY, time(0), tzinfo=LONDON)
    return first.astimezone(UTC), after.astimezone(UTC)


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def split_figures(incidents: list[Incident], end: datetime) -> SplitFigures:
    """Every measure over one split's incidents."""
    children = len({i.child_key for i in incidents})
    measures = {}
    for name, (_, test) in MEASURES.items():
        hits = [i for i in incidents if test(i, end)]
        kids = len({i.child_key for i in hits})
        measures[name] = Measure(
            incidents=len(hits),
            children=kids,
            pct_of_incidents=_pct(len(hits), len(incidents)),
            pct_of_children=_pct(kids, children),
        )
    return SplitFigures(incidents=len(incidents), children=children, measures=measures)


def figures(incidents: Iterable[Incident], end: datetime) -> dict[str, SplitFigures]:
    """The figures of one authority for the period ending at `end`, per split."""
    rows = list(incidents)
    return {name: split_figures([i for i in rows if keep(i)], end) for name, keep in SPLITS.items()}


def child_key(episode: TrackedEpisode) -> str:
    """Who the child is, as well as the tracker knows."""
    if episode.child_id is not None:
        return f"child/{episode.child_id}"
    if episode.police_person_id is not None:
        return f"police/{episode.force}/{episode.police_person_id}"
    return f"episode/{episode.episode_id}"


def incident(episode: TrackedEpisode, task: Task | None) -> Incident:
    """The report's view of an episode and its task."""
    reason = (task.outcome or {}).get("reason_code") if task is not None else None
    return Incident(
        episode_id=episode.episode_id,
        child_key=child_key(episode),
        looked_after=episode.looked_after,
        out_of_area=episode.host_la is not None and episode.host_la != episode.responsible_la,
        classification=episode.classification,
        risk_grade=episode.risk_grade,
        reported_at=episode.reported_at,
        returned_at=episode.returned_at,
        task_status=task.status if task else None,
        offered_at=task.offered_at if task else None,
        completed_at=task.completed_at if task else None,
        due_at=task.due_at if task else None,
        breached=task is not None and task.breached_at is not None,
        not_offered_reason=reason,
    )


async def load_incidents(
    session: AsyncSession, *, las: list[str], starts_at: datetime, ends_at: datetime
) -> dict[str, list[Incident]]:
    """The period's incidents per responsible authority."""
    query = (
        select(TrackedEpisode, Task)
        .outerjoin(Task, Task.episode_id == TrackedEpisode.episode_id)
        .where(
            TrackedEpisode.responsible_la.in_(las),
            TrackedEpisode.reported_at >= starts_at,
            TrackedEpisode.reported_at < ends_at,
            TrackedEpisode.cancelled_at.is_(None),
        )
    )
    result: dict[str, list[Incident]] = {la: [] for la in las}
    for episode, task in (await session.execute(query)).all():
        result[episode.responsible_la].append(incident(episode, task))
    return result


CSV_COLUMNS = [
    "la",
    "la_name",
    "period_start",
    "period_end",
    "split",
    "measure",
    "incidents",
    "children",
    "pct_of_incidents",
    "pct_of_children",
]


def to_csv(report: ReportOut) -> str:
    """The report as CSV: a `total` row per split, then one row per measure; the same numbers as the JSON."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for authority in report.authorities:
        head = [authority.la, authority.name or "", report.period_start.isoformat(), report.period_end.isoformat()]
        for split, figs in authority.splits.items():
            writer.writerow([*head, split, "total", figs.incidents, figs.children, "", ""])
            for name, m in figs.measures.items():
                pcts = ["" if p is None else p for p in (m.pct_of_incidents, m.pct_of_children)]
                writer.writerow([*head, split, name, m.incidents, m.children, *pcts])
    return out.getvalue()
