"""API key hashing, role checks and JSON pointers for validation errors."""

from __future__ import annotations

import pytest

from shared.auth import TENANT_PATTERN, Principal, Role, check_role, hash_key
from shared.errors import Forbidden
from shared.http import pointer


def test_hash_key_is_sha256_hex() -> None:
    assert hash_key("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_hash_key_is_deterministic_and_distinct() -> None:
    assert hash_key("mcn_one") == hash_key("mcn_one")
    assert hash_key("mcn_one") != hash_key("mcn_two")
    assert len(hash_key("mcn_one")) == 64


@pytest.mark.parametrize("role", [Role.POLICE, Role.ADMIN])
def test_check_role_admits_allowed(role: Role) -> None:
    principal = Principal(key_id="k1", role=role, tenant="cleveland")
    assert check_role(principal, frozenset({Role.POLICE, Role.ADMIN})) is principal


@pytest.mark.parametrize("role", [Role.SOCIAL_CARE, Role.MSET, Role.OPS])
def test_check_role_forbids_others(role: Role) -> None:
    principal = Principal(key_id="k1", role=role, tenant="cleveland")
    with pytest.raises(Forbidden, match=f"role '{role.value}'") as exc:
        check_role(principal, frozenset({Role.POLICE, Role.ADMIN}))
    assert exc.value.status == 403
    assert "admin, police" in exc.value.detail


@pytest.mark.parametrize(
    ("tenant", "ok"),
    [
        ("cleveland", True),
        ("E06000002", True),
        ("tees.mset-1_a", True),
        ("a" * 64, True),
        ("", False),
        ("-lead", False),
        ("a" * 65, False),
        ("has space", False),
        ("slash/x", False),
    ],
)
def test_tenant_pattern(tenant: str, ok: bool) -> None:
    assert bool(TENANT_PATTERN.match(tenant)) is ok


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        (("body", "child", "date_of_birth"), "/child/date_of_birth"),
        (("body", "items", 0, "name"), "/items/0/name"),
        (("query", "limit"), "/query/limit"),
        (("body", "a~b"), "/a~0b"),
        (("body", "a/b"), "/a~1b"),
        (("body", "~1"), "/~01"),
    ],
)
def test_pointer(loc: tuple[int | str, ...], expected: str) -> None:
    assert pointer(loc) == expected


def test_pointer_to_whole_body() -> None:
    assert pointer(("body",)) == ""
