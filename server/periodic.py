"""Background jobs every node runs on a timer."""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

import asyncpg

log = logging.getLogger(__name__)


async def repeat(name: str, interval: float, job: Callable[[], Awaitable[object]]) -> None:
    """Run `job` every `interval` seconds for ever; a failure is logged and tried next time."""
    while True:
        try:
            await job()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("%s failed: %s", name, exc)
        await asyncio.sleep(interval)
