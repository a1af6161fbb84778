"""Periodic clean-up every node runs: expired sessions, old login failures, old events."""
from __future__ import annotations

import asyncio
import logging

import asyncpg

from server import events
from server.auth import sessions, throttle
from server.settings import Settings

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 600


async def run(pool: asyncpg.Pool, settings: Settings) -> None:
    while True:
        try:
            async with pool.acquire() as conn:
                await sessions.prune(conn, settings)
                await throttle.prune(conn)
                await events.prune(conn, settings.events_retention_days)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("housekeeping failed: %s", exc)
        await asyncio.sleep(INTERVAL_SECONDS)
