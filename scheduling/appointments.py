"""Appointments: reading them for their participants (booking and cancelling follow)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

SESSION_TYPES = ("phone", "video", "office")
LIVE_STATUSES = ("booked", "attended", "no_show")  # statuses that hold the clinician's time


@dataclass(frozen=True)
class Appointment:
    id: int
    clinician_id: int
    client_id: int
    division_id: int
    session_type: str
    starts_at: datetime
    ends_at: datetime
    status: str

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> "Appointment":
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    def has_participant(self, user_id: int) -> bool:
        return user_id in (self.client_id, self.clinician_id)


async def get_for_participant(conn: asyncpg.Connection | asyncpg.Pool, appointment_id: int,
                              user_id: int) -> Appointment | None:
    """The appointment if `user_id` is its client or its clinician; None otherwise."""
    row = await conn.fetchrow(
        "SELECT * FROM appointments WHERE id = $1 AND $2 IN (client_id, clinician_id)",
        appointment_id, user_id)
    return Appointment.from_row(row) if row else None
