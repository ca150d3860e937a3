"""Classifier settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field, FilePath

from shared.config import Port, ServiceSettings


class ClassifierSettings(ServiceSettings):
    """Settings of the classifier service (MCN_* environment variables)."""

    http_port: Port = 8002
    policy_file: FilePath
    # How often the still-open and repeat-window sweeps run (end-to-end tests shorten it).
    classifier_sweep_interval: Annotated[timedelta, Field(gt=timedelta(0))] = timedelta(minutes=1)
