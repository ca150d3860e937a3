"""Composition root of intake: settings, clock, runtime, group commit, body limits, routes, read model."""

from __future__ import annotations

from fastapi import FastAPI

from services.intake import SERVICE, service
from services.intake.config import IntakeSettings
from services.intake.handlers import handlers
from services.intake.routes import router
from shared.clock import Clock, make_clock
from shared.events.registry import Topic
from shared.group_commit import GroupCommit
from shared.limits import BodyLimits
from shared.runtime import Consumes, Runtime

DESCRIPTION = """Police systems report missing children here: report, update, return, cancel, read back.

Every request needs `Authorization: Bearer <key>`; a key belongs to one force and sees only its
episodes. Errors are `application/problem+json` (RFC 9457) with a JSON pointer per field.
Bodies are JSON, at most 64 KiB (2 MiB for `/v1/episodes/batch`, at most 100 operations).
Changes are idempotent on `(force, police_reference)` and on an `Idempotency-Key` header.
"""


def build(settings: IntakeSettings, clock: Clock | None = None) -> FastAPI:
    """Wire the intake app; tests pass their own settings and clock."""
    clock = clock or make_clock(settings.clock_file)
    # The read model is not urgent: a longer fetch wait keeps an idle intake from polling every 10 ms.
    consumes = Consumes(topics=[Topic.CLASSIFICATIONS, Topic.RHI], handlers=handlers())
    runtime = Runtime(service=SERVICE, settings=settings, clock=clock, consumes=consumes)
    committer = GroupCommit(runtime.sessions, after_commit=runtime.after_commit, prefetch=service.prefetch_reports)
    runtime.add_closer(committer.close)
    app = runtime.create_app(title="Missing children: intake", description=DESCRIPTION, routers=[router])
    app.state.group_commit = committer
    app.add_middleware(
        BodyLimits,
        routes=lambda: app.router.routes,
        max_bytes=settings.max_body_bytes,
        per_path={"/v1/episodes/batch": settings.max_batch_body_bytes},
    )
    return app
