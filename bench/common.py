"""What the benchmarks share: a throwaway database, node processes, percentiles."""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import statistics
import sys
import uuid
from pathlib import Path
from typing import AsyncIterator

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server import db  # noqa: E402
from server.local_mail import free_port  # noqa: E402
from tests.support import start_portal, stop, wait_until_serving  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values_ms: list[float]) -> dict[str, float]:
    return {"p50": statistics.median(values_ms), "p99": percentile(values_ms, 99),
            "n": len(values_ms)}


class Database:
    """A fresh, migrated database on DATABASE_URL's server or the embedded one; dropped after."""

    async def __aenter__(self) -> str:
        server = os.environ.get("DATABASE_URL") or await asyncio.to_thread(
            db.start_embedded, ROOT / "var", "postgres")
        self.admin = await asyncpg.connect(server)
        self.name = f"portal_bench_{uuid.uuid4().hex[:10]}"
        await self.admin.execute(f'CREATE DATABASE "{self.name}"')
        self.url = db.with_database(server, self.name)
        conn = await asyncpg.connect(self.url)
        await db.migrate(conn)
        await conn.close()
        return self.url

    async def __aexit__(self, *exc: object) -> None:
        await self.admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        await self.admin.close()


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass


@contextlib.asynccontextmanager
async def nodes(database_url: str, count: int = 2) -> AsyncIterator[list[str]]:
    """`count` portal processes on one database, serving; their URLs.

    Their output is read as it comes: uvicorn logs every socket and request, and a node whose
    pipe fills up stops dead in the middle of a run.
    """
    started = [await start_portal(database_url) for _ in range(count)]
    drains = [asyncio.create_task(_drain(process.stdout)) for process, _ in started]
    try:
        for _, url in started:
            await wait_until_serving(url)
        yield [url for _, url in started]
    finally:
        for task in drains:
            task.cancel()
        await asyncio.gather(*drains, return_exceptions=True)
        for process, _ in started:
            await stop(process)


async def make_clients(conn: asyncpg.Connection, count: int, division: str = "therapy",
                       ) -> list[tuple[int, str]]:
    """`count` client accounts with live sessions: [(user_id, session cookie token)].

    Sessions are written directly: hashing 1,000 passwords would measure argon2, not us.
    """
    tag = uuid.uuid4().hex[:6]
    ids = [r["id"] for r in await conn.fetch(
        """INSERT INTO users (email, name, role)
           SELECT 'bench' || g || '-' || $2 || '@example.test', 'Bench ' || g, 'client'
           FROM generate_series(1, $1) g RETURNING id""", count, tag)]
    await conn.execute(
        "INSERT INTO memberships SELECT u, d.id FROM unnest($1::bigint[]) u, divisions d "
        "WHERE d.slug = $2", ids, division)
    tokens = [secrets.token_urlsafe(32) for _ in ids]
    await conn.executemany(
        "INSERT INTO web_sessions (token_hash, user_id, csrf_token, expires_at) "
        "VALUES ($1, $2, 'bench', now() + interval '12 hours')",
        [(hashlib.sha256(t.encode()).digest(), i) for i, t in zip(ids, tokens)])
    return list(zip(ids, tokens))


__all__ = ["Database", "free_port", "make_clients", "nodes", "percentile", "start_portal",
           "stop", "summary", "wait_until_serving"]
