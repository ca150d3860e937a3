"""HTTP endpoints of the intake API (role police; tenant = force)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from services.intake import service
from services.intake.config import IntakeSettings
from services.intake.models import Episode
from services.intake.schemas import EpisodeOut, EpisodeReport, EpisodeReturn
from shared.auth import Principal, Role
from shared.http import Tx, request_clock, require

router = APIRouter(prefix="/v1/episodes", tags=["episodes"])
Police = Annotated[Principal, Depends(require(Role.POLICE))]


def _settings(request: Request) -> IntakeSettings:
    settings: IntakeSettings = request.app.state.settings
    return settings


def _out(episode: Episode) -> EpisodeOut:
    return EpisodeOut.model_validate(episode, from_attributes=True)


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=EpisodeOut)
async def report_episode(body: EpisodeReport, principal: Police, session: Tx, request: Request) -> EpisodeOut:
    """Report a missing child; the same report again returns the same episode."""
    episode, _ = await service.report_episode(
        session, force=principal.tenant, report=body, clock=request_clock(request), skew=_settings(request).clock_skew
    )
    return _out(episode)


@router.post("/{episode_id}/return", status_code=status.HTTP_202_ACCEPTED, response_model=EpisodeOut)
async def record_return(
    episode_id: str, body: EpisodeReturn, principal: Police, session: Tx, request: Request
) -> EpisodeOut:
    """Record that the child returned or was found."""
    episode = await service.record_return(
        session,
        force=principal.tenant,
        episode_id=episode_id,
        body=body,
        clock=request_clock(request),
        skew=_settings(request).clock_skew,
    )
    return _out(episode)


@router.get("/{episode_id}", response_model=EpisodeOut)
async def get_episode(episode_id: str, principal: Police, session: Tx) -> EpisodeOut:
    """Read back one of the force's episodes."""
    return _out(await service.get_episode(session, force=principal.tenant, episode_id=episode_id))
