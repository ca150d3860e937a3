"""The baseline: a bare FastAPI app that validates the intake's report body and answers 202.

No auth, no database, no middleware: what one uvicorn worker costs to parse, validate and answer
the same request. Served exactly like the intake (shared/serve.py): one uvicorn worker with the
same options. Run as `python -m bench.bare PORT`.
"""

from __future__ import annotations

import sys
import uuid

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from services.intake.schemas import EpisodeReport

app = FastAPI(title="bench: bare endpoint")


@app.post("/v1/episodes", status_code=202)
async def report_episode(body: EpisodeReport) -> JSONResponse:
    """Validate the body and answer as the intake would, without storing anything."""
    return JSONResponse(
        {"id": str(uuid.uuid4()), "police_reference": body.police_reference, "status": "open", "version": 1},
        status_code=202,
    )


@app.get("/health")
async def health() -> dict[str, str]:
    """Liveness, as every service has."""
    return {"status": "ok"}


def main() -> None:
    """Serve on 127.0.0.1:PORT with the intake's uvicorn options."""
    port = int(sys.argv[1])
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        log_level="warning",
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
