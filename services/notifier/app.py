"""Composition root of the notifier."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from services.notifier import SERVICE
from services.notifier.channels import Channel
from services.notifier.channels.webhook import WebhookSender
from services.notifier.config import NotifierSettings
from services.notifier.dispatcher import Dispatcher
from services.notifier.handlers import handlers
from services.notifier.notices import builder_for
from shared.clock import Clock, make_clock
from shared.db import is_sqlite
from shared.events.registry import Topic
from shared.policy import Policy, PolicyError, load_policy
from shared.runtime import Consumes, Runtime


def check_policy(policy: Policy) -> None:
    """Refuse recipients that ask for an event their audience may not be told about."""
    for r in policy.notifications.recipients:
        for event_type in r.events:
            if builder_for(event_type, r.audience) is None:
                raise PolicyError(f"recipient {r.id}: audience {r.audience} has no notice for {event_type}")


def build(settings: NotifierSettings, clock: Clock | None = None) -> FastAPI:
    """Wire the notifier: consumes the rhi topic, delivers signed webhooks."""
    clock = clock or make_clock(settings.clock_file)
    policy = load_policy(settings.policy_file)
    check_policy(policy)
    consumes = Consumes(topics=[Topic.RHI], handlers=handlers(policy=policy, clock=clock))
    runtime = Runtime(service=SERVICE, settings=settings, clock=clock, consumes=consumes)
    client = httpx.AsyncClient(timeout=settings.delivery_timeout.total_seconds())
    endpoints = {r.id: c for r in policy.notifications.recipients for c in r.channels if c.type == "webhook"}
    channels: dict[str, Channel] = {"webhook": WebhookSender(client, endpoints, clock)}
    dispatcher = Dispatcher(
        sessions=runtime.sessions,
        channels=channels,
        settings=settings,
        clock=clock,
        lock_rows=not is_sqlite(settings.database_url),
        after_commit=runtime.relay.wake,
    )
    runtime.add_worker(dispatcher.run, dispatcher.stop)
    runtime.add_waker(dispatcher.wake)
    runtime.add_closer(client.aclose)
    return runtime.create_app(title="Missing children: notifier", routers=[])
