"""The notifier's delivery guarantees end to end: a kill mid-send, and a receiver down past the retry budget.

Its own stack (tests/e2e/world.py) with short backoffs and a small retry budget, so its faults
rehearsed at the receiver never touch the stories' stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e import support
from tests.e2e.support import wait_for
from tests.e2e.world import Json, World, child, london, start_world

pytestmark = [pytest.mark.e2e]
STOCKTON = "E06000004"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A stack whose notifier retries fast and gives up after four attempts."""
    w = start_world(
        tmp_path_factory.mktemp("deliveries"),
        london("2026-03-16 09:00"),
        MCN_DELIVERY_BASE_BACKOFF="PT0.2S",
        MCN_DELIVERY_MAX_BACKOFF="PT1S",
        MCN_DELIVERY_MAX_ATTEMPTS="4",
        MCN_DELIVERY_LEASE="PT3S",
    )
    yield w
    w.stack.stop_all()


def hooks(world: World, recipient_id: str) -> list[Json]:
    """Every request the receiver logged for a recipient, repeats and refusals included."""
    return [h for h in support.hooks(world.stack) if h["recipient_id"] == recipient_id]


def control(world: World, recipient_id: str, **fault: Any) -> None:
    """Rehearse a fault at the receiver (status, count, delay)."""
    assert httpx.post(f"{world.stack.url('receiver')}/control/{recipient_id}", json=fault, timeout=5).status_code == 200


def opened(world: World, episode_id: str, status: str) -> list[Json]:
    """The episode's rhi.opened deliveries to Stockton's RHI provider in that status."""
    found = world.deliveries(episode_id)
    return [d for d in found if d["recipient_id"] == "stockton-rhi" and d["status"] == status]


def test_a_notifier_killed_mid_send_repeats_under_the_same_webhook_id_and_loses_nothing(world: World) -> None:
    control(world, "stockton-rhi", status=204, count=1, delay=6)
    episode = world.report(london("2026-03-16 10:00"), child("Noah", "Ashgrove", "2012-02-02", STOCKTON))
    world.returned(episode, london("2026-03-16 10:30"))
    in_flight = f"{world.stack.url('receiver')}/control/stockton-rhi"
    wait_for(lambda: httpx.get(in_flight, timeout=5).json()["in_flight"], 15)
    world.stack.kill("notifier")  # sent, not yet recorded
    world.stack.start("notifier")
    world.stack.wait_healthy("notifier")

    sent = wait_for(lambda: len(found := hooks(world, "stockton-rhi")) >= 2 and found, timeout=30)
    first, second = sent[-2:]
    assert first["webhook_id"] == second["webhook_id"], "the same webhook-id on the repeat"
    assert (first["duplicate"], second["duplicate"]) == (False, True), "the receiver dedupes by it"
    [delivery] = wait_for(lambda: opened(world, episode, "delivered"), 15)
    assert delivery["id"] == first["webhook_id"]


def test_a_receiver_down_past_the_budget_is_a_dead_letter_that_ops_replay_once(world: World) -> None:
    control(world, "stockton-rhi", status=503, count=1000)
    episode = world.report(london("2026-03-16 11:00"), child("Oscar", "Ashgrove", "2012-02-02", STOCKTON))
    world.returned(episode, london("2026-03-16 11:30"))
    [dead] = wait_for(lambda: opened(world, episode, "dead"), timeout=30)
    assert dead["attempts"] == 4
    [alert] = world.wait_notices("tees-ops", "delivery.dead", dead["id"])
    assert "Oscar" not in alert.raw

    control(world, "stockton-rhi", status=503, count=0)  # back up
    url = f"{world.stack.url()}/v1/deliveries/{dead['id']}/replay"
    replayed = httpx.post(url, json={"reason": "Stockton's endpoint is back"}, headers=world.ops.headers, timeout=5)
    assert replayed.status_code == 202, replayed.text
    wait_for(lambda: opened(world, episode, "delivered"), timeout=15)
    assert httpx.post(url, json={"reason": "again"}, headers=world.ops.headers, timeout=5).status_code == 409
    accepted = [h for h in hooks(world, "stockton-rhi") if h["webhook_id"] == dead["id"] and h["status"] < 300]
    assert len(accepted) == 1, "the replay delivered once"
