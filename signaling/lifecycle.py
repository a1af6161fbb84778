"""The video pieces a node runs: the pre-check peers, the relay, and pruning of signaling."""
from __future__ import annotations

import asyncio
import logging

import asyncpg
from starlette.applications import Starlette

from media.precheck import PrecheckService
from media.relay import RelayService
from signaling import protocol, relay_messages  # noqa: F401  (importing registers the /ws handlers)

log = logging.getLogger(__name__)
PRUNE_SECONDS = 3600


async def _prune(pool: asyncpg.Pool) -> None:
    while True:
        try:
            async with pool.acquire() as conn:
                await protocol.prune(conn)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("pruning video signaling failed: %s", exc)
        await asyncio.sleep(PRUNE_SECONDS)


def start(app: Starlette) -> list[asyncio.Task]:
    settings = app.state.settings
    # The server's own peers need no TURN: they answer at the node's own addresses.
    stun = [{"urls": list(settings.video_stun_urls)}] if settings.video_stun_urls else []
    app.state.precheck = PrecheckService(stun)
    app.state.relay = RelayService(app.state.pool, stun)
    return [asyncio.create_task(_prune(app.state.pool))]


async def stop(app: Starlette) -> None:
    # Peers whose socket closed moments ago stay in the room's table; the other side heals
    # (it offers to whoever arrives) and pruning removes the rows.
    for task in list(protocol.pending_leaves):
        task.cancel()
    await app.state.precheck.stop()
    await app.state.relay.stop()
