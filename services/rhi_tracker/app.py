"""Composition root of the RHI tracker."""

from __future__ import annotations

from fastapi import FastAPI

from services.rhi_tracker import SERVICE
from services.rhi_tracker.config import RhiSettings
from services.rhi_tracker.handlers import handlers
from shared.clock import Clock, make_clock
from shared.events.registry import Topic
from shared.runtime import Consumes, Runtime


def build(settings: RhiSettings, clock: Clock | None = None) -> FastAPI:
    """Wire the tracker: consumes episodes and classifications, emits rhi events."""
    clock = clock or make_clock(settings.clock_file)
    table = handlers(clock=clock, deadline=settings.rhi_deadline)
    consumes = Consumes(topics=[Topic.EPISODES, Topic.CLASSIFICATIONS], handlers=table)
    runtime = Runtime(service=SERVICE, settings=settings, clock=clock, consumes=consumes)
    return runtime.create_app(title="Missing children: RHI tracker", routers=[])
