"""Return corrections, and the read model police see: reclassifications and the interview task's state."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.intake.app import build
from services.intake.config import IntakeSettings
from services.intake.handlers import handlers
from shared.clock import FrozenClock
from shared.events.codec import Decoded, to_event
from shared.events.payloads.base import Payload
from shared.events.payloads.classifier import EpisodeClassified, EpisodeReclassified
from shared.events.payloads.rhi import RhiInterviewCompleted, RhiTaskBreached, RhiTaskOpened
from tests.integration.test_intake_api import sessions_of
from tests.integration.test_intake_lifecycle import NOW, events, police, reported
from tests.samples import SAMPLES
from tests.support import in_process


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process(build(IntakeSettings(database_url=db_url), clock=FrozenClock(NOW)), "http://intake") as c:
        yield c


async def test_a_return_is_corrected_only_with_a_reason_and_the_correction_is_kept(client: httpx.AsyncClient) -> None:
    headers = await police(client)
    episode_id = await reported(client, headers)
    url = f"/v1/episodes/{episode_id}/return"
    early = {"correction_reason": "there is nothing to correct yet", "returned_at": "2026-03-07T01:10:00Z"}
    refused = await client.post(url, json=early, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["pointer"] == "/correction_reason"
    assert (await client.post(url, json={"returned_at": "2026-03-07T01:10:00Z"}, headers=headers)).status_code == 202

    changed = {"returned_at": "2026-03-07T03:10:00Z"}
    conflict = await client.post(url, json=changed, headers=headers)
    assert conflict.status_code == 409
    assert "correction_reason" in conflict.json()["detail"]
    fixed = {**changed, "correction_reason": "typed 01:10 for 03:10"}
    assert (await client.post(url, json=fixed, headers=headers)).status_code == 202
    assert (await client.post(url, json=fixed, headers=headers)).status_code == 202, "the same correction is a no-op"

    episode = (await client.get(f"/v1/episodes/{episode_id}", headers=headers)).json()
    assert episode["returned_at"] == "2026-03-07T03:10:00Z"
    [correction] = episode["return_details"]["corrections"]
    assert correction["previous_returned_at"] == "2026-03-07T01:10:00+00:00"
    assert correction["reason"] == "typed 01:10 for 03:10"
    assert correction["by"]
    assert correction["at"]
    returns = [data for kind, data in await events(client) if kind == "episode.returned"]
    assert [(r["returned_at"], r["correction_reason"], r["previous_returned_at"]) for r in returns] == [
        ("2026-03-07T01:10:00Z", None, None),
        ("2026-03-07T03:10:00Z", "typed 01:10 for 03:10", "2026-03-07T01:10:00Z"),
    ]


async def apply(client: httpx.AsyncClient, sample: type[Payload], episode_id: str, **changes: object) -> None:
    payload = sample.model_validate({**SAMPLES[sample].model_dump(), "episode_id": episode_id, **changes})
    event = to_event(payload, source="test", time=NOW)
    async with sessions_of(client)() as session, session.begin():
        await handlers()[payload.EVENT_TYPE](session, Decoded(event=event, payload=payload))


async def test_the_read_back_follows_reclassification_and_the_task(client: httpx.AsyncClient) -> None:
    headers = await police(client)
    episode_id = await reported(client, headers, risk_grade="no_apparent_risk")

    async def read() -> dict[str, object]:
        body: dict[str, object] = (await client.get(f"/v1/episodes/{episode_id}", headers=headers)).json()
        return body

    await apply(client, EpisodeClassified, episode_id, classification="absent", rule_ids=("A1",), reasons=("nar",))
    assert (await read())["classification"] == "absent"
    await apply(client, EpisodeReclassified, episode_id)
    episode = await read()
    assert episode["classification"] == "missing"
    assert episode["classification_detail"]["trigger"] == "still_open"  # type: ignore[index]

    await apply(client, RhiTaskOpened, episode_id)
    assert (await read())["rhi"] == {
        "task_id": "rhi-1",
        "status": "open",
        "due_at": "2026-03-10T01:10:00Z",
        "breached": False,
        "completed_on_time": None,
    }
    await apply(client, RhiTaskBreached, episode_id)
    await apply(client, RhiInterviewCompleted, episode_id, on_time=False)
    rhi = (await read())["rhi"]
    assert rhi["status"] == "completed"  # type: ignore[index]
    assert rhi["breached"] is True  # type: ignore[index]
    assert rhi["completed_on_time"] is False  # type: ignore[index]
