"""Periodic clean-up every node runs: expired sessions and old login failures."""
from __future__ import annotations

import asyncio
import logging

import asyncpg

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
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("housekeeping failed: %s", exc)
        await asyncio.sleep(INTERVAL_SECONDS)
