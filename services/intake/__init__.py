"""Intake: the police-facing HTTP API; every accepted change becomes an episode.* event."""

SERVICE = "intake"
