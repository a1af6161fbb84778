"""The practice's booking rules, as the therapist sets them."""
from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from pydantic import BaseModel, Field, field_validator

from scheduling.appointments import SESSION_TYPES
from scheduling.slots import Rules
from server.api import Api, Call

api = Api()


@dataclass(frozen=True)
class BookingRules:
    window_days: int
    slot_step_minutes: int
    buffer_minutes: int
    lengths: tuple[int, ...]
    cancel_cutoff_hours: int
    max_upcoming: int
    reminder_hours: int
    notice_hours: dict[str, int]
    same_day: dict[str, bool]

    def for_type(self, session_type: str) -> Rules:
        return Rules(window_days=self.window_days, notice_hours=self.notice_hours[session_type],
                     same_day=self.same_day[session_type], step_minutes=self.slot_step_minutes,
                     buffer_minutes=self.buffer_minutes)

    def as_json(self) -> dict:
        return {
            "window_days": self.window_days, "slot_step_minutes": self.slot_step_minutes,
            "buffer_minutes": self.buffer_minutes, "lengths": list(self.lengths),
            "cancel_cutoff_hours": self.cancel_cutoff_hours, "max_upcoming": self.max_upcoming,
            "reminder_hours": self.reminder_hours,
            "session_types": {t: {"notice_hours": self.notice_hours[t],
                                  "same_day": self.same_day[t]} for t in SESSION_TYPES},
        }


async def load(conn: asyncpg.Connection | asyncpg.Pool) -> BookingRules:
    row = await conn.fetchrow("SELECT * FROM booking_rules WHERE id = 1")
    types = await conn.fetch("SELECT * FROM session_type_rules")
    return BookingRules(
        window_days=row["window_days"], slot_step_minutes=row["slot_step_minutes"],
        buffer_minutes=row["buffer_minutes"], lengths=tuple(sorted(row["lengths"])),
        cancel_cutoff_hours=row["cancel_cutoff_hours"], max_upcoming=row["max_upcoming"],
        reminder_hours=row["reminder_hours"],
        notice_hours={t["session_type"]: t["notice_hours"] for t in types},
        same_day={t["session_type"]: t["same_day"] for t in types},
    )


class TypeRule(BaseModel):
    notice_hours: int = Field(ge=0, le=720)
    same_day: bool


class RulesUpdate(BaseModel):
    window_days: int = Field(ge=1, le=180)
    slot_step_minutes: int = Field(ge=5, le=60)
    buffer_minutes: int = Field(ge=0, le=120)
    lengths: list[int] = Field(min_length=1, max_length=4)
    cancel_cutoff_hours: int = Field(ge=0, le=168)
    max_upcoming: int = Field(ge=1, le=100)
    reminder_hours: int = Field(ge=0, le=168)
    session_types: dict[str, TypeRule]

    @field_validator("slot_step_minutes")
    @classmethod
    def known_step(cls, value: int) -> int:
        if value not in (5, 10, 15, 20, 30, 60):
            raise ValueError("Choose a step of 5, 10, 15, 20, 30 or 60 minutes")
        return value

    @field_validator("lengths")
    @classmethod
    def known_lengths(cls, value: list[int]) -> list[int]:
        if not set(value) <= {15, 30, 45, 60}:
            raise ValueError("Session lengths are 15, 30, 45 or 60 minutes")
        return sorted(set(value))

    @field_validator("session_types")
    @classmethod
    def every_type(cls, value: dict[str, TypeRule]) -> dict[str, TypeRule]:
        if set(value) != set(SESSION_TYPES):
            raise ValueError("Give notice and same-day rules for phone, video and office")
        return value


@api.route("GET", "/api/booking-rules")
async def get_rules(call: Call) -> dict:
    """The booking rules: window, notice and same day per session type, lengths, cutoff."""
    return (await load(call.pool)).as_json()


@api.route("PUT", "/api/booking-rules", auth="therapist", body=RulesUpdate)
async def update_rules(call: Call) -> dict:
    """Change the booking rules (e.g. 4 hours' notice and same day while sessions are remote)."""
    body: RulesUpdate = call.body
    async with call.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """UPDATE booking_rules SET window_days = $1, slot_step_minutes = $2,
                   buffer_minutes = $3, lengths = $4, cancel_cutoff_hours = $5,
                   max_upcoming = $6, reminder_hours = $7 WHERE id = 1""",
            body.window_days, body.slot_step_minutes, body.buffer_minutes, body.lengths,
            body.cancel_cutoff_hours, body.max_upcoming, body.reminder_hours)
        await conn.executemany(
            "UPDATE session_type_rules SET notice_hours = $2, same_day = $3 "
            "WHERE session_type = $1",
            [(t, r.notice_hours, r.same_day) for t, r in body.session_types.items()])
        return (await load(conn)).as_json()
