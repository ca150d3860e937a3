"""Composition root of the classifier."""

from __future__ import annotations

from fastapi import FastAPI

from services.classifier import SERVICE
from services.classifier.config import ClassifierSettings
from services.classifier.handlers import handlers
from shared.clock import Clock, make_clock
from shared.events.registry import Topic
from shared.runtime import Consumes, Runtime


def build(settings: ClassifierSettings, clock: Clock | None = None) -> FastAPI:
    """Wire the classifier: consumes episodes, emits classifications."""
    clock = clock or make_clock(settings.clock_file)
    consumes = Consumes(topics=[Topic.EPISODES], handlers=handlers(clock))
    runtime = Runtime(service=SERVICE, settings=settings, clock=clock, consumes=consumes)
    return runtime.create_app(title="Missing children: classifier", routers=[])
