"""The report over a hand-built fixture of 40 episodes equals figures counted by hand; CSV and JSON agree.

Period: March 2026 in Europe/London, i.e. [1 March 00:00 GMT, 1 April 00:00 BST) = [00:00Z, 31 March 23:00Z).
Authority under test: E06000002. Six of the forty episodes fall outside it (dates, authority, cancelled).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.rhi_tracker.models import Task, TrackedEpisode
from tests.integration.test_rhi_api import Api, running_api

H = timedelta(hours=1)
DUE = 72 * H
LA, OTHER, HOST_A, HOST_B = "E06000002", "E06000003", "E06000004", "E06000001"
MARCH = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)

# (number, child, looked after, host LA, classification, risk grade, hours missing (None: not back), task)
# task: C+ on time | C- late | S superseded | D declined in time | D- declined late | NO:<code> | NP
# | open | open! breached | O+! offered in time, breached | - none
IN_SCOPE: list[tuple[int, str, bool, str | None, str | None, str, float | None, str]] = [
    (1, "A", True, HOST_A, "missing", "high", 10, "C+"),
    (2, "A", True, HOST_A, "missing", "high", 30, "C-"),
    (3, "A", True, HOST_A, "missing", "high", 5, "S"),
    (4, "B", True, None, "missing", "medium", 60, "D"),
    (5, "B", True, None, "missing", "medium", 200, "NO:recent_interview_covers"),
    (6, "C", False, None, "absent", "no_apparent_risk", 3, "C+"),
    (7, "C", False, None, "absent", "absent", 20, "NO:other"),
    (8, "D", False, None, "missing", "low", 100, "NP"),
    (9, "E", False, None, None, "medium", None, "-"),
    (10, "F", True, HOST_A, "missing", "high", 48, "open"),  # reported 31 March 23:30 BST, back after the period
    (11, "G", False, LA, "missing", "medium", 12, "C+"),  # host = responsible: in area
    *[(n, f"H{n}", False, None, "missing", "medium", 2, "C+") for n in range(12, 22)],
    *[(n, f"I{n}", False, None, "absent", "no_apparent_risk", 8, "open!") for n in range(22, 27)],
    (27, "J", True, None, "missing", "low", 30, "S"),
    (28, "J", True, None, "missing", "low", 30, "S"),
    (29, "J", True, None, "missing", "low", 30, "S"),
    (30, "J", True, None, "missing", "low", 30, "O+!"),
    (31, "K", False, HOST_B, "missing", "high", 50, "C-late-offer"),
    (32, "L", False, None, "missing", "medium", 170, "D-"),
    (33, "M", True, HOST_B, "missing", "high", 24, "C+"),
    (34, "N", False, None, "absent", "low", 48, "-"),
]


def reported_at(n: int) -> datetime:
    """Spread over early March; #10 sits at the very end and #12 at the very start of the period."""
    if n == 10:
        return datetime(2026, 3, 31, 22, 30, tzinfo=UTC)  # 23:30 BST: inside
    if n == 12:
        return datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    return MARCH + n * 6 * H


def task_for(n: int, code: str, back: datetime) -> Task | None:
    """The task row a code stands for."""
    if code == "-":
        return None
    status, offered, completed, breached, outcome = "open", None, None, False, None
    if code == "C+":
        status, offered, completed = "completed", back + 20 * H, back + 40 * H
    elif code == "C-":
        status, offered, completed, breached = "completed", back + 50 * H, back + 80 * H, True
    elif code == "C-late-offer":
        status, offered, completed, breached = "completed", back + 80 * H, back + 90 * H, True
    elif code == "S":
        status = "superseded"
    elif code == "D":
        status, offered = "declined", back + 30 * H
    elif code == "D-":
        status, offered, breached = "declined", back + 75 * H, True
    elif code.startswith("NO:"):
        status, outcome = "not_offered", {"decided_by": "TM", "reason_code": code[3:]}
    elif code == "NP":
        status = "not_possible"
    elif code == "open!":
        breached = True
    elif code == "O+!":
        status, offered, breached = "offered", back + 10 * H, True
    return Task(
        id=f"t{n}",
        episode_id=f"e{n}",
        responsible_la=LA,
        status=status,
        version=2,
        returned_at=back,
        due_at=back + DUE,
        opened_at=back,
        updated_at=back,
        offered_at=offered,
        completed_at=completed,
        on_time=None if completed is None else completed <= back + DUE,
        outcome=outcome,
        breached_at=back + DUE if breached else None,
        reminders_sent=0,
        escalations_sent=0,
    )


def episode(n: int, child: str, la: str, at: datetime, **extra: Any) -> TrackedEpisode:
    """An episode row."""
    host = extra.pop("host_la", None)
    looked_after = extra.pop("looked_after", False)
    record = {"given_name": "Child", "family_name": child, "date_of_birth": "2011-01-01", "responsible_la": la}
    return TrackedEpisode(
        episode_id=f"e{n}",
        force="cleveland",
        police_reference=f"R{n}",
        episode_version=1,
        responsible_la=la,
        host_la=host,
        looked_after=looked_after,
        child_id=child,
        child={**record, "host_la": host, "looked_after": looked_after},
        reported_at=at,
        **extra,
    )


async def seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The forty episodes: 34 in scope, 6 out of it."""
    async with sessions() as session, session.begin():
        for n, child, lac, host, cls, grade, hours, code in IN_SCOPE:
            at = reported_at(n)
            back = at + hours * H if hours is not None else None
            session.add(
                episode(
                    n,
                    child,
                    LA,
                    at,
                    host_la=host,
                    looked_after=lac,
                    classification=cls,
                    risk_grade=grade,
                    returned_at=back,
                )
            )
            if back is not None and (task := task_for(n, code, back)) is not None:
                session.add(task)
        out = [
            episode(35, "X1", LA, datetime(2026, 2, 28, 23, 30, tzinfo=UTC)),  # February
            episode(36, "X2", LA, datetime(2026, 3, 31, 23, 30, tzinfo=UTC)),  # 1 April 00:30 BST
            episode(37, "X3", OTHER, MARCH, classification="missing", risk_grade="high"),
            episode(38, "X4", OTHER, MARCH, classification="absent", risk_grade="low"),
            episode(39, "X5", LA, MARCH, cancelled_at=MARCH + H),
            episode(40, "X6", LA, MARCH, cancelled_at=MARCH + H, returned_at=MARCH),
        ]
        session.add_all(out)


# Counted by hand from IN_SCOPE: (incidents, children) for every measure of the "all" split.
ALL: dict[str, tuple[int, int]] = {
    "missing": (25, 19),
    "absent": (8, 7),
    "unclassified": (1, 1),
    "risk_grade.no_apparent_risk": (7, 6),
    "risk_grade.low": (6, 3),
    "risk_grade.medium": (15, 14),
    "risk_grade.high": (6, 4),
    "duration.up_to_24h": (21, 19),
    "duration.24h_to_48h": (6, 3),
    "duration.48h_to_7d": (3, 3),
    "duration.over_7d": (2, 2),
    "still_missing_at_period_end": (2, 2),
    "rhi.opened": (32, 25),
    "rhi.offered": (19, 18),
    "rhi.offered_within_72h": (17, 16),
    "rhi.completed": (16, 15),
    "rhi.completed_within_72h": (14, 14),
    "rhi.declined": (2, 2),
    "rhi.not_offered": (2, 2),
    "rhi.not_offered.recent_interview_covers": (1, 1),
    "rhi.not_offered.professional_already_working": (0, 0),
    "rhi.not_offered.whereabouts_known_throughout": (0, 0),
    "rhi.not_offered.child_moved_away": (0, 0),
    "rhi.not_offered.child_in_custody": (0, 0),
    "rhi.not_offered.other": (1, 1),
    "rhi.not_possible": (1, 1),
    "rhi.superseded": (4, 2),
    "rhi.outstanding": (7, 7),
    "rhi.breached": (9, 9),
}
TOTALS = {  # split: (incidents, children)
    "all": (34, 27),
    "looked_after": (11, 5),
    "not_looked_after": (23, 22),
    "in_area": (28, 23),
    "out_of_area": (6, 4),
}
SOME = {  # (split, measure): (incidents, children, % of incidents, % of children)
    ("all", "rhi.completed_within_72h"): (14, 14, 41.2, 51.9),
    ("all", "rhi.completed"): (16, 15, 47.1, 55.6),
    ("all", "missing"): (25, 19, 73.5, 70.4),
    ("looked_after", "rhi.completed_within_72h"): (2, 2, 18.2, 40.0),
    ("looked_after", "rhi.superseded"): (4, 2, 36.4, 40.0),
    ("not_looked_after", "rhi.completed_within_72h"): (12, 12, 52.2, 54.5),
    ("out_of_area", "rhi.completed"): (4, 3, 66.7, 75.0),
    ("out_of_area", "rhi.completed_within_72h"): (2, 2, 33.3, 50.0),
    ("out_of_area", "still_missing_at_period_end"): (1, 1, 16.7, 25.0),
    ("in_area", "rhi.completed_within_72h"): (12, 12, 42.9, 52.2),
    ("in_area", "rhi.breached"): (7, 7, 25.0, 30.4),
}
PERIOD = {"from": "2026-03-01", "to": "2026-03-31"}


@pytest.fixture
async def api(db_url: str, sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Api]:
    """The API on a database holding the forty episodes."""
    async with running_api(db_url, sessions) as running:
        await seed(sessions)
        yield running


async def test_the_report_matches_the_figures_counted_by_hand(api: Api) -> None:
    response = await api.get("/v1/rhi/reports", **PERIOD)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["starts_at"], report["ends_at"]) == ("2026-03-01T00:00:00Z", "2026-03-31T23:00:00Z")
    [mine] = report["authorities"]
    assert (mine["la"], mine["name"]) == (LA, "Middlesbrough")
    splits = mine["splits"]
    assert {s: (f["incidents"], f["children"]) for s, f in splits.items()} == TOTALS
    assert {m: (v["incidents"], v["children"]) for m, v in splits["all"]["measures"].items()} == ALL
    for (split, measure), expected in SOME.items():
        m = splits[split]["measures"][measure]
        assert (m["incidents"], m["children"], m["pct_of_incidents"], m["pct_of_children"]) == expected, (
            split,
            measure,
        )
    assert set(report["definitions"]) >= set(ALL) | {"incidents", "children", "out_of_area"}


def parse_csv(text: str) -> dict[tuple[str, str, str], tuple[int, int, float | None, float | None]]:
    """CSV rows keyed by (la, split, measure)."""
    rows = list(csv.DictReader(io.StringIO(text)))
    assert all(r["period_start"] == "2026-03-01" and r["period_end"] == "2026-03-31" for r in rows)

    def pct(value: str) -> float | None:
        return float(value) if value else None

    return {
        (r["la"], r["split"], r["measure"]): (
            int(r["incidents"]),
            int(r["children"]),
            pct(r["pct_of_incidents"]),
            pct(r["pct_of_children"]),
        )
        for r in rows
    }


def flatten(report: dict[str, Any]) -> dict[tuple[str, str, str], tuple[int, int, float | None, float | None]]:
    """The JSON report in the CSV's shape."""
    flat = {}
    for authority in report["authorities"]:
        for split, figs in authority["splits"].items():
            flat[(authority["la"], split, "total")] = (figs["incidents"], figs["children"], None, None)
            for name, m in figs["measures"].items():
                flat[(authority["la"], split, name)] = (
                    m["incidents"],
                    m["children"],
                    m["pct_of_incidents"],
                    m["pct_of_children"],
                )
    return flat


async def test_csv_and_json_carry_the_same_figures_for_the_partnership(api: Api) -> None:
    as_json = (await api.get("/v1/rhi/reports", who="ops", **PERIOD)).json()
    as_csv = await api.get("/v1/rhi/reports", who="ops", format="csv", **PERIOD)
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert (
        as_csv.text.splitlines()[0]
        == "la,la_name,period_start,period_end,split,measure,incidents,children,pct_of_incidents,pct_of_children"
    )
    assert [a["la"] for a in as_json["authorities"]] == ["E06000001", "E06000002", "E06000003", "E06000004"]
    assert parse_csv(as_csv.text) == flatten(as_json)
    other = next(a for a in as_json["authorities"] if a["la"] == OTHER)["splits"]["all"]
    assert (
        other["incidents"],
        other["measures"]["missing"]["incidents"],
        other["measures"]["absent"]["incidents"],
    ) == (2, 1, 1)
    mine = next(a for a in as_json["authorities"] if a["la"] == LA)["splits"]["all"]
    assert mine["measures"]["rhi.completed_within_72h"]["incidents"] == 14, "ops sees the same figures"


async def test_who_may_see_which_authoritys_report(api: Api) -> None:
    assert (await api.get("/v1/rhi/reports", la=OTHER, **PERIOD)).status_code == 404
    assert (await api.get("/v1/rhi/reports", who="other_ops", la=LA, **PERIOD)).status_code == 404
    ops_one = (await api.get("/v1/rhi/reports", who="ops", la=OTHER, **PERIOD)).json()
    assert [a["la"] for a in ops_one["authorities"]] == [OTHER]
    durham = (await api.get("/v1/rhi/reports", who="other_ops", **PERIOD)).json()
    assert [a["la"] for a in durham["authorities"]] == ["E06000005", "E06000047"]
    backwards = await api.get("/v1/rhi/reports", **{"from": "2026-03-31", "to": "2026-03-01"})
    assert backwards.status_code == 422
    assert backwards.json()["errors"][0]["pointer"] == "/to"
