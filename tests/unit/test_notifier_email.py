"""The e-mail channel: what a mail looks like, and how SMTP answers map to outcomes; the fallback channel."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest

from services.notifier.channels import Delivered, Failed, Fallback, Message, Outcome, RetryLater
from services.notifier.channels.email import EmailSender, SmtpRelay, compose, render_text, subject
from shared.clock import FrozenClock
from shared.policy.notifications import EmailChannel

CLOCK = FrozenClock(datetime(2026, 3, 9, 8, 0, tzinfo=UTC))
RELAY = SmtpRelay(host="smtp.example.org", port=587, security="starttls", sender="notices@mcn.example.org", timeout=5)
BODY = {
    "type": "school.notice",
    "audience": "school",
    "timestamp": "2026-03-09T08:00:00+00:00",
    "data": {
        "child": {"given_name": "Ella", "family_name": "Example", "date_of_birth": "2012-05-01"},
        "episodes": [{"police_reference": "CLE-7", "status": "returned", "returned_at": "2026-03-08T10:00:00+00:00"}],
        "la_contact": {"local_authority": "E06000003", "name": "Redcar and Cleveland", "contact": None},
    },
}
MESSAGE = Message(id="msg_0123", body=json.dumps(BODY))
DSL = EmailChannel(type="email", to=["dsl@hillside-academy.example.org", "deputy@hillside-academy.example.org"])


def test_compose() -> None:
    mail = compose(MESSAGE, DSL.to, RELAY, CLOCK)
    assert mail["Message-ID"] == "<msg_0123@notifier.mcn>", "the delivery id: the same on every retry"
    assert mail["To"] == "dsl@hillside-academy.example.org, deputy@hillside-academy.example.org"
    assert mail["From"] == "notices@mcn.example.org"
    assert mail["X-MCN-Notice-Type"] == "school.notice"
    assert "Ella" not in mail["Subject"]
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None
    content = text.get_content()
    assert "given name: Ella" in content
    assert "police reference: CLE-7" in content
    assert "contact: -" in content
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/json"
    assert json.loads(attachment.get_content()) == BODY


def test_subjects_never_name_the_child() -> None:
    assert subject(BODY) == "Safeguarding notice for your designated safeguarding lead"
    assert subject({"type": "something.new"}) == "Notification: something.new"


def test_render_text_lists() -> None:
    assert render_text({"codes": ["cse", "cce"], "empty": [], "n": None}) == ["codes: cse, cce", "empty: ", "n: -"]


class FakeSmtp:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.sent: list[tuple[EmailMessage, dict[str, Any]]] = []

    async def __call__(self, mail: EmailMessage, **kwargs: Any) -> None:
        self.sent.append((mail, kwargs))
        if self.error is not None:
            raise self.error


async def send(
    error: Exception | None = None, relay: SmtpRelay = RELAY, recipient: str = "dsl"
) -> tuple[Outcome, FakeSmtp]:
    smtp = FakeSmtp(error)
    outcome = await EmailSender(relay, {"dsl": DSL}, CLOCK, send=smtp).send(MESSAGE, recipient)
    return outcome, smtp


async def test_sent_through_the_relay() -> None:
    outcome, smtp = await send()
    assert outcome == Delivered("SMTP accepted for 2 address(es)")
    [(_, kwargs)] = smtp.sent
    assert kwargs | {"cert_bundle": None} == {
        "hostname": "smtp.example.org",
        "port": 587,
        "use_tls": False,
        "start_tls": True,
        "username": None,
        "password": None,
        "timeout": 5,
        "cert_bundle": None,
    }


async def test_implicit_tls_and_a_ca_bundle() -> None:
    relay = SmtpRelay(host="h", port=465, security="tls", sender="a@b.example", timeout=5, ca_file=Path("/ca.pem"))
    _, smtp = await send(relay=relay)
    [(_, kwargs)] = smtp.sent
    assert (kwargs["use_tls"], kwargs["start_tls"], kwargs["cert_bundle"]) == (True, False, "/ca.pem")


def refused(*codes: int) -> aiosmtplib.SMTPRecipientsRefused:
    return aiosmtplib.SMTPRecipientsRefused(
        [aiosmtplib.SMTPRecipientRefused(c, "no", f"r{c}@x.example") for c in codes]
    )


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (refused(550, 550), Failed),
        (refused(550, 451), RetryLater),
        (refused(452), RetryLater),
        (aiosmtplib.SMTPDataError(554, "rejected as spam"), Failed),
        (aiosmtplib.SMTPDataError(451, "try later"), RetryLater),
        (aiosmtplib.SMTPConnectError("refused"), RetryLater),
        (aiosmtplib.SMTPAuthenticationError(535, "bad credentials"), RetryLater),  # our relay's problem, not theirs
        (aiosmtplib.SMTPServerDisconnected("gone"), RetryLater),
        (TimeoutError(), RetryLater),
        (ConnectionRefusedError(), RetryLater),
    ],
)
async def test_smtp_answers_map_to_outcomes(error: Exception, kind: type) -> None:
    outcome, _ = await send(error)
    assert isinstance(outcome, kind)


async def test_unknown_recipient_fails_without_a_mail() -> None:
    outcome, smtp = await send(recipient="nobody")
    assert isinstance(outcome, Failed)
    assert smtp.sent == []


class Recording:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def send(self, message: Message, recipient_id: str) -> Outcome:
        self.calls.append(recipient_id)
        return Delivered("ok")


async def test_fallback_sends_through_the_recipients_fallback_type() -> None:
    hooks, mails = Recording(), Recording()
    fallback = Fallback(senders={"webhook": hooks, "email": mails}, kinds={"a": "email", "b": "webhook"})
    assert await fallback.send(MESSAGE, "a") == Delivered("ok")
    assert await fallback.send(MESSAGE, "b") == Delivered("ok")
    assert isinstance(await fallback.send(MESSAGE, "c"), Failed)
    assert (mails.calls, hooks.calls) == (["a"], ["b"])
