"""Changing a booked appointment: cancel (client or therapist), move and mark (therapist)."""
from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel

from scheduling import booking, openings, rules as booking_rules
from scheduling.appointments import LIVE_STATUSES, detail
from scheduling.schedule import utcnow, when_text
from server import audit, practice
from server.api import Api, Call
from server.errors import ApiError, NotFound

api = Api()


class CancelIn(BaseModel):
    late: bool = False  # therapist only: count it as a late cancellation (billing reads it)


class MoveIn(BaseModel):
    start: AwareDatetime


class StatusIn(BaseModel):
    status: Literal["booked", "attended", "no_show", "late_cancel"]


async def _own(call: Call, conn, therapist_only: bool = False):
    row = await detail(conn, call.path_id(), call.user.user_id)
    if row is None or (therapist_only and row["clinician_id"] != call.user.user_id):
        raise NotFound("That appointment")
    return row


@api.route("POST", "/api/appointments/{id:int}/cancel", body=CancelIn)
async def cancel(call: Call) -> dict:
    """Cancel a booked session. Clients may do it online until the cutoff before the start."""
    now = utcnow()
    async with call.pool.acquire() as conn:
        row = await _own(call, conn)
        rules = await booking_rules.load(conn)
        zone = practice.zone(await practice.get(conn))
        if row["status"] != "booked" or row["ends_at"] <= now:
            raise ApiError(409, "not_cancellable", "This session is no longer booked.")
        therapist = row["clinician_id"] == call.user.user_id
        if not therapist:
            if call.body.late:
                raise ApiError(403, "forbidden", "Only the practice marks late cancellations.",
                               field="late")
            if row["starts_at"] - timedelta(hours=rules.cancel_cutoff_hours) <= now:
                details = await practice.get(conn)
                phone = f" at {details['phone']}" if details["phone"] else ""
                raise ApiError(
                    422, "inside_cutoff",
                    f"Sessions less than {rules.cancel_cutoff_hours} hours away cannot be "
                    f"cancelled online. Please call the practice{phone} or send a message.")
        status = "late_cancel" if call.body.late else "cancelled"
        async with conn.transaction():
            await conn.execute(
                "UPDATE appointments SET status = $2, cancelled_at = now(), cancelled_by = $3 "
                "WHERE id = $1", row["id"], status, call.user.user_id)
            await openings.after_freeing(conn, row["clinician_id"], row["starts_at"],
                                         row["blocked_until"], call.settings.public_url)
            await audit.record(conn, call.request, actor_id=call.user.user_id, action="cancel",
                               record_type="appointment", record_id=row["id"],
                               subject_user_id=row["client_id"])
            who = "Your therapist" if therapist else row["client_name"]
            other = row["client_id"] if therapist else row["clinician_id"]
            await booking.announce(
                conn, row["id"], "appointment.cancelled",
                f"{who} cancelled the {row['session_type']} session on "
                f"{when_text(row['starts_at'], zone)}",
                to=[other], also=[call.user.user_id])
        return await booking.describe(conn, row["id"], call.user.user_id, therapist)


@api.route("POST", "/api/appointments/{id:int}/move", auth="therapist", body=MoveIn)
async def move(call: Call) -> dict:
    """Move a booked session to another start, keeping its length and type."""
    async with call.pool.acquire() as conn:
        row = await _own(call, conn, therapist_only=True)
        if row["status"] != "booked":
            raise ApiError(409, "not_movable", "Only booked sessions can be moved.")
        rules = await booking_rules.load(conn)
        zone = practice.zone(await practice.get(conn))
        start = call.body.start
        length = row["ends_at"] - row["starts_at"]
        async with conn.transaction():
            async with booking.refusing_overlap(conn):
                await conn.execute(
                    """UPDATE appointments SET starts_at = $2, ends_at = $3,
                           blocked_until = $4, reminder_sent_at = NULL WHERE id = $1""",
                    row["id"], start, start + length,
                    start + length + timedelta(minutes=rules.buffer_minutes))
            await openings.after_freeing(conn, row["clinician_id"], row["starts_at"],
                                         row["blocked_until"], call.settings.public_url)
            await audit.record(conn, call.request, actor_id=call.user.user_id, action="move",
                               record_type="appointment", record_id=row["id"],
                               subject_user_id=row["client_id"],
                               detail={"from": row["starts_at"].isoformat()})
            await booking.announce(
                conn, row["id"], "appointment.moved",
                f"Your {row['session_type']} session moved to {when_text(start, zone)}",
                to=[row["client_id"]], also=[call.user.user_id])
        return await booking.describe(conn, row["id"], call.user.user_id, True)


@api.route("POST", "/api/appointments/{id:int}/status", auth="therapist", body=StatusIn)
async def mark(call: Call) -> dict:
    """Mark a session attended, no-show or late cancel (billing uses this), or booked again."""
    async with call.pool.acquire() as conn:
        row = await _own(call, conn, therapist_only=True)
        if row["status"] == "cancelled":
            raise ApiError(409, "cancelled", "A cancelled session cannot be marked.")
        async with conn.transaction():
            async with booking.refusing_overlap(conn):  # "booked" again may overlap
                await conn.execute("UPDATE appointments SET status = $2 WHERE id = $1",
                                   row["id"], call.body.status)
            if row["status"] in LIVE_STATUSES and call.body.status not in LIVE_STATUSES:
                await openings.after_freeing(conn, row["clinician_id"], row["starts_at"],
                                             row["blocked_until"], call.settings.public_url)
            await audit.record(conn, call.request, actor_id=call.user.user_id, action="mark",
                               record_type="appointment", record_id=row["id"],
                               subject_user_id=row["client_id"],
                               detail={"status": call.body.status})
        return await booking.describe(conn, row["id"], call.user.user_id, True)
