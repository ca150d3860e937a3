"""The AsyncAPI 3.0 description of the Kafka topics, generated from the event models (docs/asyncapi.yaml)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from shared.events.envelope import CONTENT_TYPE, CloudEvent
from shared.events.payloads.base import Payload
from shared.events.registry import PAYLOADS, TOPIC_OF, Topic, dead_letter_topic

Json = dict[str, Any]

SCHEMAS = "#/components/schemas/{model}"
KAFKA_BINDING = "0.4.0"  # the latest Kafka binding the AsyncAPI 3.0.0 JSON schema accepts

# service -> (topics it publishes to, topics it consumes); consumers also publish to <topic>.dlt
SERVICES: dict[str, tuple[list[str], list[str]]] = {
    "intake": ([Topic.EPISODES], [Topic.CLASSIFICATIONS, Topic.RHI]),
    "classifier": ([Topic.CLASSIFICATIONS], [Topic.EPISODES, Topic.RHI, Topic.NOTIFICATIONS]),
    "rhi_tracker": ([Topic.RHI], [Topic.EPISODES, Topic.CLASSIFICATIONS]),
    "notifier": ([Topic.NOTIFICATIONS], [Topic.EPISODES, Topic.CLASSIFICATIONS, Topic.RHI]),
}
DLT_HEADERS = {
    "dlt-reason": "Why: the decode error or the handler failure (at most 2000 bytes).",
    "dlt-service": "The consumer (service name) that gave up.",
    "dlt-topic": "The topic the record was read from.",
    "dlt-partition": "Its partition, in decimal.",
    "dlt-offset": "Its offset, in decimal.",
}
KEYS = {Topic.NOTIFICATIONS: "delivery id"}  # every other topic is keyed by the episode id

DESCRIPTION = f"""\
Events between the services of the missing children notification service.

Every event is a [CloudEvents 1.0](https://github.com/cloudevents/spec) event in Kafka
**structured mode**: the record value is the whole event as JSON and the record header
`content-type` is `{CONTENT_TYPE}`.
The extension attribute `dataversion` names the version of the `data` payload (one schema
per event type and version); `correlationid` follows an episode across services.

The record key is an opaque id (UTF-8): the episode id, or the delivery id on
`notifications`. Records with the same key land on the same partition, so events are
ordered per episode (per delivery) and not across keys. Delivery is at least once:
consumers deduplicate by the CloudEvent `id`.

Child details travel only inside the record value on these internal topics, never in keys
or headers (`dlt-reason` carries the error text, which must not quote them).

A record a consumer cannot decode, of an unknown type or version, or whose handler keeps
failing is copied unchanged (value, key, headers) to `<topic>.dlt` with the extra headers
`dlt-reason`, `dlt-service`, `dlt-topic`, `dlt-partition` and `dlt-offset`.

Deployed topic names are the addresses below prefixed with `MCN_KAFKA_TOPIC_PREFIX`
(empty by default)."""


def message_id(event_type: str, version: str) -> str:
    """The component and channel key of one event type and version."""
    return f"{event_type}.v{version}"


def _hoist(schema: Json, schemas: Json) -> Json:
    """Move a model schema's $defs into components.schemas, refusing conflicting definitions."""
    for name, definition in schema.pop("$defs", {}).items():
        if schemas.setdefault(name, definition) != definition:
            raise ValueError(f"two different schemas are both named {name!r}")
    return schema


def _message(model: type[Payload], topic: str, schemas: Json) -> Json:
    """The Message Object of one payload model: the CloudEvent envelope around its data."""
    envelope = CloudEvent.model_json_schema(ref_template=SCHEMAS)
    props = envelope["properties"]
    props["type"] = {**props["type"], "const": model.EVENT_TYPE}
    props["dataversion"] = {**props["dataversion"], "const": model.VERSION, "default": model.VERSION}
    props["data"] = _hoist(model.model_json_schema(ref_template=SCHEMAS), schemas)
    envelope["required"] = ["specversion", "id", *envelope["required"], "dataversion"]
    key = KEYS.get(topic, "episode id")
    return {
        "name": model.EVENT_TYPE,
        "title": f"{model.EVENT_TYPE} v{model.VERSION}",
        "summary": (model.__doc__ or "").strip().splitlines()[0],
        "contentType": "application/cloudevents+json",
        "headers": {
            "type": "object",
            "properties": {"content-type": {"type": "string", "const": CONTENT_TYPE}},
            "required": ["content-type"],
        },
        "correlationId": {
            "description": "The episode id, set by intake and carried on by the events that follow (absent if none).",
            "location": "$message.payload#/correlationid",
        },
        "payload": _hoist(envelope, schemas),
        "bindings": {
            "kafka": {"key": {"type": "string", "description": f"The {key} (UTF-8)."}, "bindingVersion": KAFKA_BINDING}
        },
    }


def _dead_letter() -> Json:
    """The Message Object of a dead-lettered record."""
    headers = {"content-type": "Copied from the original record, if it had one.", **DLT_HEADERS}
    return {
        "name": "dead-letter",
        "title": "Dead-lettered record",
        "summary": "A record a consumer gave up on, copied unchanged with the reason in headers.",
        "headers": {
            "type": "object",
            "properties": {name: {"type": "string", "description": text} for name, text in headers.items()},
            "required": list(DLT_HEADERS),
        },
        "payload": {"description": "The original record value, byte for byte; it may not be valid JSON."},
        "bindings": {
            "kafka": {"key": {"type": "string", "description": "The original key."}, "bindingVersion": KAFKA_BINDING}
        },
    }


def _ref(*path: str) -> Json:
    """A Reference Object to a path in this document (keys are JSON-pointer escaped)."""
    return {"$ref": "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path)}


def _channel(address: str, description: str, mids: list[str]) -> Json:
    """A Channel Object whose address is the logical topic name."""
    return {
        "address": address,
        "title": address,
        "description": f"{description} The deployed topic name is MCN_KAFKA_TOPIC_PREFIX + this address.",
        "messages": {mid: _ref("components", "messages", mid) for mid in mids},
    }


def _operations(channels: Json) -> Json:
    """Each service's operations, including the dead letters it writes for the topics it consumes."""
    operations: Json = {}
    for service, (sends, receives) in SERVICES.items():
        plan = [("send", t) for t in sends] + [
            step for t in receives for step in (("receive", t), ("send", dead_letter_topic(t)))
        ]
        for action, channel in plan:
            operation: Json = {
                "action": action,
                "channel": _ref("channels", channel),
                "summary": f"{service} {action}s {'from' if action == 'receive' else 'to'} {channel}",
            }
            if action == "receive":
                group = {"groupId": {"type": "string", "const": service}, "bindingVersion": KAFKA_BINDING}
                operation["bindings"] = {"kafka": group}
            operation["messages"] = [_ref("channels", channel, "messages", m) for m in channels[channel]["messages"]]
            operations[f"{service}.{action}.{channel}"] = operation
    return operations


def document() -> Json:
    """The whole AsyncAPI 3.0.0 document, built from the registry and payload models."""
    schemas: Json = {}
    messages: Json = {"dead-letter": _dead_letter()}
    by_topic: dict[str, list[str]] = {topic: [] for topic in Topic.ALL}
    for (event_type, version), model in PAYLOADS.items():
        mid = message_id(event_type, version)
        messages[mid] = _message(model, TOPIC_OF[event_type], schemas)
        by_topic[TOPIC_OF[event_type]].append(mid)
    channels: Json = {}
    for topic, mids in by_topic.items():
        producers = ", ".join(s for s, (sends, _) in SERVICES.items() if topic in sends)
        channels[topic] = _channel(topic, f"Published by {producers}; key: the {KEYS.get(topic, 'episode id')}.", mids)
        channels[dead_letter_topic(topic)] = _channel(
            dead_letter_topic(topic), f"Dead letters of {topic}: records its consumers gave up on.", ["dead-letter"]
        )
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Missing children notification service events",
            "version": max((v for _, v in PAYLOADS), key=int),
            "description": DESCRIPTION,
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {
            "local": {"host": "127.0.0.1:9092", "protocol": "kafka", "description": "make run's tansu broker"},
        },
        "channels": channels,
        "operations": _operations(channels),
        "components": {"schemas": dict(sorted(schemas.items())), "messages": messages},
    }


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings as literal blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    """Represent a string, as a literal block if it has several lines."""
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _str)


def main(argv: list[str] | None = None) -> None:
    """Write the document as YAML to stdout, or to the path given as the first argument."""
    args = sys.argv[1:] if argv is None else argv
    text = yaml.dump(document(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    if args:
        Path(args[0]).parent.mkdir(parents=True, exist_ok=True)
        Path(args[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
