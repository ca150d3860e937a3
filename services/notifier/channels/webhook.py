"""Standard Webhooks sender: webhook-id, webhook-timestamp, webhook-signature (HMAC-SHA256)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from standardwebhooks.webhooks import Webhook

from services.notifier.channels import Delivered, Failed, Message, Outcome, RetryLater
from shared.clock import Clock, ensure_utc
from shared.policy.notifications import WebhookChannel

# A recipient cannot park a delivery for longer than this, whatever its Retry-After says.
MAX_RETRY_AFTER = timedelta(days=1)


def signature(secrets: list[str], message: Message, when: datetime) -> str:
    """One v1 signature per valid secret, space-separated, so secrets can rotate."""
    return " ".join(Webhook(s).sign(message.id, ensure_utc(when), message.body) for s in secrets)


def retry_after(value: str | None, clock: Clock) -> timedelta | None:
    """Parse Retry-After as seconds or an HTTP date, capped at MAX_RETRY_AFTER; None if unusable."""
    if not value:
        return None
    try:
        if value.strip().isdigit():
            delay = timedelta(seconds=int(value))
        else:
            delay = max(parsedate_to_datetime(value) - clock.now(), timedelta(0))
    except (TypeError, ValueError, OverflowError):
        return None
    return min(delay, MAX_RETRY_AFTER)


class WebhookSender:
    """Posts signed notices; maps HTTP results to outcomes (410 is permanent, everything else retried)."""

    def __init__(self, client: httpx.AsyncClient, endpoints: Mapping[str, WebhookChannel], clock: Clock) -> None:
        self._client = client
        self._endpoints = endpoints
        self._clock = clock

    async def send(self, message: Message, recipient_id: str) -> Outcome:
        """Post one message to the recipient's webhook."""
        endpoint = self._endpoints.get(recipient_id)
        if endpoint is None:
            return Failed(f"recipient {recipient_id} has no webhook in the policy")
        now = self._clock.now()
        headers = {
            "content-type": "application/json",
            "webhook-id": message.id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature(endpoint.secrets, message, now),
        }
        try:
            response = await self._client.post(str(endpoint.url), content=message.body, headers=headers)
        except httpx.HTTPError as exc:
            return RetryLater(f"{type(exc).__name__}: {exc}"[:500])
        if response.is_success:
            return Delivered(f"HTTP {response.status_code}")
        if response.status_code == 410:
            return Failed("HTTP 410 Gone: the recipient withdrew this endpoint")
        return RetryLater(f"HTTP {response.status_code}", retry_after(response.headers.get("retry-after"), self._clock))
