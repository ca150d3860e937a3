"""E-mail over SMTP (aiosmtplib): plain text for people, the notice as a JSON attachment for systems.

The Message-ID is the delivery id, identical on every retry, so a mailbox can dedupe as a webhook
receiver does by webhook-id. The subject never names the child (subjects show in previews and logs).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Literal

import aiosmtplib

from services.notifier.channels import Delivered, Failed, Message, Outcome, RetryLater
from shared.clock import Clock
from shared.policy.notifications import EmailChannel

Security = Literal["none", "starttls", "tls"]
SUBJECTS = {
    "episode.classified": "A child known to you has been reported missing or absent",
    "episode.reclassified": "A missing episode has been reclassified",
    "child.repeat_missing": "A child has met a repeat-missing threshold",
    "rhi.opened": "New return home interview task",
    "rhi.reminder": "Return home interview reminder",
    "rhi.breached": "Return home interview not completed within 72 hours",
    "rhi.escalated": "Return home interview escalation",
    "rhi.completed": "Return home interview findings",
    "school.notice": "Safeguarding notice for your designated safeguarding lead",
    "digest": "Missing children digest",
    "delivery.dead": "A notice could not be delivered",
}


@dataclass(frozen=True)
class SmtpRelay:
    """The deployment's SMTP relay (MCN_SMTP_* settings)."""

    host: str
    port: int
    security: Security
    sender: str
    timeout: float
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None


Send = Callable[..., Awaitable[Any]]


def subject(body: dict[str, Any]) -> str:
    """A subject that says what kind of notice this is and nothing about the child."""
    return SUBJECTS.get(str(body.get("type")), f"Notification: {body.get('type')}")


def render_text(data: Any, indent: str = "") -> list[str]:
    """The notice's fields as readable lines."""
    lines: list[str] = []
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        label = str(key + 1) if isinstance(key, int) else str(key).replace("_", " ")
        if value and (isinstance(value, dict) or (isinstance(value, list) and isinstance(value[0], dict))):
            lines += [f"{indent}{label}:", *render_text(value, indent + "  ")]
        else:
            shown = ", ".join(map(str, value)) if isinstance(value, list) else ("-" if value is None else value)
            lines.append(f"{indent}{label}: {shown}")
    return lines


def compose(message: Message, to: list[str], relay: SmtpRelay, clock: Clock) -> EmailMessage:
    """The e-mail for one notice."""
    body = json.loads(message.body)
    email = EmailMessage()
    email["From"] = relay.sender
    email["To"] = ", ".join(to)
    email["Subject"] = subject(body)
    email["Message-ID"] = f"<{message.id}@notifier.mcn>"
    email["Date"] = format_datetime(clock.now())
    email["X-MCN-Notice-Type"] = str(body.get("type"))
    intro = f"Notice for {body.get('audience')} ({body.get('type')}, {body.get('timestamp')}):"
    email.set_content("\n".join([intro, "", *render_text(body.get("data") or {})]) + "\n")
    email.add_attachment(message.body.encode(), maintype="application", subtype="json", filename="notice.json")
    return email


class EmailSender:
    """Sends notices through the relay; a refused mailbox is permanent, anything else is retried."""

    def __init__(
        self, relay: SmtpRelay, addresses: Mapping[str, EmailChannel], clock: Clock, send: Send = aiosmtplib.send
    ) -> None:
        self._relay = relay
        self._addresses = addresses
        self._clock = clock
        self._send = send

    async def send(self, message: Message, recipient_id: str) -> Outcome:
        """Mail one notice to the recipient's addresses."""
        channel = self._addresses.get(recipient_id)
        if channel is None:
            return Failed(f"recipient {recipient_id} has no e-mail channel in the policy")
        r = self._relay
        try:
            await self._send(
                compose(message, channel.to, r, self._clock),
                hostname=r.host,
                port=r.port,
                use_tls=r.security == "tls",
                start_tls=r.security == "starttls",
                username=r.username,
                password=r.password,
                timeout=r.timeout,
                cert_bundle=str(r.ca_file) if r.ca_file else None,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return _refused([(e.code, e.message) for e in exc.recipients])
        except (aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPDataError) as exc:
            return _refused([(exc.code, exc.message)])
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return RetryLater(f"SMTP {type(exc).__name__}: {exc}"[:500])
        return Delivered(f"SMTP accepted for {len(channel.to)} address(es)")


def _refused(answers: list[tuple[int, str]]) -> Outcome:
    reason = "; ".join(f"SMTP {code} {text}" for code, text in answers)[:500]
    # 5xx is the server's final word; 4xx (mailbox busy, greylisting) may pass later.
    return Failed(reason) if answers and all(code >= 500 for code, _ in answers) else RetryLater(reason)
