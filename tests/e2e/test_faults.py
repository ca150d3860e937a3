"""Faults on the running system: poison records on every consumed topic, and a broker kill seen by /ready.

(Story 9, the broker down while police post, is in test_scenarios.py.)
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from devstack.stack import SERVICES, Stack
from tests.e2e.support import Police, hooks_for, wait_for
from tests.support import produce, read_topic

pytestmark = [pytest.mark.e2e]

# Which services consume which topic, so how many dead letters one poison record makes.
CONSUMERS = {
    "episodes": ["classifier", "rhi_tracker", "notifier"],
    "classifications": ["intake", "rhi_tracker", "notifier"],
    "rhi": ["classifier", "intake", "notifier"],
    "notifications": ["classifier"],
}


def deliver_one(stack: Stack, police: Police, timeout: float = 10) -> str:
    """Report and return one episode and wait for its webhook; return the episode id."""
    episode_id = police.report().json()["id"]
    assert police.returned(episode_id).status_code == 202
    wait_for(lambda: hooks_for(stack, episode_id), timeout=timeout)
    return episode_id


def test_a_poison_record_on_each_consumed_topic_is_dead_lettered_and_consumers_go_on(stack: Stack) -> None:
    police = Police(stack)
    deliver_one(stack, police)  # every consumer has joined its group
    for topic in CONSUMERS:
        asyncio.run(produce(stack.broker.bootstrap, topic, b'{"this is": "not a CloudEvent"}', b"poison"))
    for topic, services in CONSUMERS.items():
        dead = asyncio.run(read_topic(stack.broker.bootstrap, topic + ".dlt", expected=len(services)))
        assert sorted(dict(r.headers)["dlt-service"].decode() for r in dead) == sorted(services)
        for record in dead:
            assert "invalid CloudEvent envelope" in dict(record.headers)["dlt-reason"].decode()
            assert record.value == b'{"this is": "not a CloudEvent"}'
    deliver_one(stack, police)


def ready(stack: Stack, service: str) -> bool:
    """Whether one service says it can work (database and broker reachable)."""
    try:
        return httpx.get(stack.url(service) + "/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_ready_fails_on_every_service_within_10_seconds_of_a_broker_kill_and_recovers(stack: Stack) -> None:
    wait_for(lambda: all(ready(stack, s) for s in SERVICES), timeout=30, interval=0.5)
    stack.broker.kill()
    killed = time.monotonic()
    try:
        wait_for(lambda: not any(ready(stack, s) for s in SERVICES), timeout=10, interval=0.25)
        assert time.monotonic() - killed <= 10
    finally:
        stack.broker.start()
    wait_for(lambda: all(ready(stack, s) for s in SERVICES), timeout=30, interval=0.5)
    deliver_one(stack, Police(stack), timeout=60)  # and the flow works again (every consumer rejoins first)
