"""The log scan of the scenario suite finds a name or a date of birth however it is written, and only then."""

from __future__ import annotations

from datetime import date

import pytest

from tests.e2e.logscan import Person, date_spellings, json_lines, leaks

MIA = Person("Mia", "Thornbury", ("Mimi",), date(2011, 1, 5))


@pytest.mark.parametrize(
    "line",
    [
        '{"event": "episode.accepted", "child": "Mia"}',
        '{"event": "x", "key": "thornbury|2011-01-05"}',
        "Traceback: ValueError: bad name MIMI",
        '{"born": "2011-01-05T00:00:00"}',
        "dob=05/01/2011",
        "born 5 January 2011",
        "born 05 Jan 2011",
        "born January 5, 2011",
        "20110105",
        "mail to mia-team@example.org",
    ],
)
def test_a_name_or_date_of_birth_in_any_common_form_is_a_leak(line: str) -> None:
    assert leaks({"intake": line}, [MIA]) != []


@pytest.mark.parametrize(
    "line",
    [
        '{"event": "mset.read", "what": "timeline", "child_id": "4b1f0c2e"}',
        "Miami 2011-01-050",
        "offset=120110105",
        '{"timestamp": "2026-03-06T22:40:00Z", "event": "premia"}',
    ],
)
def test_other_words_and_numbers_are_not(line: str) -> None:
    assert leaks({"intake": line}, [MIA]) == []


def test_every_spelling_of_a_date_is_scanned_for() -> None:
    spellings = date_spellings(date(2011, 1, 15))
    assert {"2011-01-15", "15/01/2011", "01/15/2011", "15.01.2011", "20110115", "15 January 2011"} <= spellings
    assert {"Jan 15, 2011", "15 Jan 2011"} <= spellings


def test_only_json_objects_are_structured_records() -> None:
    text = '{"level": "info", "event": "a"}\nUnable to connect\n{"broken": \n[1, 2]\n'
    assert json_lines(text) == [{"level": "info", "event": "a"}]
