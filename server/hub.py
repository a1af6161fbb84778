"""The event hub: every node LISTENs on one connection and pushes events to its own sockets.

One consumer task per node does all the delivering, in id order: it catches up after every
wake-up (a NOTIFY, or a re-LISTEN after the connection dropped) from the node's cursor, and
it replays a resuming socket's missed events before that socket gets live ones, so a socket
sees each event once and in order. Each socket has its own send queue, so one slow phone
does not hold up the others.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import random
from typing import Callable

import asyncpg
from starlette.websockets import WebSocket, WebSocketDisconnect

from server import events

log = logging.getLogger(__name__)

PING_INTERVAL = 10.0  # how often the LISTEN connection is checked
PING_TIMEOUT = 5.0
SEND_QUEUE_LIMIT = 1000  # a socket this far behind is closed; it resumes on reconnect
LISTEN_APP_NAME = "portal-listen"  # how the LISTEN connection shows in pg_stat_activity


class Socket:
    """One open WebSocket of one user: a tab on a phone or a desktop."""

    def __init__(self, websocket: WebSocket, user_id: int, last_id: int = 0) -> None:
        self.websocket = websocket
        self.user_id = user_id
        # The newest event id this socket has been given; a client resuming on another node
        # may be ahead of this node's cursor, and must not get those events twice.
        self.last_id = last_id
        self.queue: asyncio.Queue[dict | None] = asyncio.Queue()
        self.sender = asyncio.create_task(self._send_loop())

    def push(self, message: dict) -> None:
        if message.get("type") == "event":
            if message["id"] <= self.last_id:
                return
            self.last_id = message["id"]
        if self.queue.qsize() >= SEND_QUEUE_LIMIT:
            self.queue.put_nowait(None)  # the sender closes; the client resumes from its id
        else:
            self.queue.put_nowait(message)

    async def _send_loop(self) -> None:
        try:
            while (message := await self.queue.get()) is not None:
                await self.websocket.send_json(message)
            await self.websocket.close(code=1013)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass

    async def close(self) -> None:
        self.sender.cancel()
        await asyncio.gather(self.sender, return_exceptions=True)


class Hub:
    def __init__(self, pool: asyncpg.Pool, database_url: str) -> None:
        self.pool = pool
        self.database_url = database_url
        self.sockets: dict[int, set[Socket]] = collections.defaultdict(set)
        self.cursor = 0
        self.listening = asyncio.Event()
        self._wake = asyncio.Event()
        self._dirty = False
        self._attaching: collections.deque[tuple[Socket, int | None]] = collections.deque()
        self._tasks: list[asyncio.Task] = []
        # other wake-ups carried on the same LISTEN connection: channel -> callback
        self.wake_ups: dict[str, Callable[[], None]] = {}

    async def start(self) -> None:
        self.cursor = await events.latest_id(self.pool)
        self._tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._consume())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for group in list(self.sockets.values()):
            for socket in list(group):
                await socket.close()

    def attach(self, socket: Socket, resume_after: int | None) -> None:
        """Start delivering to `socket`; with `resume_after`, first replay what it missed."""
        self._attaching.append((socket, resume_after))
        self._wake.set()

    def detach(self, socket: Socket) -> None:
        group = self.sockets.get(socket.user_id)
        if group is not None:
            group.discard(socket)
            if not group:
                del self.sockets[socket.user_id]

    def connected_users(self) -> int:
        return len(self.sockets)

    def _mark_dirty(self, *_: object) -> None:
        self._dirty = True
        self._wake.set()

    async def _consume(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                while self._attaching:
                    socket, resume_after = self._attaching[0]
                    await self._replay(socket, resume_after)
                    self._attaching.popleft()
                if self._dirty:
                    self._dirty = False
                    await self._catch_up()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("event delivery paused: %s", exc)
                self._dirty = True
                await asyncio.sleep(1.0)
                self._wake.set()

    async def _replay(self, socket: Socket, resume_after: int | None) -> None:
        """Events up to the node's cursor that the socket missed, then live delivery."""
        if resume_after is None:
            socket.last_id = self.cursor
        elif resume_after < self.cursor:
            last = resume_after
            while True:
                rows = await events.after(self.pool, [socket.user_id], last)
                rows = [r for r in rows if r["id"] <= self.cursor]
                for row in rows:
                    socket.push(events.as_json(row))
                if not rows or rows[-1]["id"] >= self.cursor:
                    break
                last = rows[-1]["id"]
        self.sockets[socket.user_id].add(socket)

    async def _catch_up(self) -> None:
        """Deliver every event committed since the cursor to the sockets on this node."""
        while True:
            async with self.pool.acquire() as conn:
                async with conn.transaction(isolation="repeatable_read", readonly=True):
                    top = await events.latest_id(conn)
                    users = list(self.sockets)
                    rows = await events.after(conn, users, self.cursor, limit=5000) \
                        if users and top > self.cursor else []
            for row in rows:
                message = events.as_json(row)
                for socket in list(self.sockets.get(row["recipient_id"], ())):
                    socket.push(message)
            if len(rows) == 5000:
                self.cursor = rows[-1]["id"]  # more to read at this snapshot
                continue
            self.cursor = max(self.cursor, top)
            return

    async def _listen(self) -> None:
        """Keep one LISTEN connection alive; after every (re)connect, replay from the table."""
        backoff = 0.5
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(
                    self.database_url, server_settings={"application_name": LISTEN_APP_NAME})
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn: lost.set())
                await conn.add_listener(events.CHANNEL, self._mark_dirty)
                for channel, wake in self.wake_ups.items():
                    await conn.add_listener(channel, lambda *_, wake=wake: wake())
                    wake()  # anything queued while we were not listening
                self.listening.set()
                self._mark_dirty()  # notifications sent while we were not listening are gone
                backoff = 0.5
                while not lost.is_set():
                    try:
                        await asyncio.wait_for(lost.wait(), PING_INTERVAL)
                    except TimeoutError:
                        await asyncio.wait_for(conn.fetchval("SELECT 1"), PING_TIMEOUT)
                log.warning("LISTEN connection closed by the server; reconnecting")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("LISTEN connection failed: %s", exc)
            finally:
                self.listening.clear()
                if conn is not None:
                    conn.terminate()
            await asyncio.sleep(backoff * (1 + random.random()))
            backoff = min(backoff * 2, 10.0)
