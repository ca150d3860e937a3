"""Composition root of the classifier."""

from __future__ import annotations

from fastapi import FastAPI

from services.classifier import SERVICE, sweeps
from services.classifier.config import ClassifierSettings
from services.classifier.context import Context
from services.classifier.handlers import handlers, prefetch
from services.classifier.routes import router
from shared.clock import Clock, make_clock
from shared.events.registry import Topic
from shared.policy import load_policy
from shared.runtime import Consumes, Runtime

DESCRIPTION = """Missing or absent, child identity, repeat missing and the MSET list.

Every request needs `Authorization: Bearer <key>` of role `mset`; the tenant is a partnership, and a
key sees only children whose responsible or host local authority belongs to it (anyone else's is a
404). Errors are `application/problem+json` (RFC 9457).
"""


def build(settings: ClassifierSettings, clock: Clock | None = None) -> FastAPI:
    """Wire the classifier: consumes episodes, interview tasks and notifications; emits classifications."""
    clock = clock or make_clock(settings.clock_file)
    ctx = Context(policy=load_policy(settings.policy_file), clock=clock)
    # Handlers read through a per-transaction Store that writes at commit: prefetch a batch, no autoflush.
    consumes = Consumes(
        topics=[Topic.EPISODES, Topic.RHI, Topic.NOTIFICATIONS],
        handlers=handlers(ctx),
        prefetch=prefetch,
        autoflush=False,
    )
    runtime = Runtime(service=SERVICE, settings=settings, clock=clock, consumes=consumes)
    runtime.add_sweep(sweeps.still_open(ctx, settings.classifier_sweep_interval))
    runtime.add_sweep(sweeps.review(ctx, settings.classifier_sweep_interval))
    app = runtime.create_app(title="Missing children: classifier", description=DESCRIPTION, routers=[router])
    app.state.classifier = ctx
    return app
