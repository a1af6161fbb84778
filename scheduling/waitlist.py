"""The Wait List: entries a client keeps for a kind of session until they book or it expires."""
from __future__ import annotations

from datetime import timedelta
from typing import Literal

import asyncpg
from pydantic import BaseModel

from scheduling.appointments import Length, SessionType
from scheduling.schedule import client_division
from server import audit, practice
from server.api import Api, Call
from server.errors import ApiError, NotFound

api = Api()

# "Length of Time to Be Kept on the Wait List", as the practice words it
KEEP_FOR = {"1w": ("1 week", timedelta(weeks=1)), "2w": ("2 weeks", timedelta(weeks=2)),
            "3w": ("3 weeks", timedelta(weeks=3)), "1m": ("1 month", timedelta(days=30)),
            "6m": ("up to 6 months", timedelta(days=182))}
KeepFor = Literal["1w", "2w", "3w", "1m", "6m"]


class EntryIn(BaseModel):
    session_type: SessionType
    length: Length
    keep_for: KeepFor


class ExtendIn(BaseModel):
    keep_for: KeepFor


def as_json(row: asyncpg.Record, zone) -> dict:
    return {"id": row["id"], "session_type": row["session_type"], "length": row["length"],
            "created_at": row["created_at"].astimezone(zone).isoformat(),
            "expires_at": row["expires_at"].astimezone(zone).isoformat(),
            "client": {"id": row["client_id"], "name": row["client_name"]},
            "division_id": row["division_id"]}


ENTRY_QUERY = """SELECT e.*, u.name AS client_name FROM waitlist_entries e
                 JOIN users u ON u.id = e.client_id
                 WHERE e.left_at IS NULL AND e.expires_at > now()"""


async def active_for(conn: asyncpg.Connection | asyncpg.Pool, *, client_id: int | None = None,
                     division_id: int | None = None) -> list[dict]:
    """Unexpired entries, oldest first: a client's own, or a whole division's."""
    zone = practice.zone(await practice.get(conn))
    rows = await conn.fetch(
        ENTRY_QUERY + """ AND ($1::bigint IS NULL OR e.client_id = $1)
                          AND ($2::int IS NULL OR e.division_id = $2)
                          ORDER BY e.created_at, e.id""", client_id, division_id)
    return [as_json(r, zone) for r in rows]


async def satisfied_by_booking(conn: asyncpg.Connection, client_id: int, division_id: int,
                               session_type: str, length: int) -> None:
    """A booking of the kind an entry waits for takes the client off the list for it."""
    await conn.execute(
        """UPDATE waitlist_entries SET left_at = now(), left_reason = 'booked'
           WHERE client_id = $1 AND division_id = $2 AND session_type = $3 AND length = $4
             AND left_at IS NULL""", client_id, division_id, session_type, length)


@api.route("GET", "/api/waitlist")
async def list_entries(call: Call) -> dict:
    """A client's own unexpired entries; for the therapist, the active division's, oldest first."""
    if call.user.is_therapist:
        return {"entries": await active_for(call.pool, division_id=call.user.division_id)}
    return {"entries": await active_for(call.pool, client_id=call.user.user_id)}


@api.route("POST", "/api/waitlist", auth="client", body=EntryIn, status=201)
async def join(call: Call) -> dict:
    """Join the Wait List for a session type and length, for a chosen time."""
    body: EntryIn = call.body
    division_id = client_division(call)
    async with call.pool.acquire() as conn, conn.transaction():
        duplicate = await conn.fetchval(
            ENTRY_QUERY + " AND e.client_id = $1 AND e.division_id = $2 "
            "AND e.session_type = $3 AND e.length = $4", call.user.user_id,
            division_id, body.session_type, body.length)
        if duplicate:
            raise ApiError(409, "already_waiting",
                           "You are already on the Wait List for this session; extend it instead.",
                           field="session_type")
        row_id = await conn.fetchval(
            """INSERT INTO waitlist_entries (client_id, division_id, session_type, length,
                                             expires_at)
               VALUES ($1, $2, $3, $4, now() + $5::interval) RETURNING id""",
            call.user.user_id, division_id, body.session_type, body.length,
            KEEP_FOR[body.keep_for][1])
        await audit.record(conn, call.request, actor_id=call.user.user_id, action="join",
                           record_type="waitlist_entry", record_id=row_id,
                           subject_user_id=call.user.user_id)
        return await _one(conn, row_id)


async def _one(conn: asyncpg.Connection, entry_id: int) -> dict:
    zone = practice.zone(await practice.get(conn))
    return as_json(await conn.fetchrow(ENTRY_QUERY + " AND e.id = $1", entry_id), zone)


async def _own_entry(call: Call, conn: asyncpg.Connection) -> int:
    entry_id = await conn.fetchval(
        ENTRY_QUERY + " AND e.id = $1 AND e.client_id = $2", call.path_id(), call.user.user_id)
    if entry_id is None:
        raise NotFound("That Wait List entry")
    return entry_id


@api.route("POST", "/api/waitlist/{id:int}/extend", auth="client", body=ExtendIn)
async def extend(call: Call) -> dict:
    """Keep an entry for a new length of time, counted from now."""
    async with call.pool.acquire() as conn:
        entry_id = await _own_entry(call, conn)
        await conn.execute("UPDATE waitlist_entries SET expires_at = now() + $2::interval "
                           "WHERE id = $1", entry_id, KEEP_FOR[call.body.keep_for][1])
        return await _one(conn, entry_id)


@api.route("DELETE", "/api/waitlist/{id:int}", auth="client")
async def leave(call: Call) -> dict:
    """Leave the Wait List for this entry."""
    async with call.pool.acquire() as conn:
        entry_id = await _own_entry(call, conn)
        await conn.execute("UPDATE waitlist_entries SET left_at = now(), left_reason = 'left' "
                           "WHERE id = $1", entry_id)
        await audit.record(conn, call.request, actor_id=call.user.user_id, action="leave",
                           record_type="waitlist_entry", record_id=entry_id,
                           subject_user_id=call.user.user_id)
    return {"left": entry_id}


