"""Composition root of intake: settings, clock, runtime, routes."""

from __future__ import annotations

from fastapi import FastAPI

from services.intake import SERVICE
from services.intake.config import IntakeSettings
from services.intake.routes import router
from shared.clock import Clock, SystemClock
from shared.runtime import Runtime


def build(settings: IntakeSettings, clock: Clock | None = None) -> FastAPI:
    """Wire the intake app; tests pass their own settings and clock."""
    clock = clock or SystemClock()
    runtime = Runtime(service=SERVICE, settings=settings, clock=clock)
    return runtime.create_app(title="Missing children: intake", routers=[router])
