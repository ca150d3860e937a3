"""A tiny seeded feed of episodes for the chaos run (stand-in until devstack/synthetic.py is merged)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

GRADES = ("no_apparent_risk", "low", "medium", "medium", "high")
MARKERS = ((), (), (), (), (), (), (), ("cse",), ("self_harm",))
SCHOOLS = (None, None, None, None, "123456", "654321")
NAMES = ("Ava", "Noah", "Mia", "Leo", "Isla", "Theo", "Ivy", "Alfie", "Ella", "Finn")


@dataclass(frozen=True)
class SyntheticEpisode:
    """One episode to drive: the report body, and when (if ever) the child came back."""

    force: str
    report: dict[str, Any]
    returned_at: datetime | None

    def return_body(self) -> dict[str, Any]:
        """The body of POST /return."""
        assert self.returned_at is not None
        return {"returned_at": self.returned_at.isoformat(), "returned_by": "self"}


def generate(
    seed: int, episodes: int, start: datetime, days: float, authorities: tuple[str, ...]
) -> Iterator[SyntheticEpisode]:
    """`episodes` reports spread over `days` from `start`; about one child in three goes missing again."""
    rng = random.Random(seed)
    people = max(1, episodes * 2 // 3)
    for n in range(episodes):
        person = rng.randrange(people)
        who = random.Random(seed * 1_000_003 + person)  # a person's facts stay the same across episodes
        la = who.choice(authorities)
        reported_at = start + timedelta(seconds=rng.uniform(0, days * 86400))
        child = {
            "police_person_id": f"CHAOS-P-{seed}-{person}",
            "given_name": who.choice(NAMES),
            "family_name": f"Chaos{person}",
            "date_of_birth": (date(2010, 1, 1) + timedelta(days=who.randrange(2500))).isoformat(),
            "responsible_la": la,
            "looked_after": who.random() < 0.3,
            "warning_markers": list(who.choice(MARKERS)),
        }
        school = who.choice(SCHOOLS)
        if school:
            child["school_urn"] = school
        report = {
            "police_reference": f"CHAOS-{seed}-{n:07d}",
            "reported_at": reported_at.isoformat(),
            "risk_grade": rng.choice(GRADES),
            "child": child,
        }
        back = reported_at + timedelta(minutes=rng.uniform(5, 600)) if rng.random() < 0.9 else None
        yield SyntheticEpisode(force="cleveland", report=report, returned_at=back)
