"""Composition root of the RHI tracker: policy, consumer, deadline sweep, routes."""

from __future__ import annotations

from fastapi import FastAPI

from services.rhi_tracker import SERVICE
from services.rhi_tracker.config import RhiSettings
from services.rhi_tracker.handlers import handlers
from services.rhi_tracker.routes import router
from services.rhi_tracker.sweep import deadline_sweep
from shared.clock import Clock, make_clock
from shared.events.registry import Topic
from shared.policy import load_policy
from shared.runtime import Consumes, Runtime

DESCRIPTION = """Return home interviews: every returned child's interview task with its statutory deadline.

Social care (role `social_care`, tenant = local-authority code) reads its worklist and records an
offer, the interview with structured findings, a decline, not possible or not offered; every change
must name the version it was made against (`If-Match` with the task's ETag, or `expected_version`).
Reports (`social_care`: own authority; `ops`: the partnership's) come as JSON or CSV; the SLA view
(`ops`) shows deadlines per authority without child details. Errors are `application/problem+json`.
"""


def build(settings: RhiSettings, clock: Clock | None = None) -> FastAPI:
    """Wire the tracker: consumes episodes and classifications, sweeps deadlines, emits rhi events."""
    clock = clock or make_clock(settings.clock_file)
    policy = load_policy(settings.policy_file)
    table = handlers(clock=clock, deadline=settings.rhi_deadline, policy=policy.rhi)
    consumes = Consumes(topics=[Topic.EPISODES, Topic.CLASSIFICATIONS], handlers=table)
    runtime = Runtime(service=SERVICE, settings=settings, clock=clock, consumes=consumes)
    runtime.add_sweep(
        deadline_sweep(
            policy=policy.rhi, clock=clock, every=settings.rhi_sweep_interval, batch=settings.rhi_sweep_batch
        )
    )
    app = runtime.create_app(title="Missing children: RHI tracker", description=DESCRIPTION, routers=[router])
    app.state.policy = policy
    return app
