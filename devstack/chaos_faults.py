"""The chaos run's fault driver: SIGKILL a random service or the broker at random moments, then restart it."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from devstack.stack import SERVICES, Stack

BROKER = "broker"
BROKER_SHARE = 0.2  # of the faults, at least one


@dataclass(frozen=True)
class PlannedFault:
    """Kill `target` once `at` (a fraction) of the episodes have been driven, and keep it down `downtime` s."""

    at: float
    target: str
    downtime: float


@dataclass(frozen=True)
class Fault:
    """One fault as it happened: seconds from the start of the drive, episodes done by then, time to recover."""

    target: str
    killed_at_s: float
    episodes_done: int
    downtime_s: float
    recovered_s: float


def plan_faults(count: int, seed: int) -> list[PlannedFault]:
    """`count` faults in order: a fifth (at least one) broker kills, every service at least once if there is room."""
    rng = random.Random(seed)
    if count <= 0:
        return []
    brokers = max(1, round(count * BROKER_SHARE))
    targets = [BROKER] * brokers + list(SERVICES)[: max(0, count - brokers)]
    targets += [rng.choice(SERVICES) for _ in range(count - len(targets))]
    rng.shuffle(targets)
    moments = sorted(rng.uniform(0.03, 0.97) for _ in targets)
    return [
        PlannedFault(at, target, round(rng.uniform(0.2, 4.0), 2)) for at, target in zip(moments, targets, strict=True)
    ]


def inject(stack: Stack, fault: PlannedFault) -> float:
    """SIGKILL the target, wait its downtime, start it again; return seconds until it was back (healthy)."""
    if fault.target == BROKER:
        stack.broker.kill()
    else:
        stack.kill(fault.target)
    killed = time.monotonic()
    time.sleep(fault.downtime)
    if fault.target == BROKER:
        stack.broker.start()
    else:
        stack.start(fault.target)
        stack.wait_healthy(fault.target, timeout=120)
    return time.monotonic() - killed


async def run_faults(
    stack: Stack, planned: list[PlannedFault], total: int, done: Callable[[], int], started: float
) -> list[Fault]:
    """Inject each planned fault when its share of the episodes is done (or at once when the drive is over)."""
    faults = []
    for fault in planned:
        while done() < fault.at * total:
            await asyncio.sleep(0.05)
        killed_at, episodes = time.monotonic() - started, done()
        recovered = await asyncio.to_thread(inject, stack, fault)
        faults.append(Fault(fault.target, round(killed_at, 1), episodes, fault.downtime, round(recovered, 1)))
    return faults
