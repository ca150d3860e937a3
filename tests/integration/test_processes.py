"""Processes as an operator starts them: bad settings stop them with one line; the key CLI works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT, upgrade


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MCN_")}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("module", "env", "named"),
    [
        ("services.rhi_tracker", {"MCN_RHI_DEADLINE": "72 hours"}, "MCN_RHI_DEADLINE"),
        ("services.notifier", {"MCN_POLICY_FILE": "/nonexistent/policy.yaml"}, "MCN_POLICY_FILE"),
        ("services.notifier", {}, "MCN_POLICY_FILE"),
        ("services.intake", {"MCN_HTTP_PORT": "http"}, "MCN_HTTP_PORT"),
        ("services.classifier", {"MCN_KAFKA_SESSION_TIMEOUT_MS": "-1"}, "MCN_KAFKA_SESSION_TIMEOUT_MS"),
    ],
)
def test_bad_settings_stop_the_process_with_one_line_naming_the_setting(
    module: str, env: dict[str, str], named: str
) -> None:
    result = run(["-m", module], **env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error:")
    assert named in lines[0]


def test_an_invalid_policy_file_stops_the_notifier_naming_the_setting_and_the_key(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\npartnership: tees\nlocal_authorities: []\nrecipints: []\n")
    result = run(["-m", "services.notifier"], MCN_POLICY_FILE=str(policy))
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert "MCN_POLICY_FILE" in line
    assert "recipints" in line


def test_key_cli_creates_lists_and_revokes(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}"
    upgrade(url)
    created = run(
        ["-m", "shared.auth_cli", "create", "--role", "police", "--tenant", "cleveland"], MCN_DATABASE_URL=url
    )
    assert created.returncode == 0, created.stderr
    header, secret = created.stdout.strip().splitlines()
    key_id = header.split()[0].removeprefix("key_id=")
    assert secret.startswith("mcn_")
    listed = run(["-m", "shared.auth_cli", "list"], MCN_DATABASE_URL=url).stdout
    assert f"{key_id} police cleveland active" in listed
    assert secret not in listed
    assert run(["-m", "shared.auth_cli", "revoke", key_id], MCN_DATABASE_URL=url).returncode == 0
    assert f"{key_id} police cleveland revoked" in run(["-m", "shared.auth_cli", "list"], MCN_DATABASE_URL=url).stdout
    bad = run(["-m", "shared.auth_cli", "create", "--role", "police", "--tenant", "no spaces"], MCN_DATABASE_URL=url)
    assert bad.returncode == 1
    assert "tenant" in bad.stderr
