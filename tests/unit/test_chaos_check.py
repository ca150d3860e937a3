"""The chaos checker fails when an invariant is broken, and the fault plan is what the run promises."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from devstack.chaos_check import breach_verdict, delivered, one_task_per_return, one_webhook_id, stored
from devstack.chaos_drive import Driven
from devstack.chaos_faults import BROKER, plan_faults
from devstack.stack import SERVICES
from services.intake.models import Episode
from services.notifier.models import Delivery
from services.rhi_tracker.models import Task

NOW = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


def episode(episode_id: str, returned: bool = True) -> Episode:
    return Episode(
        id=episode_id, force="cleveland", police_reference=f"R-{episode_id}", returned_at=NOW if returned else None
    )


def task(task_id: str, status: str = "open", due_in: timedelta = -timedelta(hours=1), **kw: Any) -> Task:
    return Task(id=task_id, episode_id=f"ep-{task_id}", status=status, due_at=NOW + due_in, **kw)


def delivery(delivery_id: str, channel: str = "webhook", status: str = "delivered") -> Delivery:
    return Delivery(
        id=delivery_id, event_id="ev", event_type="rhi.opened", recipient_id="r", channel=channel, status=status
    )


def hook(webhook_id: str, body: str = "{}", recipient: str = "r", status: int = 204) -> dict[str, Any]:
    return {"recipient_id": recipient, "webhook_id": webhook_id, "raw_body": body, "status": status, "duplicate": False}


def test_an_accepted_episode_missing_from_the_table_fails() -> None:
    driven = Driven(reports={("cleveland", "R-a"): "a", ("cleveland", "R-b"): "b"})
    inv = stored(driven, {"a": episode("a")})
    assert (inv.checked, inv.failed, inv.examples) == (2, 1, ["b"])


def test_a_return_without_a_task_fails_and_one_with_a_task_holds() -> None:
    episodes = {"ep-1": episode("ep-1"), "ep-2": episode("ep-2"), "ep-3": episode("ep-3", returned=False)}
    inv = one_task_per_return(episodes, [task("1")])
    assert (inv.checked, inv.failed) == (2, 1)
    assert inv.examples == ["ep-2: 0 tasks"]


def test_breaches_are_counted_against_what_was_due() -> None:
    breached = {"breached_at": NOW}
    tasks = [
        task("open-once", **breached),
        task("open-never"),
        task("open-twice", **breached),
        task("not-due", due_in=timedelta(hours=1)),
        task("superseded-early", status="superseded", closed_at=NOW - timedelta(hours=2)),
        task("superseded-late", status="superseded", closed_at=NOW),
    ]
    breaches = Counter({"open-once": 1, "open-twice": 2})
    inv = breach_verdict(tasks, breaches, NOW)
    assert inv.failed == 2
    assert [e.split()[1] for e in inv.examples] == ["open-never", "open-twice"]
    assert not breach_verdict([task("not-due", due_in=timedelta(hours=1))], Counter({"not-due": 1}), NOW).held


def test_a_delivery_the_sink_never_got_or_not_delivered_fails() -> None:
    rows = [delivery("a"), delivery("b"), delivery("c", status="pending"), delivery("d", channel="email")]
    mails = [{"message_id": "<d@notifier.mcn>"}]
    inv = delivered(rows, [hook("a"), hook("b", status=500)], mails)
    assert (inv.checked, inv.failed) == (4, 2)
    assert [e.split()[0] for e in inv.examples] == ["b", "c"]


def test_one_notice_under_two_webhook_ids_or_an_unknown_id_fails() -> None:
    rows = [delivery("a"), delivery("b")]
    assert one_webhook_id(rows, [hook("a", "x"), hook("a", "x"), hook("b", "y")]).held
    assert one_webhook_id(rows, [hook("a", "x"), hook("b", "x")]).failed == 1
    assert one_webhook_id(rows, [hook("zzz", "x")]).failed == 1


def test_the_fault_plan_kills_the_broker_a_fifth_of_the_time_and_every_service() -> None:
    plan = plan_faults(24, seed=3)
    targets = Counter(f.target for f in plan)
    assert len(plan) == 24
    assert targets[BROKER] >= 3
    assert set(SERVICES) <= set(targets)
    assert [f.at for f in plan] == sorted(f.at for f in plan)
    assert all(0 < f.at < 1 for f in plan)
    assert plan == plan_faults(24, seed=3)
    assert [f.target for f in plan_faults(3, seed=1)].count(BROKER) == 1
