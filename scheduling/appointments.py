"""Appointments: reading them for their participants, and how they are shown."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal
from datetime import datetime, timedelta

import asyncpg
from pydantic import AfterValidator

SESSION_TYPES = ("phone", "video", "office")
LENGTHS = (15, 30, 45, 60)
SessionType = Literal["phone", "video", "office"]


def _known_length(value: int) -> int:
    if value not in LENGTHS:
        raise ValueError("Session Length is 15, 30, 45 or 60 minutes")
    return value


# an int, not a Literal, so that "60" from a query string is accepted
Length = Annotated[int, AfterValidator(_known_length)]
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


DETAIL_QUERY = """
    SELECT a.*, c.name AS client_name, c.email AS client_email, c.phone AS client_phone,
           t.name AS clinician_name, t.phone AS clinician_phone
    FROM appointments a JOIN users c ON c.id = a.client_id JOIN users t ON t.id = a.clinician_id
"""


async def detail(conn: asyncpg.Connection | asyncpg.Pool, appointment_id: int,
                 user_id: int) -> asyncpg.Record | None:
    """The appointment with names, if `user_id` takes part in it."""
    return await conn.fetchrow(
        DETAIL_QUERY + " WHERE a.id = $1 AND $2 IN (a.client_id, a.clinician_id)",
        appointment_id, user_id)


def length_minutes(row: asyncpg.Record) -> int:
    return int((row["ends_at"] - row["starts_at"]).total_seconds() // 60)


def where(row: asyncpg.Record, office_address: str) -> str:
    """Where the session happens, as the client reads it."""
    if row["session_type"] == "office":
        return office_address or "At the office"
    if row["session_type"] == "phone":
        return f"The therapist will call you at {row['client_phone'] or 'the number on file'}."
    return "Video session in the portal: tap Start Video Session when it is time."


def as_json(row: asyncpg.Record, zone, office_address: str, cancel_cutoff_hours: int,
            now: datetime, viewer_is_therapist: bool) -> dict:
    starts = row["starts_at"].astimezone(zone)
    cutoff = row["starts_at"] - timedelta(hours=cancel_cutoff_hours)
    data = {
        "id": row["id"], "start": starts.isoformat(),
        "end": row["ends_at"].astimezone(zone).isoformat(), "length": length_minutes(row),
        "session_type": row["session_type"], "status": row["status"],
        "division_id": row["division_id"], "series_id": row["series_id"],
        "clinician": {"id": row["clinician_id"], "name": row["clinician_name"]},
        "client": {"id": row["client_id"], "name": row["client_name"]},
        "where": where(row, office_address),
        "can_cancel_online": row["status"] == "booked" and now < cutoff,
        "upcoming": row["status"] == "booked" and row["ends_at"] > now,
    }
    if viewer_is_therapist:
        data["client"]["phone"] = row["client_phone"]
        data["client"]["email"] = row["client_email"]
    return data
