"""Who may open an appointment's video room, and when.

The room is for the appointment's client and clinician only, for a booked video session,
from `VIDEO_JOIN_EARLY_MINUTES` before its start until its end. Everyone else gets the
same answer as for an appointment that does not exist.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import asyncpg

from scheduling.appointments import Appointment, get_for_participant
from server import practice
from server.errors import ApiError, NotFound
from server.settings import Settings


class JoinRefused(ApiError):
    """A participant asked at the wrong time, or for a session that has no room now."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(409, code, message)


@dataclass(frozen=True)
class Room:
    appointment: Appointment
    opens_at: datetime

    @property
    def id(self) -> int:
        return self.appointment.id


def opens_at(appointment: Appointment, settings: Settings) -> datetime:
    return appointment.starts_at - timedelta(minutes=settings.video_join_early_minutes)


async def participant_room(conn: asyncpg.Connection | asyncpg.Pool, appointment_id: int,
                           user_id: int, settings: Settings) -> Room:
    """The room of an appointment `user_id` takes part in, whatever the time; else NotFound."""
    appointment = await get_for_participant(conn, appointment_id, user_id)
    if appointment is None:
        raise NotFound("That session")
    return Room(appointment, opens_at(appointment, settings))


async def refusal(conn: asyncpg.Connection | asyncpg.Pool, room: Room,
                  now: datetime | None = None) -> JoinRefused | None:
    """Why the room cannot be entered now, or None when it can."""
    appointment = room.appointment
    now = now or datetime.now(timezone.utc)
    if appointment.session_type != "video":
        return JoinRefused("not_video", f"This is {'an' if appointment.session_type == 'office' else 'a'} "
                           f"{appointment.session_type} session; it has no video room.")
    if appointment.status in ("cancelled", "late_cancel"):
        return JoinRefused("cancelled", "This session was cancelled.")
    if appointment.status != "booked" or now >= appointment.ends_at:
        return JoinRefused("ended", "This session has ended.")
    if now < room.opens_at:
        zone = practice.zone(await practice.get(conn))
        local = room.opens_at.astimezone(zone)
        return JoinRefused(
            "too_early",
            f"The video room opens at {local:%-I:%M %p} on {local:%A, %B} {local.day} "
            f"({local:%Z}), shortly before the session starts.")
    return None


async def joinable_room(conn: asyncpg.Connection | asyncpg.Pool, appointment_id: int,
                        user_id: int, settings: Settings, now: datetime | None = None) -> Room:
    """The room if `user_id` may enter it now; raises NotFound or JoinRefused otherwise."""
    room = await participant_room(conn, appointment_id, user_id, settings)
    refused = await refusal(conn, room, now)
    if refused is not None:
        raise refused
    return room
