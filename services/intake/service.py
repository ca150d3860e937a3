"""Intake use cases: plain functions that take the session and never commit."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Hashable
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import SERVICE
from services.intake.models import Episode, EpisodeVersion, IdempotencyKey
from services.intake.queries import find_episode, summary
from services.intake.schemas import (
    EpisodeCancel,
    EpisodeReport,
    EpisodeReturn,
    EpisodeSummary,
    EpisodeUpdate,
)
from shared.auth import Principal
from shared.clock import Clock
from shared.errors import Conflict, InvalidInput
from shared.events.payloads.base import Payload
from shared.events.payloads.episode import EpisodeCancelled, EpisodeReported, EpisodeReturned, EpisodeUpdated
from shared.outbox import emit

Errors = list[dict[str, str]]
IDENTITY = ("episode_id", "force", "police_reference", "version")


def fingerprint(value: Any) -> str:
    """A stable hash of a JSON-able value (or model), for idempotency checks."""
    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def adult_on(born: date) -> date:
    """The 18th birthday (29 February birthdays turn 18 on 1 March)."""
    try:
        return born.replace(year=born.year + 18)
    except ValueError:
        return date(born.year + 18, 3, 1)


def _future(value: datetime | None, pointer: str, now: datetime, skew: timedelta) -> Errors:
    if value is not None and value > now + skew:
        return [{"pointer": pointer, "message": "must not be in the future"}]
    return []


def report_errors(report: EpisodeReport, now: datetime, skew: timedelta) -> Errors:
    """Rules that need the clock or several fields at once."""
    errors = _future(report.reported_at, "/reported_at", now, skew)
    errors += _future(report.last_seen_at, "/last_seen_at", now, skew)
    if report.last_seen_at is not None and report.last_seen_at > report.reported_at:
        errors.append({"pointer": "/last_seen_at", "message": "must not be after reported_at"})
    born, on = report.child.date_of_birth, report.reported_at.date()
    if born > on:
        errors.append({"pointer": "/child/date_of_birth", "message": "must not be after reported_at"})
    elif on >= adult_on(born):
        errors.append({"pointer": "/child/date_of_birth", "message": "the person is 18 or over at reported_at"})
    return errors


def _invalid(errors: Errors) -> None:
    if errors:
        raise InvalidInput(f"{len(errors)} field(s) failed validation", errors=errors)


def _emit(session: AsyncSession, payload: Payload, *, episode_id: str, clock: Clock) -> None:
    emit(session, payload, service=SERVICE, key=episode_id, correlationid=episode_id, clock=clock)


def _identity(episode: Episode) -> dict[str, Any]:
    return {
        "episode_id": episode.id,
        "force": episode.force,
        "police_reference": episode.police_reference,
        "version": episode.version,
    }


def _add_version(
    session: AsyncSession,
    episode: Episode,
    *,
    kind: str,
    principal: Principal,
    now: datetime,
    changed: list[str],
    reason: str | None,
) -> None:
    session.add(
        EpisodeVersion(
            episode_id=episode.id,
            version=episode.version,
            kind=kind,
            record=episode.record,
            changed_fields=changed,
            reason=reason,
            recorded_by=principal.key_id,
            recorded_at=now,
            provenance=episode.record.get("provenance", {}),
        )
    )


PREFETCHED = "intake.episodes_by_reference"


async def prefetch_reports(session: AsyncSession, hints: list[Hashable]) -> None:
    """Look up, in one query, the episodes a batch of reports might repeat (hints are (force, reference))."""
    keys = {h for h in hints if isinstance(h, tuple)}
    if not keys:
        return
    query = select(Episode).where(tuple_(Episode.force, Episode.police_reference).in_(list(keys)))
    found = {(e.force, e.police_reference): e for e in await session.scalars(query)}
    session.info[PREFETCHED] = {key: found.get(key) for key in keys}


async def report_episode(
    session: AsyncSession, *, principal: Principal, report: EpisodeReport, clock: Clock, skew: timedelta
) -> EpisodeSummary:
    """Store a reported episode (version 1) and stage episode.reported; the same report again changes nothing."""
    full = report.model_dump(mode="json")
    force, digest = principal.tenant, fingerprint(full)
    known: dict[tuple[str, str], Episode | None] = session.info.get(PREFETCHED, {})
    natural_key = (force, report.police_reference)
    if natural_key in known:
        existing = known[natural_key]
    else:
        existing = await session.scalar(
            select(Episode).where(Episode.force == force, Episode.police_reference == report.police_reference)
        )
    if existing is not None:
        if existing.report_hash != digest:
            raise Conflict(
                f"police reference {report.police_reference} already has episode {existing.id} with different "
                f"details; to change it send POST /v1/episodes/{existing.id}/updates with the changed fields"
            )
        return summary(existing)
    now = clock.now()
    _invalid(report_errors(report, now, skew))
    record = {name: value for name, value in full.items() if name != "police_reference"}
    episode = Episode(
        id=str(uuid.uuid4()),
        force=force,
        police_reference=report.police_reference,
        status="open",
        version=1,
        risk_grade=report.risk_grade.value,
        reported_at=report.reported_at,
        record=record,
        report_hash=digest,
        created_at=now,
        updated_at=now,
    )
    session.add(episode)
    _add_version(session, episode, kind="report", principal=principal, now=now, changed=[], reason=None)
    _emit(session, EpisodeReported(**_identity(episode), **record), episode_id=episode.id, clock=clock)
    return summary(episode)


def merge_update(record: dict[str, Any], update: EpisodeUpdate) -> tuple[dict[str, Any], list[str]]:
    """The record after an update, and the dotted names of the fields that really changed."""
    exclude = {"kind", "reason", "expected_version", "child"}
    changes = update.model_dump(mode="json", exclude_unset=True, exclude=exclude)
    merged: dict[str, Any] = dict(record)
    changed: list[str] = []
    for name, value in changes.items():
        if merged.get(name) != value:
            merged[name], changed = value, [*changed, name]
    if update.child is not None:
        child = dict(record["child"])
        for name, value in update.child.model_dump(mode="json", exclude_unset=True).items():
            if child.get(name) != value:
                child[name], changed = value, [*changed, f"child.{name}"]
        merged["child"] = child
    return merged, changed


def _validated(episode: Episode, record: dict[str, Any]) -> EpisodeReport:
    try:
        return EpisodeReport.model_validate({**record, "police_reference": episode.police_reference})
    except ValidationError as exc:
        errors = [{"pointer": "/" + "/".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        raise InvalidInput("the updated record is not valid", errors=errors) from None


async def update_episode(
    session: AsyncSession,
    *,
    principal: Principal,
    episode_id: str,
    update: EpisodeUpdate,
    clock: Clock,
    skew: timedelta,
) -> EpisodeSummary:
    """Apply a re-grade, new information or correction as a new version and stage episode.updated."""
    episode = await find_episode(session, force=principal.tenant, episode_id=episode_id)
    if episode.status == "cancelled":
        raise Conflict(f"episode {episode_id} was cancelled; it can no longer be updated")
    if update.expected_version is not None and update.expected_version != episode.version:
        raise Conflict(f"episode {episode_id} is at version {episode.version}, not {update.expected_version}")
    record, changed = merge_update(episode.record, update)
    if not changed:
        return summary(episode)
    now = clock.now()
    _invalid(report_errors(_validated(episode, record), now, skew))
    episode.record, episode.version, episode.updated_at = record, episode.version + 1, now
    episode.risk_grade = record["risk_grade"]
    _add_version(
        session, episode, kind=update.kind.value, principal=principal, now=now, changed=changed, reason=update.reason
    )
    payload = EpisodeUpdated(
        **_identity(episode),
        **record,
        kind=update.kind,
        reason=update.reason,
        changed_fields=tuple(changed),
        updated_at=now,
    )
    _emit(session, payload, episode_id=episode.id, clock=clock)
    return summary(episode)


def return_errors(episode: Episode, body: EpisodeReturn, now: datetime, skew: timedelta) -> Errors:
    """A return cannot precede the report, follow now, or be found after it returned."""
    errors = _future(body.returned_at, "/returned_at", now, skew) + _future(body.found_at, "/found_at", now, skew)
    if body.returned_at < episode.reported_at:
        errors.append({"pointer": "/returned_at", "message": "must not be before reported_at"})
    if body.found_at is not None and not episode.reported_at <= body.found_at <= body.returned_at:
        errors.append({"pointer": "/found_at", "message": "must be between reported_at and returned_at"})
    return errors


async def record_return(
    session: AsyncSession, *, principal: Principal, episode_id: str, body: EpisodeReturn, clock: Clock, skew: timedelta
) -> EpisodeSummary:
    """Record the return (or correct it) and stage episode.returned; the same return again is a no-op."""
    episode = await find_episode(session, force=principal.tenant, episode_id=episode_id)
    details = body.model_dump(mode="json", exclude={"correction_reason"})
    if episode.status == "cancelled":
        raise Conflict(f"episode {episode_id} was cancelled; a return cannot be recorded")
    if episode.status == "returned" and episode.return_details is not None:
        if _same_return(episode.return_details, details):
            return summary(episode)
        if body.correction_reason is None:
            raise Conflict(
                f"episode {episode_id} already has a return recorded at {episode.return_details['returned_at']}; "
                "to correct it, send the return again with correction_reason"
            )
    elif body.correction_reason is not None:
        _invalid([{"pointer": "/correction_reason", "message": "only a return already recorded can be corrected"}])
    now = clock.now()
    _invalid(return_errors(episode, body, now, skew))
    previous = episode.returned_at
    episode.status, episode.returned_at, episode.updated_at = "returned", body.returned_at, now
    corrections = list((episode.return_details or {}).get("corrections", []))
    if body.correction_reason is not None:
        assert previous is not None
        corrections.append(_correction(previous, body.correction_reason, principal, now))
    stamp = {"recorded_by": principal.key_id, "recorded_at": now.isoformat(), "corrections": corrections}
    episode.return_details = {**details, **stamp}
    correction = {"correction_reason": body.correction_reason, "previous_returned_at": previous}
    returned = EpisodeReturned(**_identity(episode), **details, **correction)
    _emit(session, returned, episode_id=episode.id, clock=clock)
    return summary(episode)


def _correction(previous: datetime, reason: str, principal: Principal, now: datetime) -> dict[str, str]:
    return {
        "previous_returned_at": previous.isoformat(),
        "reason": reason,
        "by": principal.key_id,
        "at": now.isoformat(),
    }


def _same_return(stored: dict[str, Any], details: dict[str, Any]) -> bool:
    return all(stored.get(k) == v for k, v in details.items())


async def cancel_episode(
    session: AsyncSession, *, principal: Principal, episode_id: str, body: EpisodeCancel, clock: Clock
) -> EpisodeSummary:
    """Cancel an episode reported in error and stage episode.cancelled; cancelling twice is a no-op."""
    episode = await find_episode(session, force=principal.tenant, episode_id=episode_id)
    details = body.model_dump(mode="json")
    if episode.status == "cancelled":
        if episode.cancellation is not None and _same_return(episode.cancellation, details):
            return summary(episode)
        raise Conflict(f"episode {episode_id} is already cancelled")
    now = clock.now()
    episode.status, episode.cancelled_at, episode.updated_at = "cancelled", now, now
    episode.cancellation = {**details, "recorded_by": principal.key_id, "recorded_at": now.isoformat()}
    payload = EpisodeCancelled(**_identity(episode), reason=body.reason, detail=body.detail, cancelled_at=now)
    _emit(session, payload, episode_id=episode.id, clock=clock)
    return summary(episode)


async def replay_or_remember(
    session: AsyncSession, *, force: str, key: str | None, request_hash: str, now: datetime
) -> IdempotencyKey | None:
    """The stored answer for a repeated Idempotency-Key, or None; a reused key with another request is a 409."""
    if key is None:
        return None
    row = await session.get(IdempotencyKey, (force, key))
    if row is not None and row.request_hash != request_hash:
        raise Conflict(
            f"Idempotency-Key {key!r} was already used for a different request; send a new key for a new "
            "request, and send changes to an episode as POST /v1/episodes/{id}/updates"
        )
    return row


def remember(
    session: AsyncSession,
    *,
    force: str,
    key: str | None,
    request_hash: str,
    status: int,
    response: dict[str, Any],
    now: datetime,
) -> None:
    """Store the answer to an Idempotency-Key request in the same transaction as its effect."""
    if key is not None:
        session.add(
            IdempotencyKey(
                force=force, key=key, request_hash=request_hash, status_code=status, response=response, created_at=now
            )
        )
