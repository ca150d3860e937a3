"""The relay's poll stays an index lookup however many published rows the outbox holds."""

from __future__ import annotations

from sqlalchemy import text

from shared.db import is_sqlite, make_engine
from shared.outbox import pending

ROWS = 200_000
FILL = """
INSERT INTO outbox (service, event_id, event_type, topic, key, value, created_at, published_at)
SELECT CASE WHEN n % 2 = 0 THEN 'intake' ELSE 'classifier' END, 'e' || n, 't', 'episodes', 'k', {value},
       {stamp}, CASE WHEN n % 20 = 0 THEN NULL ELSE {stamp} END
FROM {numbers}
"""
STAMP = {"sqlite": "'2026-03-02 12:00:00.000000'", "postgres": "TIMESTAMPTZ '2026-03-02 12:00:00+00'"}
VALUE = {"sqlite": "X'00'", "postgres": "'\\x00'::bytea"}
NUMBERS = {
    "sqlite": f"(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {ROWS}) SELECT n FROM s)",
    "postgres": f"generate_series(1, {ROWS}) AS n",
}


async def test_the_poll_uses_the_unpublished_index_with_statistics_from_a_backlog(db_url: str) -> None:
    # Statistics taken while a backlog was pending, then the backlog published: in the national-year run
    # PostgreSQL then walked the primary key past every published row, 2 s a poll at 900,000 rows.
    kind = "sqlite" if is_sqlite(db_url) else "postgres"
    engine = make_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(FILL.format(numbers=NUMBERS[kind], value=VALUE[kind], stamp=STAMP[kind])))
            await conn.execute(text("ANALYZE outbox" if kind == "postgres" else "ANALYZE"))
            await conn.execute(text("UPDATE outbox SET published_at = created_at WHERE published_at IS NULL"))
        query = pending("classifier").compile(engine, compile_kwargs={"literal_binds": True})
        explain = "EXPLAIN QUERY PLAN " if is_sqlite(db_url) else "EXPLAIN "
        async with engine.connect() as conn:
            plan = "\n".join(str(row[-1]) for row in await conn.execute(text(explain + str(query))))
    finally:
        await engine.dispose()
    # An index seek to the unpublished rows (SQLite seeks ix_outbox_pending on service and published_at);
    # not a walk of the primary key.
    assert "pk_outbox" not in plan, plan
    assert "ix_outbox_unpublished" in plan or "ix_outbox_pending (service=? AND published_at=?)" in plan, plan
