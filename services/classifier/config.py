"""Classifier settings."""

from __future__ import annotations

from shared.config import Port, ServiceSettings


class ClassifierSettings(ServiceSettings):
    """Settings of the classifier service (MCN_* environment variables)."""

    http_port: Port = 8002
