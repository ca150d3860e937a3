"""The shipped policy files load, and the compose one is the example with the receiver's host name."""

from __future__ import annotations

from pathlib import Path

import yaml

from shared.policy import load_policy

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_both_shipped_policies_load() -> None:
    for name in ("policy.example.yaml", "policy.compose.yaml"):
        assert load_policy(DEPLOY / name).notifications.recipients, name


def test_the_compose_policy_differs_from_the_example_only_in_the_receivers_host() -> None:
    example = (DEPLOY / "policy.example.yaml").read_text().replace("http://127.0.0.1:8010/", "http://receiver:8010/")
    compose = (DEPLOY / "policy.compose.yaml").read_text()
    assert yaml.safe_load(compose) == yaml.safe_load(example)
    assert "127.0.0.1" not in compose
