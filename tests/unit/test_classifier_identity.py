"""Child identity: the normalisation table and what the match key does NOT do; the classifier policy section."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from services.classifier.identity import match_key, normalise
from shared.policy import PolicyError, load_policy

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "policy.example.yaml"
DOB = date(2013, 1, 20)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("Leah", "leah"),
        ("LEAH", "leah"),
        ("Leah ", "leah"),
        ("  leah\t", "leah"),
        ("Mary  Jane", "mary jane"),
        ("Mary\u00a0Jane", "mary jane"),  # no-break space is whitespace after NFKC
        ("\uff2c\uff45\uff41\uff48", "leah"),  # full-width letters (NFKC)
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),  # casefold, not lower()
        ("O'Brien", "o'brien"),
    ],
)
def test_normalisation(raw: str, normal: str) -> None:
    assert normalise(raw) == normal


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Zoë", "Zoe"),  # accents are kept
        ("Mary-Jane", "Mary Jane"),  # hyphens are kept
        ("Alex", "Alexander"),  # no nicknames
        ("Leah", "Lea"),  # no fuzzy matching
    ],
)
def test_what_the_match_does_not_do(a: str, b: str) -> None:
    assert match_key(a, "Example", DOB) != match_key(b, "Example", DOB)


def test_the_key_joins_both_names_and_the_date_of_birth() -> None:
    assert match_key("Leah ", "EXAMPLE", DOB) == match_key("leah", "Example", DOB) == "leah|example|2013-01-20"
    assert match_key("Leah", "Example", date(2013, 1, 21)) != match_key("Leah", "Example", DOB)
    assert match_key("Example", "Leah", DOB) != match_key("Leah", "Example", DOB)  # swapped names differ


def _policy_with(tmp_path: Path, classifier: object) -> Path:
    raw = yaml.safe_load(EXAMPLE.read_text())
    raw["classifier"] = classifier
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    ("section", "named"),
    [
        ({"under_age": 0}, "classifier.under_age"),
        ({"repeat_pattern": {"count": 3, "windw": "P30D"}}, "classifier.repeat_pattern.windw"),
        ({"disabled_overrides": ["grade"]}, "classifier.disabled_overrides[0]"),
        ({"repeat_rules": [{"id": "r", "description": "x", "count": 0}]}, "classifier.repeat_rules[0].count"),
        (
            {"repeat_rules": [{"id": "r", "description": "x", "count": 2, "classifications": ["lost"]}]},
            "classifications",
        ),
        ({"exploitation_markers": ["pink"]}, "classifier.exploitation_markers[0]"),
        ({"absent_escalation_after": "PT0S"}, "classifier.absent_escalation_after"),
        (
            {
                "repeat_rules": [
                    {"id": "r", "description": "x", "count": 2},
                    {"id": "r", "description": "y", "count": 3},
                ]
            },
            "each id may appear once",
        ),
    ],
)
def test_a_bad_classifier_section_is_refused_naming_the_key(tmp_path: Path, section: object, named: str) -> None:
    with pytest.raises(PolicyError) as exc:
        load_policy(_policy_with(tmp_path, section))
    assert named in str(exc.value)


def test_the_example_section_is_the_default() -> None:
    policy = load_policy(EXAMPLE).classifier
    assert [r.id for r in policy.repeat_rules] == ["repeat-3-in-30-days", "exploitation-marker"]
    assert policy.repeat_pattern.count == 3
    assert policy.window().days == 30
