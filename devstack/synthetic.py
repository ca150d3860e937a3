"""A deterministic generator of missing-child episodes at England-and-Wales scale (fixed seed: repeatable).

Shape (per 210,000 episodes, scaled with `episodes`): about 72,000 children; one in six looked after,
with about 6 episodes each, the others about 2.3; each child's episodes carry the same person
details, so the classifier links them and spots repeat missing. Returns: 79 % within 24 hours,
90 % within 48 hours, 7 % within a week, 2 % within 30 days, 1 % never (or after the window).
About 12 % of children carry exploitation markers (a quarter of looked-after children); 40 % of
looked-after children are placed out of area (host LA differs from the responsible LA) and are
reported by the host area's force; most children have a school. Uses `random.Random(seed)` only.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from devstack import synthetic_data as data

EPISODES_PER_CHILD = 210_000 / 72_000
LOOKED_AFTER_SHARE = 1 / 6
LOOKED_AFTER_EPISODES = 6.0
OUT_OF_AREA_SHARE = 0.4  # of looked-after children
EXPLOITATION_SHARE = (0.25, 0.095)  # looked after, not looked after: about 12 % overall
SCHOOL_SHARE = 0.85
SCHOOLS_PER_AUTHORITY = 400
EXPLOITATION = ("cse", "cce", "county_lines", "trafficking", "modern_slavery")
OTHER_MARKERS = ("self_harm", "mental_health", "substance_misuse", "gang_association", "violence", "weapons")
PLACEMENTS = (
    ("foster_care", 55), ("childrens_home", 25), ("semi_independent", 8), ("kinship_care", 5),
    ("placed_with_parents", 3), ("residential_school", 2), ("secure_unit", 1), ("other", 1),
)  # fmt: skip
GRADES = (("no_apparent_risk", 12), ("low", 28), ("medium", 52), ("high", 8))
RETURNED_BY = ("self", "self", "self", "found_by_police", "found_by_family_or_carer", "found_by_other")


@dataclass(frozen=True)
class SyntheticEpisode:
    """One episode to replay: the report, and the return (if any) at its simulation time."""

    force: str  # police force tenant, for the API key
    reported_at: datetime  # aware UTC, simulation time
    report: dict[str, Any]  # the body for POST /v1/episodes
    returned_at: datetime | None  # simulation time of the return, or None (not back within the window)
    return_details: dict[str, Any] = field(default_factory=dict, repr=False)

    def return_body(self) -> dict[str, Any]:
        """The body for POST /v1/episodes/{id}/return."""
        if self.returned_at is None:
            raise ValueError("this episode has no return")
        return {"returned_at": _iso(self.returned_at), **self.return_details}


@dataclass(frozen=True)
class Child:
    """A child's fixed details, sent on each of their episodes."""

    index: int
    record: dict[str, Any]
    home_la: str  # where the child lives, hence which force reports them
    looked_after: bool
    exploited: bool


def generate(
    seed: int, episodes: int, start: datetime, days: float = 365.0, authorities: Sequence[str] | None = None
) -> Iterator[SyntheticEpisode]:
    """`episodes` episodes reported between `start` and `start + days`, sorted by reported_at."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    rng = random.Random(seed)
    las = tuple(authorities or data.AUTHORITIES)
    start = start.astimezone(UTC)
    end = start + timedelta(days=days)
    la_weights = [rng.lognormvariate(0, 0.6) for _ in las]
    count = max(1, min(episodes, round(episodes / EPISODES_PER_CHILD)))
    children = [_child(rng, i, las, la_weights, start, end) for i in range(count)]
    per_child = _episode_counts(rng, children, episodes)
    made: list[SyntheticEpisode] = []
    for child, n in zip(children, per_child, strict=True):
        made.extend(_episodes_of(rng, child, n, start, end, las))
    order = sorted(range(len(made)), key=lambda i: made[i].reported_at)  # stable: generation order breaks ties
    issued: dict[str, int] = {}
    for i in order:
        episode = made[i]
        issued[episode.force] = issued.get(episode.force, 0) + 1
        # Each force numbers its reports in time order, as a records system would.
        episode.report["police_reference"] = f"{_prefix(episode.force)}-{issued[episode.force]:07d}"
        yield episode


def force_of(la: str, authorities: Sequence[str]) -> str:
    """The force covering a local authority: contiguous blocks of the list, one force per block."""
    forces = data.FORCES[: max(1, min(len(data.FORCES), len(authorities)))]
    return forces[authorities.index(la) * len(forces) // len(authorities)]


def school_urn(authorities: Sequence[str], la: str, n: int) -> str:
    """The URN of the n-th school (of SCHOOLS_PER_AUTHORITY) in an authority, as the generator gives them."""
    return str(100000 + authorities.index(la) * SCHOOLS_PER_AUTHORITY + n)


def _episode_counts(rng: random.Random, children: list[Child], total: int) -> list[int]:
    """One episode each, the rest spread by weight: ~6 for looked-after children, the others share what is left."""
    looked_after = sum(c.looked_after for c in children)
    rest = len(children) - looked_after
    extra_la = LOOKED_AFTER_EPISODES - 1
    extra_other = max(0.05, (total - len(children) - extra_la * looked_after) / rest) if rest else 0.0
    # Gamma noise (shape 1) gives the long tail of children who go missing many times.
    weights = [(extra_la if c.looked_after else extra_other) * rng.gammavariate(1.0, 1.0) for c in children]
    counts = [1] * len(children)
    for i in rng.choices(range(len(children)), weights=weights, k=max(0, total - len(children))):
        counts[i] += 1
    return counts


def _child(
    rng: random.Random, i: int, las: tuple[str, ...], weights: list[float], start: datetime, end: datetime
) -> Child:
    looked_after = rng.random() < LOOKED_AFTER_SHARE
    responsible = rng.choices(las, weights=weights)[0]
    host = None
    if looked_after and len(las) > 1 and rng.random() < OUT_OF_AREA_SHARE:
        host = rng.choice([la for la in las if la != responsible])
    exploited = rng.random() < EXPLOITATION_SHARE[0 if looked_after else 1]
    markers = rng.sample(EXPLOITATION, rng.choice((1, 1, 2))) if exploited else []
    if rng.random() < 0.2:
        markers.append(rng.choice(OTHER_MARKERS))
    record: dict[str, Any] = {
        "given_name": rng.choice(data.GIVEN_NAMES),
        "family_name": rng.choice(data.FAMILY_NAMES),
        "date_of_birth": _birth_date(rng, start, end).isoformat(),
        "sex": rng.choices(("female", "male", "unknown"), weights=(52, 46, 2))[0],
        "ethnicity": rng.choice(data.ETHNICITIES),
        "postcode": _postcode(rng),
        "responsible_la": responsible,
        "looked_after": looked_after,
        "child_protection_plan": not looked_after and rng.random() < 0.08,
        "child_in_need": not looked_after and rng.random() < 0.2,
        "warning_markers": markers,
    }
    if host is not None:
        record["host_la"] = host
    if looked_after:
        record["placement_type"] = rng.choices([p for p, _ in PLACEMENTS], weights=[w for _, w in PLACEMENTS])[0]
    if rng.random() < SCHOOL_SHARE:
        record["school_urn"] = school_urn(las, host or responsible, rng.randrange(SCHOOLS_PER_AUTHORITY))
    return Child(i, record, host or responsible, looked_after, exploited)


def _birth_date(rng: random.Random, start: datetime, end: datetime) -> date:
    """Aged 8 to 17 at the start, most 13 to 16, and still under 18 at the end of the window."""
    age_years = min(17.5, max(8.0, rng.triangular(8.0, 17.9, 15.0)))
    born = (start - timedelta(days=age_years * 365.25)).date()
    last_day = (end + timedelta(days=2)).date()
    earliest = date(last_day.year - 18, last_day.month, min(last_day.day, 28)) + timedelta(days=1)
    return max(born, earliest)


def _postcode(rng: random.Random) -> str:
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    area = rng.choice(data.POSTCODE_AREAS)
    return f"{area}{rng.randrange(1, 30)} {rng.randrange(10)}{rng.choice(letters)}{rng.choice(letters)}"


def _episodes_of(
    rng: random.Random, child: Child, n: int, start: datetime, end: datetime, las: tuple[str, ...]
) -> list[SyntheticEpisode]:
    span = (end - start).total_seconds()
    times = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(n))
    force = force_of(child.home_la, las)
    made = []
    for k, reported in enumerate(times):
        reported = reported.replace(microsecond=0)
        delay = _return_delay(rng)
        back = None if delay is None else reported + delay
        following = times[k + 1] if k + 1 < len(times) else None
        if following is not None and (back is None or back >= following):
            # A child cannot go missing again before coming back: the return precedes the next report.
            back = reported + (following.replace(microsecond=0) - reported) / 2
        if back is not None and back > end:
            back = None
        made.append(_episode(rng, child, force, reported, back))
    return made


def _return_delay(rng: random.Random) -> timedelta | None:
    """79 % within 24 h (15 min to 24 h, log-uniform), 90 % within 48 h, then a week, 30 days, never."""
    u = rng.random()
    if u < 0.79:
        hours = 0.25 * math.pow(96, rng.random())
    elif u < 0.90:
        hours = rng.uniform(24, 48)
    elif u < 0.97:
        hours = rng.uniform(48, 168)
    elif u < 0.99:
        hours = rng.uniform(168, 720)
    else:
        return None
    return timedelta(seconds=max(60, round(hours * 3600)))


def _episode(
    rng: random.Random, child: Child, force: str, reported: datetime, back: datetime | None
) -> SyntheticEpisode:
    record = {**child.record, "police_person_id": f"{_prefix(force)}-P-{child.index:07d}"}
    risk_factors = []
    if child.exploited and rng.random() < 0.5:
        risk_factors.append("exploitation_concern")
    if rng.random() < 0.1:
        risk_factors.append(rng.choice(("out_of_character", "with_unknown_adult", "mental_health_need")))
    placement = record.get("placement_type")
    reporter = {"childrens_home": "childrens_home", "foster_care": "foster_carer"}.get(str(placement))
    report: dict[str, Any] = {
        "police_reference": "",  # numbered once all episodes are in time order
        "reported_at": _iso(reported),
        "last_seen_at": _iso(reported - timedelta(minutes=rng.randrange(20, 360))),
        "last_seen_location": rng.choice(data.LAST_SEEN),
        "whereabouts_known": rng.random() < 0.15,
        "risk_grade": rng.choices([g for g, _ in GRADES], weights=[w for _, w in GRADES])[0],
        "risk_factors": risk_factors,
        "circumstances": rng.choice(data.CIRCUMSTANCES),
        "reporter_type": reporter or rng.choice(("parent_or_carer", "parent_or_carer", "school", "police")),
        "provenance": {"source_system": rng.choice(data.SOURCE_SYSTEMS), "submitted_by": f"PC {rng.randrange(9999)}"},
        "child": record,
    }
    details: dict[str, Any] = {}
    if back is not None:
        details = {"return_location": rng.choice(data.RETURN_LOCATIONS), "returned_by": rng.choice(RETURNED_BY)}
        if details["returned_by"] != "self":
            details["found_at"] = _iso(back - (back - reported) * rng.uniform(0, 0.1))
        details["harm_disclosed"] = rng.random() < 0.05
    return SyntheticEpisode(force, reported, report, back, details)


def _prefix(force: str) -> str:
    return "".join(part[:2] for part in force.split("-")).upper()


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
