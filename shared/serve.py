"""Run a service's FastAPI app under uvicorn: the body of every `python -m services.<name>`."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from shared.config import ServiceSettings
from shared.logging import configure_logging


def serve(app: FastAPI, settings: ServiceSettings, *, service: str) -> None:
    """Serve until SIGINT/SIGTERM, then let the lifespan shut the background parts down."""
    configure_logging(settings.log_level, service=service)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run()
