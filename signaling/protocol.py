"""The video room protocol over the page's one WebSocket (/ws), across any number of nodes.

Browser -> server (JSON on /ws; handled by whichever node holds that socket):
  {"type": "video.join",   "appointment_id", "peer_id"}
  {"type": "video.signal", "appointment_id", "peer_id", "to", "data"}  offer, answer, candidate
  {"type": "video.reload", "appointment_id", "peer_id"}   "I am rebuilding my connection"
  {"type": "video.leave",  "appointment_id", "peer_id"}
Server -> that socket only:
  {"type": "video.joined", "appointment_id", "peer_id", "peers": [...], "ice_servers", "relay"}
  {"type": "video.error",  "appointment_id", "code", "message"}
Server -> the other participant, as events (kinds "video.presence" and "video.signal"):
  presence: {"appointment_id", "peer_id", "user_id", "name", "role",
             "state": "arrived" | "left" | "reloading"}
  signal:   {"appointment_id", "from", "to", "data"}

How it crosses nodes. Nothing of a room lives in a node's memory. Who is in a room is the
`video_presence` table; every message meant for the other participant is an event (the
`events` table plus NOTIFY, written in the transaction that checks the sender is in the room),
and the event hub of whichever node holds the other participant's socket delivers it, in
order and once, exactly as it delivers notifications. So the two participants may be on
different nodes, and a participant whose socket drops and comes back through another node
resumes from its last event id without losing an offer or a candidate. A node knows only which
of its own sockets joined which room: when such a socket closes without "leave", it announces
"left" after LEAVE_GRACE_SECONDS unless the peer has joined again meanwhile, through any node
(its presence row's joined_at says so), so a phone changing networks keeps its call.

`peer_id` is a random id the room page makes per load, so a participant's second tab, or the
same page after a reload, is a new peer; signals carry `to` and a page ignores those for
other peers. Signaling rows hold session descriptions (addresses), so `prune` removes them
after a day rather than keeping them with the ordinary 30-day events.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import datetime
from typing import Any

import asyncpg
from starlette.websockets import WebSocket

from server import audit, events, ws
from server.auth.principal import Principal
from server.errors import ApiError
from signaling import access, ice

log = logging.getLogger(__name__)

PEER_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_SIGNAL_BYTES = 48 * 1024
SIGNAL_KINDS = {"offer", "answer", "candidate", "mode"}
SIGNAL_RETENTION_HOURS = 24
LEAVE_GRACE_SECONDS = 8.0  # a dropped socket has this long to come back before "left"
pending_leaves: set[asyncio.Task] = set()


class BadMessage(ApiError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(400, "bad_message", message, field)


def reply(websocket: WebSocket, message: dict) -> None:
    websocket.state.socket.push(message)


def joined_peers(websocket: WebSocket) -> set[tuple[int, str]]:
    if not hasattr(websocket.state, "video_peers"):
        websocket.state.video_peers = set()
    return websocket.state.video_peers


def appointment_of(message: dict) -> int:
    value = message.get("appointment_id")
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**63:
        raise BadMessage("appointment_id must be a positive whole number.", "appointment_id")
    return value


def peer_of(message: dict, field: str = "peer_id") -> str:
    value = message.get(field)
    if not isinstance(value, str) or not PEER_ID.match(value):
        raise BadMessage(f"{field} must be 8 to 64 letters, digits, - or _.", field)
    return value


def role_of(appointment_client_id: int, user_id: int) -> str:
    return "client" if user_id == appointment_client_id else "clinician"


async def room_member(conn: asyncpg.Connection, appointment_id: int, peer_id: str,
                      user_id: int) -> asyncpg.Record | None:
    """The appointment's participants if this peer of this user is in its room."""
    return await conn.fetchrow(
        """SELECT a.client_id, a.clinician_id, u.name FROM video_presence p
           JOIN appointments a ON a.id = p.appointment_id JOIN users u ON u.id = p.user_id
           WHERE p.appointment_id = $1 AND p.peer_id = $2 AND p.user_id = $3""",
        appointment_id, peer_id, user_id)


def others(member: asyncpg.Record, user_id: int) -> list[int]:
    return [u for u in (member["client_id"], member["clinician_id"]) if u != user_id]


async def announce(conn: asyncpg.Connection, member: asyncpg.Record, appointment_id: int,
                   peer_id: str, user_id: int, state: str) -> None:
    await events.publish(conn, others(member, user_id), "video.presence", {
        "appointment_id": appointment_id, "peer_id": peer_id, "user_id": user_id,
        "name": member["name"], "role": role_of(member["client_id"], user_id), "state": state})


async def on_join(websocket: WebSocket, principal: Principal, message: dict) -> None:
    app = websocket.app
    appointment_id = appointment_of(message)
    peer_id = peer_of(message)
    async with app.state.pool.acquire() as conn:
        room = await access.joinable_room(conn, appointment_id, principal.user_id,
                                          app.state.settings)
        async with conn.transaction():
            taken = await conn.fetchval(
                """INSERT INTO video_presence (appointment_id, peer_id, user_id)
                   VALUES ($1, $2, $3)
                   ON CONFLICT (appointment_id, peer_id) DO UPDATE SET joined_at = now()
                   WHERE video_presence.user_id = excluded.user_id
                   RETURNING false""", appointment_id, peer_id, principal.user_id)
            if taken is None:
                raise BadMessage("That peer id is in use.", "peer_id")
            peers = await conn.fetch(
                """SELECT p.peer_id, p.user_id, u.name FROM video_presence p
                   JOIN users u ON u.id = p.user_id
                   WHERE p.appointment_id = $1 AND p.user_id <> $2 ORDER BY p.joined_at""",
                appointment_id, principal.user_id)
            await audit.record(conn, websocket, actor_id=principal.user_id, action="video_join",
                               record_type="appointment", record_id=appointment_id,
                               subject_user_id=room.appointment.client_id,
                               detail={"peer_id": peer_id,
                                       "relay": app.state.settings.video_relay})
            member = await room_member(conn, appointment_id, peer_id, principal.user_id)
            await announce(conn, member, appointment_id, peer_id, principal.user_id, "arrived")
    joined_peers(websocket).add((appointment_id, peer_id))
    client_id = room.appointment.client_id
    reply(websocket, {
        "type": "video.joined", "appointment_id": appointment_id, "peer_id": peer_id,
        "role": role_of(client_id, principal.user_id),
        "peers": [{"peer_id": p["peer_id"], "user_id": p["user_id"], "name": p["name"],
                   "role": role_of(client_id, p["user_id"])} for p in peers],
        "ice_servers": ice.ice_servers(app.state.settings, principal.user_id),
        "relay": app.state.settings.video_relay,
        "ends_at": room.appointment.ends_at.isoformat(),
    })


async def on_signal(websocket: WebSocket, principal: Principal, message: dict) -> None:
    appointment_id = appointment_of(message)
    peer_id = peer_of(message)
    to = peer_of(message, "to")
    data = message.get("data")
    if not isinstance(data, dict) or data.get("kind") not in SIGNAL_KINDS:
        raise BadMessage("data must be an offer, an answer, a candidate or a mode.", "data")
    if len(json.dumps(data)) > MAX_SIGNAL_BYTES:
        raise BadMessage("The signal is too large.", "data")
    async with websocket.app.state.pool.acquire() as conn, conn.transaction():
        member = await room_member(conn, appointment_id, peer_id, principal.user_id)
        if member is None:
            raise ApiError(409, "not_in_room", "Join the room before signaling.")
        await events.publish(conn, others(member, principal.user_id), "video.signal", {
            "appointment_id": appointment_id, "from": peer_id, "to": to, "data": data})


async def on_reload(websocket: WebSocket, principal: Principal, message: dict) -> None:
    appointment_id = appointment_of(message)
    peer_id = peer_of(message)
    async with websocket.app.state.pool.acquire() as conn, conn.transaction():
        member = await room_member(conn, appointment_id, peer_id, principal.user_id)
        if member is None:
            raise ApiError(409, "not_in_room", "Join the room before reloading.")
        await announce(conn, member, appointment_id, peer_id, principal.user_id, "reloading")


async def leave(pool: asyncpg.Pool, user_id: int, appointment_id: int, peer_id: str,
                unless_joined_since: datetime | None = None) -> bool:
    """Take the peer out of the room and tell the other side; False if it was not there (or
    joined again after `unless_joined_since`)."""
    async with pool.acquire() as conn, conn.transaction():
        member = await room_member(conn, appointment_id, peer_id, user_id)
        if member is None:
            return False
        gone = await conn.fetchval(
            """DELETE FROM video_presence WHERE appointment_id = $1 AND peer_id = $2
               AND ($3::timestamptz IS NULL OR joined_at < $3) RETURNING true""",
            appointment_id, peer_id, unless_joined_since)
        if not gone:
            return False
        await announce(conn, member, appointment_id, peer_id, user_id, "left")
    return True


async def left(app: Any, user_id: int, appointment_id: int, peer_id: str,
               unless_joined_since: datetime | None = None) -> None:
    if await leave(app.state.pool, user_id, appointment_id, peer_id, unless_joined_since):
        for hook in leave_hooks:
            await hook(app, appointment_id, peer_id, user_id)


async def on_leave(websocket: WebSocket, principal: Principal, message: dict) -> None:
    appointment_id = appointment_of(message)
    peer_id = peer_of(message)
    joined_peers(websocket).discard((appointment_id, peer_id))
    await left(websocket.app, principal.user_id, appointment_id, peer_id)


async def _left_unless_back(app: Any, user_id: int, appointment_id: int, peer_id: str,
                            closed_at: datetime) -> None:
    await asyncio.sleep(LEAVE_GRACE_SECONDS)
    try:
        await left(app, user_id, appointment_id, peer_id, unless_joined_since=closed_at)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        log.warning("could not announce that %s left: %s", peer_id, exc)


async def on_close(websocket: WebSocket, principal: Principal) -> None:
    """A socket that closes without "leave" may be a phone changing networks: its page joins
    again through a new socket (perhaps on another node) and the call goes on. Only if it has
    not come back after LEAVE_GRACE_SECONDS is it taken out of the room."""
    peers = list(joined_peers(websocket))
    if not peers:
        return
    app = websocket.app
    closed_at = await app.state.pool.fetchval("SELECT now()")
    for appointment_id, peer_id in peers:
        task = asyncio.create_task(
            _left_unless_back(app, principal.user_id, appointment_id, peer_id, closed_at))
        pending_leaves.add(task)
        task.add_done_callback(pending_leaves.discard)


async def prune(conn: asyncpg.Connection) -> None:
    """Drop delivered signaling (it holds network addresses) and presence left by dead nodes."""
    await events.prune_kind(conn, "video.", SIGNAL_RETENTION_HOURS)
    await conn.execute(
        "DELETE FROM video_presence WHERE joined_at < now() - interval '1 day'")


Handler = Any
# Called with (app, appointment_id, peer_id, user_id) when a peer leaves (the relay drops it).
leave_hooks: list[Handler] = []


def guarded(handler: ws.MessageHandler) -> ws.MessageHandler:
    """Errors go back to the socket as video.error; the socket itself stays open."""
    async def run(websocket: WebSocket, principal: Principal, message: dict) -> None:
        try:
            await handler(websocket, principal, message)
        except ApiError as exc:
            reply(websocket, {"type": "video.error", "request": message.get("type"),
                              "appointment_id": message.get("appointment_id"),
                              "status": exc.status, "code": exc.code, "message": exc.message,
                              "field": exc.field})
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("video message %s failed: %s", message.get("type"), exc)
            reply(websocket, {"type": "video.error", "request": message.get("type"),
                              "appointment_id": message.get("appointment_id"),
                              "status": 503, "code": "unavailable",
                              "message": "The video service is busy; try again."})
    return run


def register(kind: str, handler: ws.MessageHandler) -> None:
    ws.handlers[kind] = guarded(handler)


register("video.join", on_join)
register("video.signal", on_signal)
register("video.reload", on_reload)
register("video.leave", on_leave)
ws.closers.append(on_close)
