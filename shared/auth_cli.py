"""Create, list and revoke API keys: python -m shared.auth_cli create --role police --tenant NB."""

from __future__ import annotations

import argparse
import asyncio
import sys

from sqlalchemy import select

from shared.auth import ApiKey, Role, create_key, revoke_key
from shared.clock import SystemClock
from shared.config import ServiceSettings, load_settings
from shared.db import make_engine, make_session_factory
from shared.errors import AppError


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(prog="python -m shared.auth_cli", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create a key and print it once")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--tenant", required=True, help="force code, local-authority code or partnership id")
    create.add_argument("--label", default="", help="who or what the key is for")
    revoke = sub.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")
    sub.add_parser("list", help="list keys (ids, roles, tenants; never secrets)")
    return p


async def run(args: argparse.Namespace, database_url: str) -> str:
    """Execute one command against the database and return what to print."""
    engine = make_engine(database_url)
    clock = SystemClock()
    try:
        async with make_session_factory(engine)() as session, session.begin():
            if args.command == "create":
                row, secret = await create_key(
                    session, role=Role(args.role), tenant=args.tenant, label=args.label, now=clock.now()
                )
                return f"key_id={row.id} role={row.role} tenant={row.tenant}\n{secret}"
            if args.command == "revoke":
                row = await revoke_key(session, key_id=args.key_id, now=clock.now())
                return f"revoked {row.id} at {row.revoked_at:%Y-%m-%dT%H:%M:%SZ}"
            rows = (await session.scalars(select(ApiKey).order_by(ApiKey.created_at))).all()
            return "\n".join(
                f"{r.id} {r.role} {r.tenant} {'revoked' if r.revoked_at else 'active'} {r.label}" for r in rows
            )
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parser().parse_args(argv)
    settings = load_settings(ServiceSettings)
    try:
        print(asyncio.run(run(args, settings.database_url)))
    except AppError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
