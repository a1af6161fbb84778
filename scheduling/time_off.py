"""Out-of-office time. Public entries show on the Welcome page (and, later, in the Calendar)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import BaseModel, Field, model_validator

from scheduling import openings
from server import practice
from server.api import Api, Call
from server.errors import NotFound

api = Api()
MAX_DAYS = 366


class TimeOffDays(BaseModel):
    """Whole days away, first and last day included, in the practice's time zone."""

    first_day: date
    last_day: date
    note: str = Field(default="", max_length=500)
    public: bool = False

    @model_validator(mode="after")
    def ordered(self) -> "TimeOffDays":
        if self.last_day < self.first_day:
            raise ValueError("The last day must not come before the first day")
        if (self.last_day - self.first_day).days >= MAX_DAYS:
            raise ValueError("Enter at most a year at a time")
        return self


def day_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """From midnight of `first` to midnight after `last`, local time (DST-correct)."""
    return (datetime.combine(first, time(), zone),
            datetime.combine(last + timedelta(days=1), time(), zone))


def as_json(row: asyncpg.Record, zone: ZoneInfo) -> dict:
    starts = row["starts_at"].astimezone(zone)
    ends = row["ends_at"].astimezone(zone)
    # An entry ending at midnight covers up to the day before.
    last = (ends - timedelta(microseconds=1)).date()
    return {"id": row["id"], "starts_at": starts.isoformat(), "ends_at": ends.isoformat(),
            "first_day": starts.date().isoformat(), "last_day": last.isoformat(),
            "note": row["note"], "public": row["public"]}


async def public_upcoming(conn: asyncpg.Connection | asyncpg.Pool) -> list[dict]:
    """Public out-of-office entries not yet over, soonest first."""
    zone = practice.zone(await practice.get(conn))
    rows = await conn.fetch(
        "SELECT * FROM time_off WHERE public AND ends_at > now() ORDER BY starts_at LIMIT 50")
    return [as_json(r, zone) for r in rows]


async def upcoming_for(conn: asyncpg.Connection | asyncpg.Pool, clinician_id: int) -> list[dict]:
    """A clinician's own time off that is not yet over, public or not."""
    zone = practice.zone(await practice.get(conn))
    rows = await conn.fetch(
        "SELECT * FROM time_off WHERE clinician_id = $1 AND ends_at > now() ORDER BY starts_at",
        clinician_id)
    return [as_json(r, zone) for r in rows]


@api.route("GET", "/api/time-off", auth="therapist")
async def list_time_off(call: Call) -> dict:
    """The therapist's own time off that is not yet over."""
    return {"time_off": await upcoming_for(call.pool, call.user.user_id)}


@api.route("POST", "/api/time-off", auth="therapist", body=TimeOffDays, status=201)
async def add_time_off(call: Call) -> dict:
    """Mark days out of the office; `public` shows them on the Welcome page."""
    entry: TimeOffDays = call.body
    zone = practice.zone(await practice.get(call.pool))
    starts, ends = day_bounds(entry.first_day, entry.last_day, zone)
    row = await call.pool.fetchrow(
        """INSERT INTO time_off (clinician_id, starts_at, ends_at, note, public)
           VALUES ($1, $2, $3, $4, $5) RETURNING *""",
        call.user.user_id, starts, ends, entry.note.strip(), entry.public)
    return as_json(row, zone)


@api.route("DELETE", "/api/time-off/{id:int}", auth="therapist")
async def remove_time_off(call: Call) -> dict:
    """Remove one of the therapist's own time-off entries."""
    async with call.pool.acquire() as conn, conn.transaction():
        deleted = await conn.fetchrow(
            "DELETE FROM time_off WHERE id = $1 AND clinician_id = $2 RETURNING *",
            call.path_id(), call.user.user_id)
        if deleted is None:
            raise NotFound("That time-off entry")
        await openings.after_freeing(conn, call.user.user_id, deleted["starts_at"],
                                     deleted["ends_at"], call.settings.public_url)
    return {"deleted": deleted["id"]}
