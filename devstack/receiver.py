"""A local webhook receiver: verifies Standard Webhooks signatures and logs every delivery.

Secrets come from the policy file (recipient id -> webhook secrets). Each delivery is appended
to a JSON-lines log; GET /hooks lists them. POST /control/{recipient_id} makes the receiver
answer with a given status for the next N deliveries (to rehearse failures).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.policy import load_policy


@dataclass
class Fault:
    """Answer `status` for the next `remaining` deliveries to a recipient."""

    status: int
    remaining: int
    retry_after: str | None = None


@dataclass
class ReceiverState:
    """Secrets per recipient, the log file, and any faults being rehearsed."""

    secrets: dict[str, list[str]]
    log_path: Path
    quiet: bool = False
    faults: dict[str, Fault] = field(default_factory=dict)


def verify(secrets: list[str], body: bytes, headers: dict[str, str]) -> str | None:
    """Return None if any secret verifies the signature, else the reason it failed."""
    reason = "recipient has no secrets"
    for secret in secrets:
        try:
            Webhook(secret).verify(body, headers)
            return None
        except WebhookVerificationError as exc:
            reason = str(exc)
    return reason


def _record(state: ReceiverState, entry: dict[str, Any]) -> None:
    with state.log_path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")
    if not state.quiet:
        print(
            f"webhook {entry['status']} {entry['recipient_id']} id={entry['webhook_id']} "
            f"type={entry.get('type')} verified={entry['verified']}",
            flush=True,
        )


async def receive(request: Request) -> Response:
    """Verify, log and answer one delivery."""
    state: ReceiverState = request.app.state.receiver
    recipient_id = request.path_params["recipient_id"]
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    problem = verify(state.secrets.get(recipient_id, []), body, headers)
    fault = state.faults.get(recipient_id)
    status = 401 if problem else 204
    if problem is None and fault is not None and fault.remaining > 0:
        fault.remaining -= 1
        status = fault.status
    parsed = json.loads(body) if problem is None else None
    entry = {
        "received_at": datetime.now(UTC).isoformat(),
        "recipient_id": recipient_id,
        "webhook_id": headers.get("webhook-id"),
        "verified": problem is None,
        "problem": problem,
        "status": status,
        "type": parsed.get("type") if isinstance(parsed, dict) else None,
        "body": parsed,
        "raw_body": body.decode("utf-8", errors="replace"),
        "headers": {k: v for k, v in headers.items() if k.startswith("webhook-")},
    }
    _record(state, entry)
    extra = {"retry-after": fault.retry_after} if fault and fault.retry_after and status >= 400 else {}
    return Response(status_code=status, headers=extra)


async def listing(request: Request) -> JSONResponse:
    """Every delivery received so far, oldest first."""
    state: ReceiverState = request.app.state.receiver
    if not state.log_path.exists():
        return JSONResponse([])
    lines = state.log_path.read_text(encoding="utf-8").splitlines()
    return JSONResponse([json.loads(line) for line in lines if line])


async def control(request: Request) -> JSONResponse:
    """Set a fault: {"status": 500, "count": 3, "retry_after": "1"}; count 0 clears it."""
    state: ReceiverState = request.app.state.receiver
    spec = await request.json()
    recipient_id = request.path_params["recipient_id"]
    state.faults[recipient_id] = Fault(int(spec["status"]), int(spec["count"]), spec.get("retry_after"))
    return JSONResponse({"recipient_id": recipient_id, "status": spec["status"], "count": spec["count"]})


async def health(_request: Request) -> JSONResponse:
    """Alive."""
    return JSONResponse({"status": "ok"})


def create_app(policy_file: Path, log_path: Path, *, quiet: bool = False) -> Starlette:
    """Build the receiver for the recipients of a policy file."""
    policy = load_policy(policy_file)
    secrets = {r.id: [s for c in r.channels for s in c.secrets] for r in policy.notifications.recipients}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    app = Starlette(
        routes=[
            Route("/hooks/{recipient_id}", receive, methods=["POST"]),
            Route("/hooks", listing, methods=["GET"]),
            Route("/control/{recipient_id}", control, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )
    app.state.receiver = ReceiverState(secrets=secrets, log_path=log_path, quiet=quiet)
    return app


if __name__ == "__main__":
    import uvicorn

    app = create_app(Path(os.environ["MCN_POLICY_FILE"]), Path(os.environ["MCN_RECEIVER_LOG"]))
    uvicorn.run(
        app,
        host=os.environ.get("MCN_HTTP_HOST", "127.0.0.1"),
        port=int(os.environ.get("MCN_HTTP_PORT", "8010")),
        log_level="warning",
    )
