"""E-mail over TLS to a real aiosmtpd server: STARTTLS and implicit TLS, verified against the relay's CA file."""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from aiosmtpd.smtp import SMTP

from devstack.broker import free_port
from devstack.smtp import Mailbox, read_mails, start_smtp
from services.notifier.channels import Delivered, Message, RetryLater
from services.notifier.channels.email import EmailSender, Security, SmtpRelay
from shared.clock import SystemClock
from shared.policy.notifications import EmailChannel

BODY = json.dumps({"type": "rhi.opened", "audience": "social_care", "timestamp": "t", "data": {"task_id": "rhi-1"}})
TO = {"r": EmailChannel(type="email", to=["rhi@redcar.example.org"])}


@dataclass(frozen=True)
class Certs:
    """What the client trusts (a throwaway CA's file) and what the server presents (a certificate it issued)."""

    ca_file: Path
    server: ssl.SSLContext


@pytest.fixture
def certs(tmp_path: Path) -> Certs:
    """A CA made for the test (trustme) and its certificate for localhost; no system tools needed."""
    ca = trustme.CA()
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(server)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return Certs(ca_file, server)


async def send(port: int, security: Security, ca: Path | None) -> object:
    relay = SmtpRelay(
        host="localhost", port=port, security=security, sender="n@notifier.localhost", timeout=5, ca_file=ca
    )
    return await EmailSender(relay, TO, SystemClock()).send(Message(id="msg_tls", body=BODY), "r")


async def test_starttls(tmp_path: Path, certs: Certs) -> None:
    port, log = free_port(), tmp_path / "mails.jsonl"
    server = await start_smtp(Mailbox(log_path=log, quiet=True), "127.0.0.1", port, certs.server)
    try:
        assert await send(port, "starttls", certs.ca_file) == Delivered("SMTP accepted for 1 address(es)")
        untrusted = await send(port, "starttls", None)  # the system CAs do not know this certificate
        assert isinstance(untrusted, RetryLater)
    finally:
        server.close()
        await server.wait_closed()
    [mail] = read_mails(log)
    assert mail["notice"]["data"] == {"task_id": "rhi-1"}


async def test_implicit_tls(tmp_path: Path, certs: Certs) -> None:
    port, log = free_port(), tmp_path / "mails.jsonl"
    mailbox = Mailbox(log_path=log, quiet=True)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(mailbox), "127.0.0.1", port, ssl=certs.server)
    try:
        assert await send(port, "tls", certs.ca_file) == Delivered("SMTP accepted for 1 address(es)")
    finally:
        server.close()
        await server.wait_closed()
    assert [m["message_id"] for m in read_mails(log)] == ["<msg_tls@notifier.mcn>"]
