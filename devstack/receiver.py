"""A local webhook receiver: verifies Standard Webhooks signatures and logs every delivery.

Secrets come from the policy file (recipient id -> the secrets of its webhook channels, fallback
included). The signature's timestamp is checked against the same clock as the services
(MCN_CLOCK_FILE, when set), so test time works. Each delivery is appended to a JSON-lines log,
marked `duplicate` when its webhook-id was already accepted (how a recipient dedupes); GET /hooks
lists them. POST /control/{recipient_id} makes the receiver answer with a given status for the
next N deliveries, optionally after a delay (to rehearse failures and a sender that dies mid-send).
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.clock import Clock, SystemClock, make_clock
from shared.policy import load_policy
from shared.policy.notifications import WebhookChannel

TOLERANCE = timedelta(minutes=5)
# A replay that compresses time (bench/national_year.py) widens it: minutes of wall time are months there.
TOLERANCE_ENV = "MCN_RECEIVER_TOLERANCE_S"


@dataclass
class Fault:
    """Answer `status` for the next `remaining` deliveries to a recipient, after `delay` seconds."""

    status: int
    remaining: int
    retry_after: str | None = None
    delay: float = 0.0


@dataclass
class ReceiverState:
    """Secrets per recipient, the log file, the clock, faults being rehearsed and the ids accepted."""

    secrets: dict[str, list[str]]
    log_path: Path
    clock: Clock = field(default_factory=SystemClock)
    quiet: bool = False
    faults: dict[str, Fault] = field(default_factory=dict)
    accepted: set[str] = field(default_factory=set)
    in_flight: dict[str, int] = field(default_factory=dict)  # requests held by a delayed fault, per recipient
    tolerance: timedelta = TOLERANCE


def verify(
    secrets: list[str],
    body: bytes,
    headers: dict[str, str],
    clock: Clock | None = None,
    tolerance: timedelta = TOLERANCE,
) -> str | None:
    """Return None if any secret verifies the signature within `tolerance` (5 minutes) of the clock, else why not."""
    msg_id, stamp, signatures = (headers.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and stamp and signatures and secrets):
        return "missing webhook headers" if secrets else "recipient has no secrets"
    try:
        sent = datetime.fromtimestamp(int(stamp), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return "invalid webhook-timestamp"
    now = (clock or SystemClock()).now()
    if not now - tolerance <= sent <= now + tolerance:
        return "message timestamp too old" if sent < now else "message timestamp too new"
    offered = [s.partition(",")[2] for s in signatures.split(" ") if s.startswith("v1,")]
    for secret in secrets:
        expected = Webhook(secret).sign(msg_id, sent, body.decode()).partition(",")[2]
        if any(hmac.compare_digest(base64.b64decode(expected), _b64(o)) for o in offered):
            return None
    return "no matching signature"


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode(value)
    except ValueError:
        return b""


def _record(state: ReceiverState, entry: dict[str, Any]) -> None:
    with state.log_path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")
    if not state.quiet:
        print(
            f"webhook {entry['status']} {entry['recipient_id']} id={entry['webhook_id']} "
            f"type={entry.get('type')} verified={entry['verified']}" + (" duplicate" if entry["duplicate"] else ""),
            flush=True,
        )


async def receive(request: Request) -> Response:
    """Verify, log and answer one delivery."""
    state: ReceiverState = request.app.state.receiver
    recipient_id = request.path_params["recipient_id"]
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    problem = verify(state.secrets.get(recipient_id, []), body, headers, state.clock, state.tolerance)
    fault = state.faults.get(recipient_id)
    status = 401 if problem else 204
    if problem is None and fault is not None and fault.remaining > 0:
        fault.remaining -= 1
        status = fault.status
        state.in_flight[recipient_id] = state.in_flight.get(recipient_id, 0) + 1
        try:
            await asyncio.sleep(fault.delay)
        finally:
            state.in_flight[recipient_id] -= 1
    webhook_id = headers.get("webhook-id")
    duplicate = status < 300 and webhook_id in state.accepted
    if status < 300 and webhook_id:
        state.accepted.add(webhook_id)
    parsed = json.loads(body) if problem is None else None
    entry = {
        "received_at": state.clock.now().isoformat(),
        "received_unix": time.time(),  # wall time, for latency when received_at is simulation time
        "recipient_id": recipient_id,
        "webhook_id": webhook_id,
        "verified": problem is None,
        "problem": problem,
        "status": status,
        "duplicate": duplicate,
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
    """POST sets a fault: {"status": 500, "count": 3, "retry_after": "1", "delay": 0}; count 0 clears it.
    GET says how many requests a delayed fault is holding."""
    state: ReceiverState = request.app.state.receiver
    recipient_id = request.path_params["recipient_id"]
    if request.method == "GET":
        return JSONResponse({"recipient_id": recipient_id, "in_flight": state.in_flight.get(recipient_id, 0)})
    spec = await request.json()
    fault = Fault(int(spec["status"]), int(spec["count"]), spec.get("retry_after"), float(spec.get("delay", 0)))
    state.faults[recipient_id] = fault
    return JSONResponse({"recipient_id": recipient_id, "status": spec["status"], "count": spec["count"]})


async def health(_request: Request) -> JSONResponse:
    """Alive."""
    return JSONResponse({"status": "ok"})


def webhook_secrets(policy_file: Path) -> dict[str, list[str]]:
    """Recipient id -> the secrets of its webhook channels (fallback included)."""
    policy = load_policy(policy_file)
    found: dict[str, list[str]] = {}
    for r in policy.notifications.recipients:
        for c in [*r.channels, *([r.fallback] if r.fallback else [])]:
            if isinstance(c, WebhookChannel):
                found.setdefault(r.id, []).extend(c.secrets)
    return found


def _already_accepted(log_path: Path) -> set[str]:
    if not log_path.exists():
        return set()
    entries = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines() if line]
    return {e["webhook_id"] for e in entries if e.get("status", 500) < 300 and e.get("webhook_id")}


def create_app(
    policy_file: Path,
    log_path: Path,
    *,
    quiet: bool = False,
    clock: Clock | None = None,
    tolerance: timedelta = TOLERANCE,
) -> Starlette:
    """Build the receiver for the recipients of a policy file."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    app = Starlette(
        routes=[
            Route("/hooks/{recipient_id}", receive, methods=["POST"]),
            Route("/hooks", listing, methods=["GET"]),
            Route("/control/{recipient_id}", control, methods=["GET", "POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )
    app.state.receiver = ReceiverState(
        secrets=webhook_secrets(policy_file),
        log_path=log_path,
        clock=clock or SystemClock(),
        quiet=quiet,
        accepted=_already_accepted(log_path),
        tolerance=tolerance,
    )
    return app


if __name__ == "__main__":
    import uvicorn

    clock_file = os.environ.get("MCN_CLOCK_FILE")
    app = create_app(
        Path(os.environ["MCN_POLICY_FILE"]),
        Path(os.environ["MCN_RECEIVER_LOG"]),
        clock=make_clock(Path(clock_file) if clock_file else None),
        tolerance=timedelta(seconds=float(os.environ.get(TOLERANCE_ENV, TOLERANCE.total_seconds()))),
    )
    uvicorn.run(
        app,
        host=os.environ.get("MCN_HTTP_HOST", "127.0.0.1"),
        port=int(os.environ.get("MCN_HTTP_PORT", "8010")),
        log_level="warning",
    )
