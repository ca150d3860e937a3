"""Reading a stack's logs back: which episodes they follow, and whether they name any child.

The people come from the intake's own table of every version of every record it accepted, so the
scan covers whatever any test posted to the stack, not a list someone has to keep up to date.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

SQLITE_PREFIX = "sqlite+aiosqlite:///"
# Ways a date of birth could be written out: ISO, British, American, compact, and in words.
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%Y%m%d")


@dataclass(frozen=True)
class Person:
    """A child as some police system posted them."""

    given_name: str
    family_name: str
    aliases: tuple[str, ...]
    date_of_birth: date


def posted_people(database_url: str) -> set[Person]:
    """Every child in every version of every episode the stack's intake stored."""
    assert database_url.startswith(SQLITE_PREFIX), "the scenario stack runs on its SQLite file"
    with sqlite3.connect(database_url.removeprefix(SQLITE_PREFIX)) as db:
        records = [json.loads(r) for (r,) in db.execute("SELECT record FROM intake_episode_versions")]
    return {_person(r["child"]) for r in records}


def _person(kid: dict[str, Any]) -> Person:
    aliases = tuple(kid.get("aliases") or ())
    return Person(kid["given_name"], kid["family_name"], aliases, date.fromisoformat(kid["date_of_birth"]))


def date_spellings(born: date) -> set[str]:
    """A date in every common format, numeric and in words (15 January 2011, Jan 15, 2011, ...)."""
    numeric = {born.strftime(f) for f in DATE_FORMATS}
    day, month, short, year = born.day, born.strftime("%B"), born.strftime("%b"), born.year
    words = {f"{day} {month} {year}", f"{day} {short} {year}", f"{month} {day}, {year}", f"{short} {day}, {year}"}
    return numeric | {w.replace(f"{day} ", f"{day:02d} ", 1) for w in words} | words


def patterns(people: Iterable[Person]) -> dict[str, re.Pattern[str]]:
    """One case-insensitive pattern per name, alias and spelling of a date of birth, as a whole word or number."""
    found: dict[str, re.Pattern[str]] = {}
    for person in people:
        for name in (person.given_name, person.family_name, *person.aliases):  # not inside a longer word
            found[name] = re.compile(rf"(?<![a-z]){re.escape(name)}(?![a-z])", re.IGNORECASE)
        for spelling in date_spellings(person.date_of_birth):  # not inside a longer number
            found[spelling] = re.compile(rf"(?<!\d){re.escape(spelling)}(?!\d)", re.IGNORECASE)
    return found


def leaks(logs: dict[str, str], people: Iterable[Person]) -> list[str]:
    """`file: word` for every name or date of birth found in a log."""
    found = patterns(people)
    return [f"{name}: {word}" for name, text in sorted(logs.items()) for word, p in found.items() if p.search(text)]


def read_logs(log_dir: Path) -> dict[str, str]:
    """Every log file of the stack, by part name (intake, gateway, broker, ...)."""
    return {path.stem: path.read_text(encoding="utf-8", errors="replace") for path in sorted(log_dir.glob("*.log"))}


def json_lines(text: str) -> list[dict[str, Any]]:
    """The structured records of a log (lines that are JSON objects)."""
    records = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return [r for r in records if isinstance(r, dict)]
