"""Periodic clean-up every node runs: expired sessions, old login failures, old events."""
from __future__ import annotations

import asyncpg

from server import events, periodic
from server.auth import sessions, throttle
from server.settings import Settings

INTERVAL_SECONDS = 600


async def clean(pool: asyncpg.Pool, settings: Settings) -> None:
    async with pool.acquire() as conn:
        await sessions.prune(conn, settings)
        await throttle.prune(conn)
        await events.prune(conn, settings.events_retention_days)


async def run(pool: asyncpg.Pool, settings: Settings) -> None:
    await periodic.repeat("housekeeping", INTERVAL_SECONDS, lambda: clean(pool, settings))
