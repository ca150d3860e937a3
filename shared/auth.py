"""Bearer API keys bound to a principal {role, tenant}; keys are stored only as SHA-256 hashes."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, UTCDateTime
from shared.errors import Forbidden, InvalidInput, NotFound, Unauthenticated

KEY_PREFIX = "mcn_"
TENANT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class Role(StrEnum):
    """What a principal is allowed to do; the tenant says over whose data."""

    POLICE = "police"
    SOCIAL_CARE = "social_care"
    MSET = "mset"
    OPS = "ops"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a role within one tenant (force, local authority or partnership)."""

    key_id: str
    role: Role
    tenant: str


class ApiKey(Base):
    """A bearer key; the secret itself is never stored, only its hash."""

    __tablename__ = "auth_api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    tenant: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


def hash_key(secret: str) -> str:
    """Hash a key; keys are 256-bit random, so a fast hash cannot be brute-forced."""
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_key(
    session: AsyncSession, *, role: Role, tenant: str, label: str, now: datetime
) -> tuple[ApiKey, str]:
    """Create a key and return the row and the secret, which is shown only once."""
    if not TENANT_PATTERN.match(tenant):
        raise InvalidInput(f"tenant {tenant!r} must be 1-64 letters, digits, '_', '.' or '-'")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        id=str(uuid.uuid4()), key_hash=hash_key(secret), role=role.value, tenant=tenant, label=label, created_at=now
    )
    session.add(row)
    await session.flush()
    return row, secret


async def revoke_key(session: AsyncSession, *, key_id: str, now: datetime) -> ApiKey:
    """Revoke a key by id; revoking twice keeps the first time."""
    row = await session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"no API key with id {key_id}")
    if row.revoked_at is None:
        row.revoked_at = now
    return row


async def authenticate(session: AsyncSession, authorization: str | None) -> Principal:
    """Turn an Authorization header into a principal, or raise Unauthenticated."""
    if not authorization:
        raise Unauthenticated("missing Authorization header; send 'Authorization: Bearer <api key>'")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must use the Bearer scheme")
    row = await session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(token.strip())))
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("unknown or revoked API key")
    return Principal(key_id=row.id, role=Role(row.role), tenant=row.tenant)


def check_role(principal: Principal, allowed: frozenset[Role]) -> Principal:
    """Return the principal if its role is allowed, else raise Forbidden."""
    if principal.role not in allowed:
        names = ", ".join(sorted(r.value for r in allowed))
        raise Forbidden(f"role {principal.role.value!r} may not do this; allowed: {names}")
    return principal


class PrincipalCache:
    """Remembers authenticated keys for `ttl` so a request costs no key lookup; a revocation
    therefore takes effect within `ttl` (default 5 s)."""

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._entries: dict[str, tuple[float, Principal]] = {}
        self.inflight: dict[str, asyncio.Future[Principal]] = {}

    def get(self, authorization: str, now: float) -> Principal | None:
        """The cached principal for this header, if still fresh."""
        entry = self._entries.get(authorization)
        if entry is None or entry[0] < now:
            return None
        return entry[1]

    def put(self, authorization: str, principal: Principal, now: float) -> None:
        """Remember a successful authentication."""
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[authorization] = (now + self._ttl, principal)
