"""Report arithmetic on a few incidents: bands, denominators, percentages, London periods, CSV; SLA percentiles."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from services.rhi_tracker.reports import Incident, figures, period_bounds, split_figures, to_csv
from services.rhi_tracker.schemas import AuthorityReport, ReportOut
from services.rhi_tracker.sla import lag_of, percentile

H = timedelta(hours=1)
T = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
END = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)


def incident(n: int, child: str, hours: float | None, **extra: object) -> Incident:
    back = None if hours is None else T + hours * H
    return Incident(
        episode_id=f"e{n}",
        child_key=child,
        looked_after=bool(extra.pop("looked_after", False)),
        out_of_area=bool(extra.pop("out_of_area", False)),
        classification=str(extra.pop("classification", "missing")),
        risk_grade=str(extra.pop("risk_grade", "medium")),
        reported_at=T,
        returned_at=back,
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("hours", "band"),
    [
        (0, "duration.up_to_24h"),
        (24, "duration.up_to_24h"),
        (24.01, "duration.24h_to_48h"),
        (48, "duration.24h_to_48h"),
        (48.5, "duration.48h_to_7d"),
        (168, "duration.48h_to_7d"),
        (168.5, "duration.over_7d"),
        (None, "still_missing_at_period_end"),
        (10_000, "still_missing_at_period_end"),  # back only after the period ended
    ],
)
def test_each_incident_falls_in_exactly_one_duration_band(hours: float | None, band: str) -> None:
    measures = split_figures([incident(1, "a", hours)], END).measures
    bands = [name for name in measures if name.startswith("duration.") or name == "still_missing_at_period_end"]
    assert [b for b in bands if measures[b].incidents] == [band]


def test_children_are_counted_once_and_percentages_use_both_denominators() -> None:
    due = T + 80 * H
    rows = [
        incident(1, "a", 2, task_status="completed", completed_at=T + 10 * H, offered_at=T + 5 * H, due_at=due),
        incident(2, "a", 2, task_status="completed", completed_at=T + 90 * H, offered_at=T + 5 * H, due_at=due),
        incident(3, "b", 2, task_status="open", due_at=due, breached=True),
    ]
    all_ = figures(rows, END)["all"]
    assert (all_.incidents, all_.children) == (3, 2)
    completed = all_.measures["rhi.completed"]
    assert (completed.incidents, completed.children, completed.pct_of_incidents, completed.pct_of_children) == (
        2,
        1,
        66.7,
        50.0,
    )
    within = all_.measures["rhi.completed_within_72h"]
    assert (within.incidents, within.pct_of_incidents) == (1, 33.3)
    assert all_.measures["rhi.offered_within_72h"].incidents == 2
    assert all_.measures["rhi.breached"].children == 1


def test_empty_splits_have_no_percentages() -> None:
    split = figures([incident(1, "a", 2)], END)["looked_after"]
    assert (split.incidents, split.children) == (0, 0)
    assert split.measures["missing"].pct_of_incidents is None


def test_splits_by_looked_after_and_area() -> None:
    rows = [
        incident(1, "a", 2, looked_after=True, out_of_area=True),
        incident(2, "b", 2, looked_after=True),
        incident(3, "c", 2),
    ]
    got = {name: f.incidents for name, f in figures(rows, END).items()}
    assert got == {"all": 3, "looked_after": 2, "not_looked_after": 1, "in_area": 2, "out_of_area": 1}


def test_legacy_absent_grade_counts_as_no_apparent_risk() -> None:
    measures = split_figures([incident(1, "a", 2, risk_grade="absent")], END).measures
    assert measures["risk_grade.no_apparent_risk"].incidents == 1


@pytest.mark.parametrize(
    ("first", "last", "starts", "ends"),
    [
        (date(2026, 1, 1), date(2026, 3, 31), datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 31, 23, tzinfo=UTC)),
        (
            date(2026, 4, 1),
            date(2026, 6, 30),
            datetime(2026, 3, 31, 23, tzinfo=UTC),
            datetime(2026, 6, 30, 23, tzinfo=UTC),
        ),
        (
            date(2026, 10, 1),
            date(2026, 12, 31),
            datetime(2026, 9, 30, 23, tzinfo=UTC),
            datetime(2027, 1, 1, tzinfo=UTC),
        ),
    ],
)
def test_periods_are_whole_days_in_london(first: date, last: date, starts: datetime, ends: datetime) -> None:
    assert period_bounds(first, last) == (starts, ends)


def test_csv_rows_carry_the_json_numbers() -> None:
    report = ReportOut(
        period_start=date(2026, 5, 1),
        period_end=date(2026, 5, 31),
        starts_at=T,
        ends_at=END,
        generated_at=END,
        authorities=[AuthorityReport(la="E06000002", name="Middlesbrough", splits=figures([incident(1, "a", 2)], END))],
        definitions={},
    )
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    total = next(r for r in rows if r["split"] == "all" and r["measure"] == "total")
    assert (total["incidents"], total["children"], total["pct_of_incidents"]) == ("1", "1", "")
    missing = next(r for r in rows if r["split"] == "all" and r["measure"] == "missing")
    assert (missing["incidents"], missing["pct_of_incidents"], missing["pct_of_children"]) == ("1", "100.0", "100.0")
    empty = next(r for r in rows if r["split"] == "looked_after" and r["measure"] == "missing")
    assert (empty["incidents"], empty["pct_of_incidents"]) == ("0", "")
    per_split = 1 + len(report.authorities[0].splits["all"].measures)
    assert len(rows) == 5 * per_split


def test_lag_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (50.0, 99.0, 100.0)
    assert percentile([], 99) is None
    lag = lag_of([3.0, 1.0, 2.0])
    assert (lag.breaches, lag.p50_seconds, lag.p99_seconds, lag.max_seconds) == (3, 2.0, 3.0, 3.0)
