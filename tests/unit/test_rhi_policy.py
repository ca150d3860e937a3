"""The `rhi` policy section: interview for absent episodes, reminders, escalation steps; bad keys are named."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from shared.policy import load_policy
from shared.policy.rhi import RhiPolicy
from tests.unit.test_policy import EXAMPLE, error, policy, write

H = timedelta(hours=1)


def test_defaults_are_the_domain_defaults() -> None:
    rhi = RhiPolicy()
    assert (rhi.rhi_for_absent, rhi.reminders, rhi.escalations) == (True, (24 * H, 48 * H), ())


def test_the_example_file_declares_two_escalation_steps() -> None:
    rhi = load_policy(EXAMPLE).rhi
    assert [(s.id, s.after_breach) for s in rhi.escalations] == [("team-manager", 24 * H), ("head-of-service", 72 * H)]
    assert rhi.reminders == (24 * H, 48 * H)


STEP = {"id": "tm", "name": "Team manager", "after_breach": "PT24H"}


@pytest.mark.parametrize(
    ("rhi", "named"),
    [
        ({"reminders": ["PT48H", "PT24H"]}, "reminders: offsets must be distinct and in increasing order"),
        ({"reminders": ["PT24H", "PT24H"]}, "reminders"),
        ({"reminders": ["PT0S"]}, "rhi.reminders[0]"),
        ({"escalations": [{**STEP, "colour": "red"}]}, "rhi.escalations[0].colour"),
        ({"escalations": [{**STEP, "after_breach": "a day"}]}, "rhi.escalations[0].after_breach"),
        ({"escalations": [{**STEP, "id": "Team Manager"}]}, "rhi.escalations[0].id"),
        ({"escalations": [STEP, {**STEP, "after_breach": "PT48H"}]}, "escalations: ids must be unique"),
        ({"escalations": [STEP, {**STEP, "id": "hos", "after_breach": "PT1H"}]}, "increasing order"),
        ({"escalation": [STEP]}, "rhi.escalation"),
    ],
)
def test_bad_rhi_sections_are_named(tmp_path: Path, rhi: dict[str, object], named: str) -> None:
    assert named in error(write(tmp_path, policy(rhi=rhi)))


def test_a_valid_section_loads(tmp_path: Path) -> None:
    rhi = {
        "rhi_for_absent": False,
        "reminders": ["PT12H"],
        "escalations": [STEP, {**STEP, "id": "hos", "after_breach": "P3D"}],
    }
    loaded = load_policy(write(tmp_path, policy(rhi=rhi))).rhi
    assert loaded.rhi_for_absent is False
    assert loaded.reminders == (12 * H,)
    assert [s.after_breach for s in loaded.escalations] == [24 * H, 72 * H]
