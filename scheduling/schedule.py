"""Reading what a slot search needs: a clinician's windows, busy time and time off; the
clock and the client's division."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import asyncpg

from scheduling import slots
from scheduling.appointments import LIVE_STATUSES
from server.api import Call
from server.errors import ApiError


def client_division(call: Call) -> int:
    """The client's active division, where their Calendar and Wait List live."""
    if call.user.division_id is None:
        raise ApiError(403, "forbidden", "Your account is not in a division yet.")
    return call.user.division_id


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def when_text(moment: datetime, zone) -> str:
    local = moment.astimezone(zone)
    return f"{local:%A, %B} {local.day} at {local:%-I:%M %p}"


async def rows_for(conn: asyncpg.Connection | asyncpg.Pool,
                   clinician_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM availability WHERE clinician_id = $1 ORDER BY weekday, starts",
        clinician_id)


async def windows_for(conn: asyncpg.Connection | asyncpg.Pool,
                      clinician_id: int) -> list[slots.Window]:
    return [slots.Window(r["weekday"], r["starts"], r["ends"], frozenset(r["session_types"]),
                   frozenset(r["division_ids"])) for r in await rows_for(conn, clinician_id)]


async def clinicians_for(conn: asyncpg.Connection | asyncpg.Pool, division_id: int,
                         session_type: str | None = None) -> list[int]:
    """Clinicians with any window for this division (and session type)."""
    return [r["clinician_id"] for r in await conn.fetch(
        """SELECT DISTINCT clinician_id FROM availability
           WHERE $1 = ANY(division_ids) AND ($2::text IS NULL OR $2 = ANY(session_types))
           ORDER BY clinician_id""", division_id, session_type)]


@dataclass
class Schedule:
    """What one clinician's slot search needs, read from the database."""

    clinician_id: int
    windows: list[slots.Window]
    busy: list[slots.Interval]
    time_off: list[slots.Interval]


async def load_schedule(conn: asyncpg.Connection | asyncpg.Pool, clinician_id: int,
                        since: datetime, until: datetime) -> Schedule:
    busy = await conn.fetch(
        """SELECT starts_at, blocked_until FROM appointments
           WHERE clinician_id = $1 AND status = ANY($2::text[]) AND blocked_until > $3
             AND starts_at < $4""",
        clinician_id, list(LIVE_STATUSES), since, until)
    away = await conn.fetch(
        """SELECT starts_at, ends_at, note, public FROM time_off
           WHERE clinician_id = $1 AND ends_at > $2 AND starts_at < $3""",
        clinician_id, since, until)
    return Schedule(
        clinician_id, await windows_for(conn, clinician_id),
        [slots.Interval(r["starts_at"], r["blocked_until"]) for r in busy],
        [slots.Interval(r["starts_at"], r["ends_at"], r["note"], r["public"]) for r in away])
