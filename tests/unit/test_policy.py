"""The partnership policy file is validated at start with one-line, helpful errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from services.notifier.app import check_policy
from services.notifier.routing import Facts, choose
from shared.policy import Policy, PolicyError, load_policy
from shared.policy.notifications import DEFAULT_RULES, Audience

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "policy.example.yaml"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def recipient(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "middlesbrough-rhi",
        "organisation": "Middlesbrough RHI",
        "audience": "social_care",
        "role": "rhi_provider",
        "local_authority": "E06000002",
        "channels": [{"type": "webhook", "url": "https://hooks.example.org/a", "secrets": [SECRET]}],
    }
    return {**base, **changes}


def policy(recipients: list[dict[str, object]] | None = None, **changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "version": 1,
        "partnerships": [{"id": "tees", "name": "Tees", "local_authorities": ["E06000002"]}],
        "local_authorities": [{"code": "E06000002", "name": "Middlesbrough"}],
        "notifications": {"recipients": [recipient()] if recipients is None else recipients},
    }
    return {**base, **changes}


EMAIL = {"type": "email", "to": ["rhi@middlesbrough.example.org"]}


def rule(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "task-to-rhi-provider",
        "events": ["rhi.opened"],
        "send_to": [{"role": "rhi_provider", "of": "responsible_la"}],
    }
    return {**base, **changes}


def notifications(**section: object) -> dict[str, object]:
    return policy(notifications={"recipients": [recipient()], **section})


def partnerships(*members: list[str]) -> list[dict[str, object]]:
    return [{"id": f"p{i}", "name": f"P{i}", "local_authorities": codes} for i, codes in enumerate(members)]


def write(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content), encoding="utf-8")
    return path


def error(path: Path) -> str:
    with pytest.raises(PolicyError) as exc:
        load_policy(path)
    message = str(exc.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_example_policy_loads() -> None:
    loaded = load_policy(EXAMPLE)
    assert [p.id for p in loaded.partnerships] == ["tees", "durham-darlington"]
    assert loaded.partnership_of("E06000004") == "tees"
    assert loaded.authorities_of("durham-darlington") == {"E06000047", "E06000005"}
    chosen = choose(loaded, "rhi.opened", Facts(responsible_la="E06000003"))
    assert [c.recipient.id for c in chosen] == ["redcar-rhi"]
    assert loaded.notifications.rules == list(DEFAULT_RULES), "the example writes out the defaults"
    check_policy(loaded)


def test_valid_policy_loads(tmp_path: Path) -> None:
    loaded = load_policy(write(tmp_path, policy()))
    notifications = loaded.notifications
    assert notifications.recipients[0].audience is Audience.SOCIAL_CARE
    assert notifications.effective_rules == DEFAULT_RULES
    assert [c.recipient for c in choose(loaded, "rhi.opened", Facts("E06000002"))] == notifications.recipients
    assert choose(loaded, "rhi.opened", Facts("E06000003")) == []
    assert choose(loaded, "rhi.completed", Facts("E06000002")) == []
    assert loaded.partnership_of("E06000099") is None
    assert loaded.authorities_of("nowhere") == frozenset()


def test_missing_file(tmp_path: Path) -> None:
    assert "cannot read" in error(tmp_path / "absent.yaml")


def test_invalid_yaml(tmp_path: Path) -> None:
    assert "not valid YAML" in error(write(tmp_path, "partnerships: [tees\nrecipients: {"))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (policy(partnershp="tees"), "partnershp"),
        (policy(recipients=[recipient(colour="red")]), "colour"),
        (policy(partnerships=[]), "partnerships"),
        (policy(partnerships=partnerships(["E06000099"])), "undeclared local authority E06000099"),
        (policy(partnerships=partnerships(["E06000002"], ["E06000002"])), "is in partnerships p0 and p1"),
        (policy(classifier={"absent_escalation_after": "a day"}), "classifier.absent_escalation_after"),
        (policy(rhi={"rhi_for_absnt": False}), "rhi.rhi_for_absnt"),
        (policy(local_authorities=[{"code": "E0600000", "name": "Short"}]), "code"),
        (policy(local_authorities=[{"code": "X06000002", "name": "Wrong"}]), "code"),
        (policy(recipients=[recipient(local_authority="E06000099")]), "unknown local authority E06000099"),
        (policy(recipients=[recipient(), recipient()]), "recipient ids must be unique"),
        (policy(recipients=[recipient(channels=[{"url": "https://h.example", "secrets": ["abc"]}])]), "secrets"),
        (policy(recipients=[recipient(channels=[{"url": "https://h.example", "secrets": []}])]), "secrets"),
        (policy(recipients=[recipient(audience="press")]), "audience"),
        (policy(recipients=[recipient(events=["rhi.opened"])]), "recipients[0].events"),
        (policy(recipients=[recipient(partnership="tees")]), "exactly one of"),
        (policy(recipients=[recipient(local_authority=None)]), "exactly one of"),
        (policy(recipients=[recipient(channels=[{"type": "email", "to": ["not an address"]}])]), "to"),
        (policy(recipients=[recipient(channels=[{"type": "sms", "to": ["a@b.example"]}])]), "channels"),
        (policy(recipients=[recipient(channels=[EMAIL, EMAIL])]), "one channel of each type"),
        (notifications(rules=[rule(events=["episode.misplaced"])]), "unknown event type episode.misplaced"),
        (notifications(rules=[rule(send_to=[{"role": "rhi_providr", "of": "responsible_la"}])]), "role rhi_providr"),
        (notifications(rules=[rule(send_to=[{"role": "rhi_provider", "of": "county"}])]), "send_to[0].of"),
        (notifications(rules=[rule(when={"risk_grade": ["purple"]})]), "when.risk_grade"),
        (notifications(rules=[rule(when={"host_la": ["E06000099"]})]), "unknown local authority E06000099"),
        (notifications(rules=[rule(), rule()]), "rule ids must be unique"),
        (notifications(rules=[rule(timing="digest")]), "no digest schedule"),
        (notifications(school_mornings={"release_at": 540}), "HH:MM"),
        (notifications(school_mornings={"timezone": "Europe/Londres"}), "unknown time zone"),
        (notifications(local_authority_contacts={"E06000099": "01234"}), "unknown local authority E06000099"),
        (policy(version=2), "version"),
    ],
)
def test_invalid_policy(tmp_path: Path, content: dict[str, object], problem: str) -> None:
    assert problem.lower() in error(write(tmp_path, content)).lower()


@pytest.mark.parametrize(
    ("content", "key"),
    [
        (policy(partnershp="tees"), "partnershp"),
        (policy(recipients=[recipient(colour="red")]), "notifications.recipients[0].colour"),
    ],
)
def test_keys_are_named_as_written(tmp_path: Path, content: dict[str, object], key: str) -> None:
    assert key in error(write(tmp_path, content))


def test_bad_secret_is_not_echoed(tmp_path: Path) -> None:
    raw = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    content = policy(recipients=[recipient(channels=[{"url": "https://h.example", "secrets": [raw]}])])
    assert raw not in error(write(tmp_path, content))


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_bytes(
        yaml.safe_dump(
            policy(partnerships=[{"id": "ynys-mon", "name": "Ynys Môn", "local_authorities": ["E06000002"]}]),
            allow_unicode=True,
        ).encode("cp1252")
    )
    error(path)


def test_check_policy_rejects_audience_without_notice() -> None:
    loaded = Policy.model_validate(policy(recipients=[recipient(id="school-a", audience="school")]))
    pattern = r"notifications\.rules\[5\] \(task-to-rhi-provider\)\.send_to\[0\]: role rhi_provider \(audience school\)"
    with pytest.raises(PolicyError, match=pattern + r" has no notice for rhi\.opened"):
        check_policy(loaded)


def test_check_policy_rejects_unknown_partnership() -> None:
    ops = recipient(id="ops", audience="ops", role="ops", local_authority=None, partnership="teesside")
    loaded = Policy.model_validate(policy(recipients=[recipient(), ops]))
    with pytest.raises(PolicyError, match=r"recipients\[1\] \(ops\) names unknown partnership teesside"):
        check_policy(loaded)


def test_check_policy_keeps_school_notices_for_school_mornings() -> None:
    dsl = recipient(id="dsl", audience="school", role="dsl", local_authority=None, school_urn="123456")
    rules = [rule(id="school-now", events=["episode.classified"], send_to=[{"role": "dsl", "of": "school"}])]
    loaded = Policy.model_validate(policy(notifications={"recipients": [dsl], "rules": rules}))
    with pytest.raises(PolicyError, match="only they, have timing school_morning"):
        check_policy(loaded)


def test_check_policy_accepts_social_care_rhi() -> None:
    check_policy(Policy.model_validate(policy()))
