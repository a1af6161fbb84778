"""Weekly availability: windows per weekday, each for some session types and divisions."""
from __future__ import annotations

from datetime import time

import asyncpg
from pydantic import BaseModel, Field, field_validator, model_validator

from scheduling import openings, schedule
from scheduling.appointments import SESSION_TYPES
from server.api import Api, Call
from server.errors import ApiError, NotFound

api = Api()
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class WindowIn(BaseModel):
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    starts: time
    ends: time
    session_types: list[str] = Field(min_length=1, max_length=3)
    division_ids: list[int] = Field(min_length=1, max_length=20)

    @field_validator("session_types")
    @classmethod
    def known_types(cls, value: list[str]) -> list[str]:
        if not set(value) <= set(SESSION_TYPES):
            raise ValueError("Session types are phone, video and office")
        return sorted(set(value))

    @model_validator(mode="after")
    def ordered(self) -> "WindowIn":
        if self.ends <= self.starts:
            raise ValueError("The window must end after it starts")
        return self


def as_json(row: asyncpg.Record) -> dict:
    return {"id": row["id"], "weekday": row["weekday"], "weekday_name": WEEKDAYS[row["weekday"]],
            "starts": row["starts"].strftime("%H:%M"), "ends": row["ends"].strftime("%H:%M"),
            "session_types": list(row["session_types"]),
            "division_ids": list(row["division_ids"])}


@api.route("GET", "/api/availability", auth="therapist")
async def list_windows(call: Call) -> dict:
    """The therapist's weekly windows."""
    return {"windows": [as_json(r) for r in await schedule.rows_for(call.pool, call.user.user_id)]}


@api.route("POST", "/api/availability", auth="therapist", body=WindowIn, status=201)
async def add_window(call: Call) -> dict:
    """Add a weekly window (e.g. office Tuesday 9:00-12:00 and 13:00-17:00)."""
    window: WindowIn = call.body
    if not all(call.user.in_division(d) for d in window.division_ids):
        raise ApiError(422, "invalid", "Choose divisions you work in.", field="division_ids")
    async with call.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """INSERT INTO availability (clinician_id, weekday, starts, ends, session_types,
                                         division_ids)
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING *""",
            call.user.user_id, window.weekday, window.starts, window.ends,
            window.session_types, sorted(set(window.division_ids)))
        await openings.whole_window(conn, call.user.user_id, call.settings.public_url)
    return as_json(row)


@api.route("DELETE", "/api/availability/{id:int}", auth="therapist")
async def remove_window(call: Call) -> dict:
    """Remove one of the therapist's windows (booked appointments stay)."""
    deleted = await call.pool.fetchval(
        "DELETE FROM availability WHERE id = $1 AND clinician_id = $2 RETURNING id",
        call.path_id(), call.user.user_id)
    if deleted is None:
        raise NotFound("That availability window")
    return {"deleted": deleted}

