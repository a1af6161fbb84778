"""Migrations: applied in order, recorded, safe twice and from two nodes at once."""
from __future__ import annotations

import asyncio

import asyncpg

from server import db


async def test_migrations_apply_once_and_then_find_nothing(new_database):
    url = await new_database()
    conn = await asyncpg.connect(url)
    try:
        first = await db.migrate(conn)
        assert first == [name for _, name, _ in db.migration_files()]
        assert await db.migrate(conn) == []
        numbers = [r["number"] for r in await conn.fetch(
            "SELECT number FROM schema_migrations ORDER BY number")]
        assert numbers == [n for n, _, _ in db.migration_files()]
        assert await conn.fetchval("SELECT count(*) FROM divisions") == 2
    finally:
        await conn.close()


async def test_two_nodes_migrating_at_once_take_turns(new_database):
    url = await new_database()
    a, b = await asyncpg.connect(url), await asyncpg.connect(url)
    try:
        applied = await asyncio.gather(db.migrate(a), db.migrate(b))
        assert sorted(map(len, applied)) == [0, len(db.migration_files())]
        assert await a.fetchval("SELECT count(*) FROM divisions") == 2
    finally:
        await a.close()
        await b.close()


async def test_a_failing_migration_leaves_nothing_half_done(new_database, tmp_path, monkeypatch):
    url = await new_database()
    for number, name, path in db.migration_files():
        (tmp_path / name).write_text(path.read_text())
    (tmp_path / "0999_broken.sql").write_text(
        "CREATE TABLE half_done (id int); SELECT no_such_function();")
    monkeypatch.setattr(db, "MIGRATIONS_DIR", tmp_path)
    conn = await asyncpg.connect(url)
    try:
        try:
            await db.migrate(conn)
        except asyncpg.UndefinedFunctionError:
            pass
        else:
            raise AssertionError("the broken migration should fail")
        assert await conn.fetchval("SELECT to_regclass('half_done')") is None
        assert await conn.fetchval("SELECT max(number) FROM schema_migrations") < 999
        # The lock is released: a fixed migration set applies afterwards.
        (tmp_path / "0999_broken.sql").write_text("CREATE TABLE half_done (id int);")
        assert await db.migrate(conn) == ["0999_broken.sql"]
    finally:
        await conn.close()
