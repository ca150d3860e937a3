"""A local SMTP sink (aiosmtpd): accepts every mail and logs it, so people and tests can read the e-mail notices.

SMTP on MCN_SMTP_PORT; a small HTTP side on MCN_HTTP_PORT: GET /mails lists what arrived, GET /health,
POST /control {"code": 451, "count": 2} refuses the next N recipients with that SMTP code (to rehearse
failures). Each mail is appended to MCN_MAIL_LOG as one JSON line with its notice (the JSON attachment),
marked `duplicate` when its Message-ID was already accepted. Times come from MCN_CLOCK_FILE when set.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shared.clock import Clock, SystemClock, make_clock


@dataclass
class Refusal:
    """Refuse the next `remaining` recipients with SMTP `code`."""

    code: int
    remaining: int


@dataclass
class Mailbox:
    """Where mails are logged, the clock, any refusal being rehearsed and the Message-IDs accepted."""

    log_path: Path
    clock: Clock = field(default_factory=SystemClock)
    quiet: bool = False
    refusal: Refusal | None = None
    accepted: set[str] = field(default_factory=set)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        """Accept the recipient, unless a refusal is being rehearsed."""
        if self.refusal is not None and self.refusal.remaining > 0:
            self.refusal.remaining -= 1
            return f"{self.refusal.code} rehearsed refusal for {address}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        """Log the mail and accept it."""
        raw = envelope.original_content or envelope.content or b""
        entry = self.entry(raw if isinstance(raw, bytes) else raw.encode(), list(envelope.rcpt_tos))
        with self.log_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry, sort_keys=True) + "\n")
        if not self.quiet:
            print(f"mail to {', '.join(entry['to'])} type={entry['notice_type']} id={entry['message_id']}", flush=True)
        return "250 Message accepted for delivery"

    def entry(self, raw: bytes, to: list[str]) -> dict[str, Any]:
        """One logged mail: headers, the text part and the notice attached as JSON."""
        mail = message_from_bytes(raw, policy=email_policy.default)
        assert isinstance(mail, EmailMessage)
        message_id = str(mail.get("Message-ID", ""))
        duplicate = message_id in self.accepted
        self.accepted.add(message_id)
        text = mail.get_body(preferencelist=("plain",))
        notice = next(
            (
                json.loads(p.get_content())
                for p in mail.iter_attachments()
                if p.get_content_type() == "application/json"
            ),
            None,
        )
        return {
            "received_at": self.clock.now().isoformat(),
            "to": to,
            "from": str(mail.get("From", "")),
            "subject": str(mail.get("Subject", "")),
            "message_id": message_id,
            "duplicate": duplicate,
            "notice_type": str(mail.get("X-MCN-Notice-Type", "")),
            "text": text.get_content() if text is not None else "",
            "notice": notice,
        }


async def start_smtp(
    mailbox: Mailbox, host: str, port: int, tls_context: ssl.SSLContext | None = None
) -> asyncio.Server:
    """Serve SMTP on host:port in the running loop (STARTTLS offered when a TLS context is given)."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(mailbox, hostname="smtp-sink.localhost", tls_context=tls_context), host, port
    )


def read_mails(log_path: Path) -> list[dict[str, Any]]:
    """Every mail logged so far, oldest first."""
    if not log_path.exists():
        return []
    return [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines() if line]


def create_app(
    log_path: Path, smtp_port: int, *, host: str = "127.0.0.1", quiet: bool = False, clock: Clock | None = None
) -> Starlette:
    """The sink: SMTP on smtp_port for the life of the HTTP app."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    mailbox = Mailbox(log_path=log_path, clock=clock or SystemClock(), quiet=quiet)
    mailbox.accepted = {m["message_id"] for m in read_mails(log_path)}

    async def mails(_request: Request) -> JSONResponse:
        return JSONResponse(read_mails(log_path))

    async def control(request: Request) -> JSONResponse:
        spec = await request.json()
        mailbox.refusal = Refusal(int(spec["code"]), int(spec["count"]))
        return JSONResponse(spec)

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        server = await start_smtp(mailbox, host, smtp_port)
        try:
            yield
        finally:
            server.close()
            await server.wait_closed()

    routes = [Route("/mails", mails), Route("/control", control, methods=["POST"]), Route("/health", health)]
    return Starlette(routes=routes, lifespan=lifespan)


if __name__ == "__main__":
    import uvicorn

    clock_file = os.environ.get("MCN_CLOCK_FILE")
    app = create_app(
        Path(os.environ["MCN_MAIL_LOG"]),
        int(os.environ["MCN_SMTP_PORT"]),
        clock=make_clock(Path(clock_file) if clock_file else None),
    )
    uvicorn.run(
        app,
        host=os.environ.get("MCN_HTTP_HOST", "127.0.0.1"),
        port=int(os.environ.get("MCN_HTTP_PORT", "8011")),
        log_level="warning",
    )
