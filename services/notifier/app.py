"""Composition root of the notifier."""

from __future__ import annotations

from datetime import datetime

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier import SERVICE, held, routing
from services.notifier.channels import FALLBACK, Channel, Fallback
from services.notifier.channels.email import EmailSender, SmtpRelay
from services.notifier.channels.webhook import WebhookSender
from services.notifier.config import NotifierSettings
from services.notifier.dispatcher import Dispatcher
from services.notifier.handlers import handlers
from services.notifier.routes import router
from shared.clock import Clock, make_clock
from shared.db import is_sqlite
from shared.events.registry import Topic
from shared.policy import Policy, load_policy
from shared.policy.notifications import EmailChannel, WebhookChannel
from shared.runtime import Consumes, Runtime
from shared.sweeps import Sweep

RELEASE_SWEEP = "release-held-notices"


def check_policy(policy: Policy) -> None:
    """Refuse, at start, a policy whose rules would tell an audience what it may not see (PolicyError)."""
    routing.validate(policy)


def relay(settings: NotifierSettings) -> SmtpRelay:
    """The SMTP relay from the settings."""
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpRelay(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.smtp_security,
        sender=settings.smtp_from,
        timeout=settings.smtp_timeout.total_seconds(),
        username=settings.smtp_username,
        password=password,
        ca_file=settings.smtp_ca_file,
    )


def channels(policy: Policy, client: httpx.AsyncClient, smtp: SmtpRelay, clock: Clock) -> dict[str, Channel]:
    """One sender per channel type over the policy's endpoints, and the fallback channel."""
    recipients = policy.notifications.recipients
    hooks = {r.id: c for r in recipients for c in r.channels if isinstance(c, WebhookChannel)}
    mails = {r.id: c for r in recipients for c in r.channels if isinstance(c, EmailChannel)}
    fallbacks = {r.id: r.fallback for r in recipients if r.fallback is not None}
    fallback = Fallback(
        senders={
            "webhook": WebhookSender(
                client, {k: c for k, c in fallbacks.items() if isinstance(c, WebhookChannel)}, clock
            ),
            "email": EmailSender(smtp, {k: c for k, c in fallbacks.items() if isinstance(c, EmailChannel)}, clock),
        },
        kinds={k: c.type for k, c in fallbacks.items()},
    )
    return {
        "webhook": WebhookSender(client, hooks, clock),
        "email": EmailSender(smtp, mails, clock),
        FALLBACK: fallback,
    }


def release_sweep(settings: NotifierSettings, policy: Policy, clock: Clock) -> Sweep:
    """The sweep that releases held school notices and digests when their time comes."""

    async def work(session: AsyncSession, now: datetime) -> int:
        return await held.release_due(session, now=now, policy=policy, clock=clock, limit=500)

    return Sweep(name=RELEASE_SWEEP, every=settings.release_sweep_interval, work=work)


def build(settings: NotifierSettings, clock: Clock | None = None) -> FastAPI:
    """Wire the notifier: consumes episodes, classifications and rhi; delivers webhooks and e-mail."""
    clock = clock or make_clock(settings.clock_file)
    policy = load_policy(settings.policy_file)
    check_policy(policy)
    table = handlers(policy=policy, clock=clock)
    consumes = Consumes(topics=[Topic.EPISODES, Topic.CLASSIFICATIONS, Topic.RHI], handlers=table)
    runtime = Runtime(service=SERVICE, settings=settings, clock=clock, consumes=consumes)
    # Keep as many connections alive as a batch sends at once: reconnecting per webhook costs more than sending it.
    limits = httpx.Limits(max_connections=settings.delivery_batch, max_keepalive_connections=settings.delivery_batch)
    client = httpx.AsyncClient(timeout=settings.delivery_timeout.total_seconds(), limits=limits)
    dispatcher = Dispatcher(
        sessions=runtime.sessions,
        channels=channels(policy, client, relay(settings), clock),
        settings=settings,
        clock=clock,
        lock_rows=not is_sqlite(settings.database_url),
        after_commit=runtime.relay.wake,
        policy=policy,
    )
    runtime.add_worker(dispatcher.run, dispatcher.stop)
    runtime.add_waker(dispatcher.wake)
    runtime.add_sweep(release_sweep(settings, policy, clock))
    runtime.add_closer(client.aclose)
    app = runtime.create_app(
        title="Missing children: notifier",
        description="Ops delivery log and replay. Notices themselves go out by signed webhook and e-mail.",
        routers=[router],
    )
    app.state.policy = policy
    app.state.dispatcher = dispatcher
    return app
