"""RHI tracker settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field

from shared.config import Port, ServiceSettings


class RhiSettings(ServiceSettings):
    """Settings of the RHI tracker (MCN_* environment variables)."""

    http_port: Port = 8003
    rhi_deadline: Annotated[timedelta, Field(gt=timedelta(0))] = timedelta(hours=72)
