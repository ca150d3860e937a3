"""The synthetic episode generator: repeatable, shaped like a national year, and valid for the intake."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from devstack.synthetic import SyntheticEpisode, force_of, generate
from devstack.synthetic_data import AUTHORITIES
from services.intake.schemas import EpisodeReport, EpisodeReturn
from services.intake.service import report_errors
from shared.events.codes import EXPLOITATION_MARKERS

START = datetime(2026, 1, 1, tzinfo=UTC)
N = 20_000


@pytest.fixture(scope="module")
def year() -> list[SyntheticEpisode]:
    """20,000 episodes over a year."""
    return list(generate(seed=11, episodes=N, start=START))


def child_of(episode: SyntheticEpisode) -> tuple[str, str]:
    """A child is known by force and police person id."""
    return episode.force, episode.report["child"]["police_person_id"]


def test_same_seed_same_output_and_another_seed_differs() -> None:
    first = [(e.force, e.report, e.returned_at, e.return_details) for e in generate(3, 500, START)]
    again = [(e.force, e.report, e.returned_at, e.return_details) for e in generate(3, 500, START)]
    other = [(e.force, e.report, e.returned_at, e.return_details) for e in generate(4, 500, START)]
    assert first == again
    assert first != other


def test_count_order_and_window(year: list[SyntheticEpisode]) -> None:
    assert len(year) == N
    times = [e.reported_at for e in year]
    assert times == sorted(times)
    assert times[0] >= START
    assert times[-1] < START + timedelta(days=365)
    assert len({(e.force, e.report["police_reference"]) for e in year}) == N


def test_children_and_looked_after_episodes(year: list[SyntheticEpisode]) -> None:
    per_child = Counter(child_of(e) for e in year)
    assert len(per_child) == pytest.approx(N * 72_000 / 210_000, rel=0.01)
    looked_after = Counter(child_of(e) for e in year if e.report["child"]["looked_after"])
    assert sum(looked_after.values()) / len(looked_after) == pytest.approx(6.0, rel=0.08)
    assert max(per_child.values()) >= 15  # a long tail of children missing again and again


def test_same_person_details_on_every_episode_of_a_child(year: list[SyntheticEpisode]) -> None:
    seen: dict[tuple[str, str], dict[str, object]] = {}
    for e in year:
        assert seen.setdefault(child_of(e), e.report["child"]) == e.report["child"]


def test_return_delays(year: list[SyntheticEpisode]) -> None:
    hours = [(e.returned_at - e.reported_at) / timedelta(hours=1) if e.returned_at else None for e in year]
    within = [h for h in hours if h is not None]
    assert sum(h < 24 for h in within) / N == pytest.approx(0.79, abs=0.02)
    assert sum(h < 48 for h in within) / N == pytest.approx(0.90, abs=0.02)
    assert 0 < hours.count(None) / N < 0.03
    assert all(h > 0 for h in within)


def test_markers_out_of_area_and_schools(year: list[SyntheticEpisode]) -> None:
    children = {child_of(e): e.report["child"] for e in year}.values()
    exploited = [c for c in children if EXPLOITATION_MARKERS & set(c["warning_markers"])]
    assert len(exploited) / len(children) == pytest.approx(0.12, abs=0.02)
    looked_after = [c for c in children if c["looked_after"]]
    away = [c for c in looked_after if c.get("host_la")]
    assert len(away) / len(looked_after) == pytest.approx(0.4, abs=0.03)
    assert all(c["host_la"] != c["responsible_la"] for c in away)
    assert sum("school_urn" in c for c in children) / len(children) == pytest.approx(0.85, abs=0.02)


def test_reported_by_the_force_where_the_child_lives(year: list[SyntheticEpisode]) -> None:
    for e in year[:2000]:
        child = e.report["child"]
        assert e.force == force_of(child.get("host_la") or child["responsible_la"], AUTHORITIES)


def test_every_body_passes_intake_validation(year: list[SyntheticEpisode]) -> None:
    for e in year:
        report = EpisodeReport.model_validate(e.report)
        assert report_errors(report, now=e.reported_at, skew=timedelta(0)) == []
        assert report.reported_at == e.reported_at
        if e.returned_at is None:
            continue
        back = EpisodeReturn.model_validate(e.return_body())
        assert back.returned_at == e.returned_at >= e.reported_at
        assert back.found_at is None or e.reported_at <= back.found_at <= back.returned_at


def test_a_return_comes_before_the_same_childs_next_report(year: list[SyntheticEpisode]) -> None:
    last_back: dict[tuple[str, str], datetime | None] = {}
    for e in year:
        previous = last_back.get(child_of(e), START)
        assert previous is not None
        assert previous <= e.reported_at
        last_back[child_of(e)] = e.returned_at


def test_only_the_given_authorities_are_used() -> None:
    las = ["E06000001", "E06000002", "E06000003", "E06000004"]
    for e in generate(5, 300, START, days=30, authorities=las):
        assert e.report["child"]["responsible_la"] in las
        assert e.report["child"].get("host_la", las[0]) in las
