"""docs/asyncapi.yaml is generated from the event models, stays in step with them and is well-formed AsyncAPI 3.0."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
import yaml

from devstack.asyncapi import SCHEMAS, SERVICES, document, message_id
from shared.events.codec import encode, to_event
from shared.events.codes import RiskGrade, UpdateKind
from shared.events.payloads.base import ChildRecord, Payload
from shared.events.payloads.episode import EpisodeReported, EpisodeUpdated
from shared.events.registry import PAYLOADS, TOPIC_OF, Topic, dead_letter_topic
from tests.support import ROOT

DOC_PATH = ROOT / "docs" / "asyncapi.yaml"
REGENERATE = "run `python -m devstack.asyncapi docs/asyncapi.yaml` and commit the result"
AT = datetime(2026, 3, 6, 22, 40, tzinfo=UTC)
CHILD = ChildRecord(
    given_name="Mia", family_name="Example", date_of_birth=date(2011, 1, 15), responsible_la="E06000002"
)
SNAPSHOT: dict[str, Any] = {
    "episode_id": "ep-1",
    "force": "cleveland",
    "police_reference": "NB-2026-000123",
    "reported_at": AT,
    "risk_grade": RiskGrade.MEDIUM,
    "child": CHILD,
}
SAMPLES: list[Payload] = [
    EpisodeReported(**SNAPSHOT),
    EpisodeUpdated(
        **{**SNAPSHOT, "version": 2, "risk_grade": RiskGrade.HIGH},
        kind=UpdateKind.REGRADE,
        reason="seen with older males",
        changed_fields=("risk_grade",),
        updated_at=AT,
    ),
]


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    """The generated document."""
    return document()


def resolve(doc: dict[str, Any], ref: str) -> Any:
    """Follow a local `#/...` JSON pointer, failing the test if it leads nowhere."""
    assert ref.startswith("#/"), f"not a local reference: {ref}"
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict), f"{ref}: {part!r} is under a non-object"
        assert part in node, f"{ref} does not resolve ({part!r} missing)"
        node = node[part]
    return node


def refs(node: Any) -> list[str]:
    """Every `$ref` value anywhere under a node."""
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def test_committed_document_matches_the_models(doc: dict[str, Any]) -> None:
    assert DOC_PATH.exists(), f"{DOC_PATH} is missing: {REGENERATE}"
    committed = yaml.safe_load(DOC_PATH.read_text(encoding="utf-8"))
    assert committed == doc, f"docs/asyncapi.yaml is out of date with the event models: {REGENERATE}"


def test_every_payload_has_a_message_on_its_topic(doc: dict[str, Any]) -> None:
    messages = doc["components"]["messages"]
    for event_type, version in PAYLOADS:
        mid = message_id(event_type, version)
        assert mid in messages, f"no message for {event_type} v{version}"
        envelope = messages[mid]["payload"]["properties"]
        assert envelope["type"]["const"] == event_type
        assert envelope["dataversion"]["const"] == version
        assert mid in doc["channels"][TOPIC_OF[event_type]]["messages"]
    episode_events = {m.split(".v")[0] for m in doc["channels"]["episodes"]["messages"]}
    produced_by_intake = {t for t, topic in TOPIC_OF.items() if topic == Topic.EPISODES}
    assert (
        episode_events
        == produced_by_intake
        == {f"episode.{s}" for s in ("reported", "updated", "returned", "cancelled")}
    )
    assert message_id("episode.classified", "1") in doc["channels"]["classifications"]["messages"]
    on_channels = {m for topic in Topic.ALL for m in doc["channels"][topic]["messages"]}
    assert on_channels == {message_id(t, v) for t, v in PAYLOADS}


def test_dead_letter_channels(doc: dict[str, Any]) -> None:
    for topic in Topic.ALL:
        channel = doc["channels"][dead_letter_topic(topic)]
        assert channel["address"] == f"{topic}.dlt"
        assert list(channel["messages"]) == ["dead-letter"]
    headers = doc["components"]["messages"]["dead-letter"]["headers"]
    assert set(headers["required"]) == {"dlt-reason", "dlt-service", "dlt-topic", "dlt-partition", "dlt-offset"}


def test_operations_follow_the_services(doc: dict[str, Any]) -> None:
    ops = doc["operations"]
    for topic in Topic.ALL:
        senders = [name for name, op in ops.items() if op["action"] == "send" and op["channel"]["$ref"].endswith(topic)]
        assert len(senders) == 1, f"{topic} should have exactly one producer, has {senders}"
    for service, (_, consumes) in SERVICES.items():
        app = (ROOT / "services" / service / "app.py").read_text(encoding="utf-8")
        found = re.search(r"Consumes\(\s*topics=\[([^\]]*)\]", app)
        assert found, f"services/{service}/app.py no longer declares Consumes(topics=[...])"
        wired = [getattr(Topic, name) for name in re.findall(r"Topic\.(\w+)", found.group(1))]
        assert wired == consumes, f"devstack/asyncapi.py SERVICES says {service} consumes {consumes}, app.py {wired}"
        for topic in consumes:
            assert ops[f"{service}.receive.{topic}"]["action"] == "receive"
            assert ops[f"{service}.send.{dead_letter_topic(topic)}"]["action"] == "send"


def test_data_schemas_are_the_model_schemas(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    for (event_type, version), model in PAYLOADS.items():
        expected = model.model_json_schema(ref_template=SCHEMAS)
        for name, definition in expected.pop("$defs", {}).items():
            assert schemas[name] == definition, f"components.schemas.{name} differs from {model.__name__}'s"
        data = doc["components"]["messages"][message_id(event_type, version)]["payload"]["properties"]["data"]
        assert data == expected, f"{event_type} v{version}: data schema differs from {model.__name__}"


@pytest.mark.parametrize("payload", SAMPLES, ids=lambda p: p.EVENT_TYPE)
def test_real_records_validate_against_their_message(doc: dict[str, Any], payload: Payload) -> None:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    message = doc["components"]["messages"][message_id(payload.EVENT_TYPE, payload.VERSION)]
    schema = {**message["payload"], "components": {"schemas": doc["components"]["schemas"]}}
    validator = jsonschema_rs.Draft7Validator(schema, validate_formats=True)
    event = to_event(payload, source="intake", time=AT, subject="ep-1", correlationid="ep-1")
    value = json.loads(encode(event))
    errors = [f"{list(e.instance_path)}: {e.message}" for e in validator.iter_errors(value)]
    assert not errors, errors
    assert not validator.is_valid({**value, "type": "episode.vanished"})
    assert not validator.is_valid({**value, "dataversion": "99"})
    assert not validator.is_valid({**value, "time": "2026-03-06T22:40:00"})
    assert not validator.is_valid({**value, "data": {**value["data"], "risk_grade": "purple"}})
    assert not validator.is_valid({**value, "data": {**value["data"], "child": {**value["data"]["child"], "x": 1}}})
    key = message["bindings"]["kafka"]["key"]
    assert key["type"] == "string"
    assert "episode id" in key["description"]


def test_document_is_structurally_asyncapi_3(doc: dict[str, Any]) -> None:
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["title"] == "Missing children notification service events"
    assert doc["info"]["version"]
    assert doc["servers"]["local"] == {
        "host": "127.0.0.1:9092",
        "protocol": "kafka",
        "description": "make run's tansu broker",
    }
    for name, op in doc["operations"].items():
        assert op["action"] in {"send", "receive"}, name
        channel_ref = op["channel"]["$ref"]
        channel = resolve(doc, channel_ref)
        assert "address" in channel, f"{name}: {channel_ref} is not a channel"
        assert op["messages"], f"{name} lists no messages"
        for ref in (m["$ref"] for m in op["messages"]):
            assert ref.startswith(channel_ref + "/messages/"), f"{name}: {ref} is not a message of its channel"
            assert "payload" in resolve(doc, resolve(doc, ref)["$ref"]), f"{name}: {ref} is not a message"
    for channel in doc["channels"].values():
        for ref in channel["messages"].values():
            assert ref["$ref"].startswith("#/components/messages/")
    for ref in refs(doc):
        resolve(doc, ref)
    for mid, message in doc["components"]["messages"].items():
        location = message.get("correlationId", {}).get("location")
        if location:
            assert location == "$message.payload#/correlationid", mid
            assert "correlationid" in message["payload"]["properties"], mid
