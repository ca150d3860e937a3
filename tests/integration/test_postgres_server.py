"""Integration test: devstack.postgres starts a real server that asyncpg can use, and stops cleanly."""

from __future__ import annotations

import asyncio
import socket

import asyncpg
import pytest

from devstack.postgres import PostgresServer, start_postgres


async def _round_trip(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("select 1") == 1
        await conn.execute("create table items (id serial primary key, name text not null)")
        await conn.execute("insert into items (name) values ($1), ($2)", "alpha", "beta")
        rows = await conn.fetch("select name from items order by id")
        assert [r["name"] for r in rows] == ["alpha", "beta"]
        assert await conn.fetchval("select current_database()") == "app_test"
    finally:
        await conn.close()


def _accepts(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


def test_start_create_database_round_trip_and_stop() -> None:
    pg = start_postgres()
    try:
        assert pg.host == "127.0.0.1"
        assert pg.user == "postgres"
        assert _accepts(pg.host, pg.port)
        url = pg.create_database("app_test")
        assert url == f"postgresql+asyncpg://postgres@127.0.0.1:{pg.port}/app_test"
        asyncio.run(_round_trip(pg.url("app_test", driver="")))
    finally:
        pg.stop()
    assert not _accepts(pg.host, pg.port)
    assert not pg.tmp_dir.exists()
    pg.stop()  # idempotent


def test_context_manager_stops_server() -> None:
    with start_postgres() as pg:
        assert isinstance(pg, PostgresServer)
        assert _accepts(pg.host, pg.port)
    assert not _accepts(pg.host, pg.port)
    assert not pg.tmp_dir.exists()


def test_create_database_error_is_reported() -> None:
    with start_postgres() as pg:
        pg.create_database("dup")
        with pytest.raises(RuntimeError, match="already exists"):
            pg.create_database("dup")
