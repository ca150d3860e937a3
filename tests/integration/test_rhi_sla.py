"""The ops SLA view per authority of the partnership: open, due within 12 h, breached, oldest breach, lag."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.rhi_tracker.models import Task, TrackedEpisode
from tests.integration.test_rhi_api import Api, running_api
from tests.integration.test_rhi_handlers import T0

H = timedelta(hours=1)
S = timedelta(seconds=1)
NOW = T0 + 100 * H
# (task, la, status, due relative to now, breach lag: None = no breach recorded)
TASKS = [
    ("t1", "E06000002", "open", 6 * H, None),
    ("t2", "E06000002", "offered", 20 * H, None),
    ("t3", "E06000002", "open", -5 * H, 1.5 * S),
    ("t4", "E06000002", "offered", -30 * H, 0.5 * S),
    ("t5", "E06000002", "completed", -10 * H, 3 * S),
    ("t6", "E06000004", "open", 2 * H, None),
    ("t7", "E06000005", "open", -1 * H, 9 * S),
    ("t8", "E06000002", "open", 13 * H, None),
]


async def seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        for task_id, la, status, due_in, lag in TASKS:
            due = NOW + due_in
            back = due - 72 * H
            session.add(
                TrackedEpisode(
                    episode_id=f"e-{task_id}",
                    force="cleveland",
                    police_reference=f"R-{task_id}",
                    episode_version=1,
                    responsible_la=la,
                    looked_after=False,
                    child={
                        "given_name": "Zebedee",
                        "family_name": "Quux",
                        "date_of_birth": "2011-02-03",
                        "responsible_la": la,
                    },
                    reported_at=back - H,
                    returned_at=back,
                )
            )
            session.add(
                Task(
                    id=task_id,
                    episode_id=f"e-{task_id}",
                    responsible_la=la,
                    status=status,
                    version=1,
                    returned_at=back,
                    due_at=due,
                    opened_at=back,
                    updated_at=back,
                    breached_at=None if lag is None else due + lag,
                    reminders_sent=0,
                    escalations_sent=0,
                )
            )


@pytest.fixture
async def api(db_url: str, sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Api]:
    async with running_api(db_url, sessions) as running:
        await seed(sessions)
        running.tracker.clock.set(NOW)
        yield running


async def test_the_partnerships_deadlines_per_authority(api: Api) -> None:
    response = await api.get("/v1/rhi/sla", who="ops", lag_window_hours=48)
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["partnership"] == "tees"
    by_la = {a["la"]: a for a in view["authorities"]}
    assert list(by_la) == ["E06000001", "E06000002", "E06000003", "E06000004"]
    mine = by_la["E06000002"]
    assert (mine["name"], mine["open"], mine["offered"], mine["due_within_12h"], mine["breached"]) == (
        "Middlesbrough",
        5,
        2,
        1,
        2,
    )
    assert mine["oldest_breach"] == {
        "task_id": "t4",
        "episode_id": "e-t4",
        "due_at": (NOW - 30 * H).isoformat().replace("+00:00", "Z"),
        "overdue_hours": 30.0,
    }
    assert mine["sweeper_lag"] == {"breaches": 3, "p50_seconds": 1.5, "p99_seconds": 3.0, "max_seconds": 3.0}
    assert (by_la["E06000004"]["open"], by_la["E06000004"]["due_within_12h"]) == (1, 1)
    assert by_la["E06000001"] == {
        "la": "E06000001",
        "name": "Hartlepool",
        "open": 0,
        "offered": 0,
        "due_within_12h": 0,
        "breached": 0,
        "oldest_breach": None,
        "sweeper_lag": {"breaches": 0, "p50_seconds": None, "p99_seconds": None, "max_seconds": None},
    }
    assert view["sweeper_lag"]["breaches"] == 3, "Darlington's breach belongs to another partnership"
    for secret in ("Zebedee", "Quux", "2011-02-03"):
        assert secret not in response.text, "no child details in the ops view"


async def test_the_lag_window_limits_which_breaches_count(api: Api) -> None:
    view = (await api.get("/v1/rhi/sla", who="ops", lag_window_hours=6)).json()
    assert view["sweeper_lag"]["breaches"] == 1, "only t3's breach, five hours ago"
    other = (await api.get("/v1/rhi/sla", who="other_ops")).json()
    darlington = next(a for a in other["authorities"] if a["la"] == "E06000005")
    assert (darlington["breached"], darlington["sweeper_lag"]["max_seconds"]) == (1, 9.0)
