"""E-mail over TLS to a real aiosmtpd server: STARTTLS and implicit TLS, verified against the relay's CA file."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP

from devstack.broker import free_port
from devstack.smtp import Mailbox, read_mails, start_smtp
from services.notifier.channels import Delivered, Message, RetryLater
from services.notifier.channels.email import EmailSender, Security, SmtpRelay
from shared.clock import SystemClock
from shared.policy.notifications import EmailChannel

BODY = json.dumps({"type": "rhi.opened", "audience": "social_care", "timestamp": "t", "data": {"task_id": "rhi-1"}})
TO = {"r": EmailChannel(type="email", to=["rhi@redcar.example.org"])}


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost (openssl is on every machine this project runs on)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


async def send(port: int, security: Security, ca: Path | None) -> object:
    relay = SmtpRelay(
        host="localhost", port=port, security=security, sender="n@notifier.localhost", timeout=5, ca_file=ca
    )
    return await EmailSender(relay, TO, SystemClock()).send(Message(id="msg_tls", body=BODY), "r")


async def test_starttls(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    port, log = free_port(), tmp_path / "mails.jsonl"
    server = await start_smtp(Mailbox(log_path=log, quiet=True), "127.0.0.1", port, server_context(cert, key))
    try:
        assert await send(port, "starttls", cert) == Delivered("SMTP accepted for 1 address(es)")
        untrusted = await send(port, "starttls", None)  # the system CAs do not know this certificate
        assert isinstance(untrusted, RetryLater)
    finally:
        server.close()
        await server.wait_closed()
    [mail] = read_mails(log)
    assert mail["notice"]["data"] == {"task_id": "rhi-1"}


async def test_implicit_tls(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    port, log = free_port(), tmp_path / "mails.jsonl"
    mailbox = Mailbox(log_path=log, quiet=True)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(mailbox), "127.0.0.1", port, ssl=server_context(cert, key))
    try:
        assert await send(port, "tls", cert) == Delivered("SMTP accepted for 1 address(es)")
    finally:
        server.close()
        await server.wait_closed()
    assert [m["message_id"] for m in read_mails(log)] == ["<msg_tls@notifier.mcn>"]
