"""Dead letters: a record that cannot be handled goes to `<topic>.dlt`, unchanged, with why and where from."""

from __future__ import annotations

import asyncio

from aiokafka import ConsumerRecord

from shared.events.registry import dead_letter_topic
from shared.kafka.client import ProducerHolder


def dead_letter_headers(record: ConsumerRecord[bytes, bytes], *, service: str, reason: str) -> list[tuple[str, bytes]]:
    """The record's own headers plus the reason, the service that gave up, and the record's origin."""
    return [
        *list(record.headers or ()),
        ("dlt-reason", reason.encode()[:2000]),
        ("dlt-service", service.encode()),
        ("dlt-topic", record.topic.encode()),
        ("dlt-partition", str(record.partition).encode()),
        ("dlt-offset", str(record.offset).encode()),
    ]


async def send_dead_letter(
    producer: ProducerHolder, record: ConsumerRecord[bytes, bytes], *, service: str, reason: str
) -> None:
    """Publish the record to its topic's dead-letter topic and wait for the broker's acknowledgement."""
    headers = dead_letter_headers(record, service=service, reason=reason)
    started = await producer.get()
    await started.send_and_wait(dead_letter_topic(record.topic), record.value, key=record.key, headers=headers)


def retrieve(task: asyncio.Task[None]) -> None:
    """Done-callback for a task nobody awaits: read its outcome so a failure is not reported as lost."""
    if not task.cancelled():
        task.exception()
