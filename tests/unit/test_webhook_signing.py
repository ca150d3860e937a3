"""Standard Webhooks signing, Retry-After parsing and HTTP outcome mapping of the webhook sender."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from devstack.receiver import verify as receiver_verify
from services.notifier.channels import Delivered, Failed, Message, Outcome, RetryLater
from services.notifier.channels.webhook import WebhookSender, retry_after, signature
from shared.clock import FrozenClock, SystemClock
from shared.policy.notifications import WebhookChannel

OLD = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NEW = "whsec_c2VjcmV0LWZvci1yZWRjYXItcmhpLWRldg=="
OTHER = "whsec_c3RvY2t0b24tcmhpLWRldi1zZWNyZXQtMDE="
MESSAGE = Message(id="msg_0123456789abcdef", body='{"type":"rhi.opened","data":{"task_id":"rhi-1"}}')
URL = "https://hooks.example.org/rhi"

Handler = Callable[[httpx.Request], httpx.Response]
Tamper = Callable[[str, dict[str, str]], tuple[str, dict[str, str]]]


def headers_for(secrets: list[str], when: datetime, message: Message = MESSAGE) -> dict[str, str]:
    return {
        "webhook-id": message.id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature(secrets, message, when),
    }


def test_signature_verifies_with_reference_implementation() -> None:
    headers = headers_for([OLD], SystemClock().now())
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(OLD).verify(MESSAGE.body.encode(), headers) == {"type": "rhi.opened", "data": {"task_id": "rhi-1"}}


def test_rotation_signs_with_both_secrets() -> None:
    headers = headers_for([OLD, NEW], SystemClock().now())
    parts = headers["webhook-signature"].split(" ")
    assert len(parts) == 2
    assert all(p.startswith("v1,") for p in parts)
    for secret in (OLD, NEW):
        Webhook(secret).verify(MESSAGE.body.encode(), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(OTHER).verify(MESSAGE.body.encode(), headers)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body, h: (body.replace("rhi-1", "rhi-2"), h),
        lambda body, h: (body, {**h, "webhook-id": "msg_other"}),
        lambda body, h: (body, {**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) - 1)}),
    ],
    ids=["body", "id", "timestamp"],
)
def test_tampering_fails_verification(tamper: Tamper) -> None:
    body, headers = tamper(MESSAGE.body, headers_for([OLD], SystemClock().now()))
    with pytest.raises(WebhookVerificationError):
        Webhook(OLD).verify(body.encode(), headers)


def test_signature_does_not_depend_on_the_time_zone_of_when() -> None:
    now = SystemClock().now()
    assert signature([OLD], MESSAGE, now.astimezone(timezone(timedelta(hours=1)))) == signature([OLD], MESSAGE, now)


CLOCK = FrozenClock(datetime(2026, 3, 6, 12, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", timedelta(seconds=120)),
        (" 7 ", timedelta(seconds=7)),
        ("0", timedelta(0)),
        ("Fri, 06 Mar 2026 12:02:30 GMT", timedelta(minutes=2, seconds=30)),
        ("Fri, 06 Mar 2026 11:00:00 GMT", timedelta(0)),
        ("garbage", None),
        ("-5", None),
        ("1.5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after(value: str | None, expected: timedelta | None) -> None:
    assert retry_after(value, CLOCK) == expected


async def send(handler: Handler, recipient: str = "rhi", clock: FrozenClock | None = None) -> Outcome:
    endpoint = WebhookChannel(url=URL, secrets=[OLD, NEW])
    clock = clock or FrozenClock(SystemClock().now())
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        return await WebhookSender(client, {"rhi": endpoint}, clock).send(MESSAGE, recipient)


def answer(status: int, headers: dict[str, str] | None = None) -> Handler:
    return lambda request: httpx.Response(status, headers=headers)


def recording(requests: list[httpx.Request]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200)

    return handler


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (answer(200), Delivered("HTTP 200")),
        (answer(204), Delivered("HTTP 204")),
        (answer(410), Failed("HTTP 410 Gone: the recipient withdrew this endpoint")),
        (answer(500), RetryLater("HTTP 500")),
        (answer(404), RetryLater("HTTP 404")),
        (answer(429, {"Retry-After": "30"}), RetryLater("HTTP 429", timedelta(seconds=30))),
        (answer(503, {"Retry-After": "7"}), RetryLater("HTTP 503", timedelta(seconds=7))),
    ],
)
async def test_send_maps_responses(handler: Handler, expected: Outcome) -> None:
    assert await send(handler) == expected


async def test_http_date_retry_after_is_relative_to_the_clock() -> None:
    outcome = await send(answer(503, {"Retry-After": "Fri, 06 Mar 2026 12:01:00 GMT"}), clock=CLOCK)
    assert outcome == RetryLater("HTTP 503", timedelta(minutes=1))


async def test_connection_error_is_retried() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    outcome = await send(refuse)
    assert isinstance(outcome, RetryLater)
    assert "ConnectError" in outcome.reason
    assert outcome.after is None


async def test_unknown_recipient_fails_without_a_request() -> None:
    requests: list[httpx.Request] = []
    outcome = await send(recording(requests), "nobody")
    assert isinstance(outcome, Failed)
    assert "nobody" in outcome.reason
    assert requests == []


async def test_request_is_signed_standard_webhook() -> None:
    requests: list[httpx.Request] = []
    now = SystemClock().now()
    outcome = await send(recording(requests), clock=FrozenClock(now))
    assert outcome == Delivered("HTTP 200")
    [request] = requests
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.content == MESSAGE.body.encode()
    assert request.headers["webhook-id"] == MESSAGE.id
    assert request.headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert request.headers["content-type"] == "application/json"
    for secret in (OLD, NEW):
        Webhook(secret).verify(request.content, dict(request.headers))


async def test_huge_retry_after_is_still_an_outcome() -> None:
    outcome = await send(answer(503, {"Retry-After": "9" * 20}))
    assert isinstance(outcome, RetryLater)


TEST_TIME = datetime(2026, 3, 9, 8, 0, 5, tzinfo=UTC)  # a FileClock instant, far from the wall clock


def test_the_receiver_verifies_against_the_services_clock() -> None:
    headers = headers_for([OLD, NEW], TEST_TIME)
    body = MESSAGE.body.encode()
    assert receiver_verify([NEW], body, headers, FrozenClock(TEST_TIME + timedelta(minutes=4))) is None
    assert receiver_verify([OLD], body, headers, FrozenClock(TEST_TIME - timedelta(minutes=4))) is None
    assert receiver_verify([NEW], body, headers, FrozenClock(TEST_TIME + timedelta(minutes=6))) == (
        "message timestamp too old"
    )
    assert receiver_verify([NEW], body, headers, FrozenClock(TEST_TIME - timedelta(minutes=6))) == (
        "message timestamp too new"
    )
    assert receiver_verify([NEW], body, headers) == "message timestamp too old", "the wall clock is not test time"


def test_a_compressed_time_replay_widens_the_receivers_tolerance() -> None:
    headers = headers_for([NEW], TEST_TIME)
    body = MESSAGE.body.encode()
    later = FrozenClock(TEST_TIME + timedelta(days=20))
    assert receiver_verify([NEW], body, headers, later, tolerance=timedelta(days=30)) is None
    assert receiver_verify([NEW], body, headers, later, tolerance=timedelta(days=10)) == "message timestamp too old"
    assert receiver_verify([OLD], body, headers, later, tolerance=timedelta(days=30)) == "no matching signature"


@pytest.mark.parametrize(
    ("secrets", "change", "problem"),
    [
        ([OTHER], {}, "no matching signature"),
        ([NEW], {"webhook-id": "msg_other"}, "no matching signature"),
        ([NEW], {"webhook-timestamp": "soon"}, "invalid webhook-timestamp"),
        ([NEW], {"webhook-signature": "v1,!!!"}, "no matching signature"),
        ([NEW], {"webhook-signature": ""}, "missing webhook headers"),
        ([], {}, "recipient has no secrets"),
    ],
)
def test_the_receiver_refuses(secrets: list[str], change: dict[str, str], problem: str) -> None:
    headers = {**headers_for([OLD, NEW], TEST_TIME), **change}
    assert receiver_verify(secrets, MESSAGE.body.encode(), headers, FrozenClock(TEST_TIME)) == problem


def test_after_rotation_only_the_new_secret_signs() -> None:
    headers = headers_for([NEW], TEST_TIME)
    assert len(headers["webhook-signature"].split(" ")) == 1
    assert receiver_verify([NEW], MESSAGE.body.encode(), headers, FrozenClock(TEST_TIME)) is None
    assert receiver_verify([OLD], MESSAGE.body.encode(), headers, FrozenClock(TEST_TIME)) == "no matching signature"
