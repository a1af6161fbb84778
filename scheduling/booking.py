"""Finding open times and booking them; the database has the last word on overlaps."""
from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import AsyncIterator

import asyncpg
from pydantic import AwareDatetime, BaseModel, Field

from scheduling import appointments, rules as booking_rules, slots, waitlist
from scheduling.appointments import Length, SessionType
from scheduling.schedule import (client_division, clinicians_for, load_schedule, utcnow,
                                 when_text)
from server import audit, events, practice
from server.api import Api, Call, parse_query
from server.errors import ApiError, NotFound

api = Api()


REASONS = {
    "no_hours": "No {type} sessions are offered in your division.",
    "booked": "Every time that fits is booked.",
    "time_off": "The therapist is out of the office on the days that would fit.",
    "window": "Sessions can be booked up to {window} days ahead.",
    "notice": "{type_title} sessions need {notice} hours' notice.",
    "same_day": "Same-day {type} sessions are not offered.",
    "outside_hours": "That time is not one of the offered times.",
}


def explain(reason: str, session_type: str, rules: booking_rules.BookingRules) -> dict:
    text = REASONS[reason].format(type=session_type, type_title=session_type.title(),
                                  window=rules.window_days,
                                  notice=rules.notice_hours[session_type])
    return {"code": reason, "message": text}


def check_length(rules: booking_rules.BookingRules, length: int) -> None:
    if length not in rules.lengths:
        raise ApiError(422, "invalid", "That session length is not offered.", field="length")


class SlotQuery(BaseModel):
    session_type: SessionType
    length: Length


async def open_slots(conn: asyncpg.Connection | asyncpg.Pool, division_id: int,
                     session_type: str, length: int, now: datetime,
                     rules: booking_rules.BookingRules) -> tuple[list[dict], dict[str, int]]:
    """Open starts across the division's clinicians, earliest clinician first per start."""
    zone = practice.zone(await practice.get(conn))
    until = now + timedelta(days=rules.window_days, hours=2)
    found: dict[datetime, dict] = {}
    excluded: dict[str, int] = {}
    clinicians = await clinicians_for(conn, division_id, session_type)
    if not clinicians:
        return [], {"no_hours": 1}
    for clinician_id in clinicians:
        schedule = await load_schedule(conn, clinician_id, now, until)
        result = slots.search(now=now, zone=zone, windows=schedule.windows,
                              rules=rules.for_type(session_type), busy=schedule.busy,
                              time_off=schedule.time_off, session_type=session_type,
                              length=length, division_id=division_id)
        for slot in result.slots:
            found.setdefault(slot.start, {"start": slot.start, "end": slot.end,
                                          "clinician_id": clinician_id})
        for reason, count in result.excluded.items():
            excluded[reason] = excluded.get(reason, 0) + count
    return [found[start] for start in sorted(found)], excluded


def slot_json(slot: dict, zone, client_zone) -> dict:
    return {"start": slot["start"].astimezone(zone).isoformat(),
            "end": slot["end"].astimezone(zone).isoformat(),
            "local_start": slot["start"].astimezone(client_zone).isoformat(),
            "clinician_id": slot["clinician_id"]}


@api.route("GET", "/api/slots", auth="client")
async def get_slots(call: Call) -> dict:
    """Open start times for a session type and length in the client's division.

    Times are ISO 8601 in the practice's zone (`start`, `end`) and the client's (`local_start`).
    When none is open, `reasons` says why and `other_lengths` lists lengths that do have
    openings.
    """
    query: SlotQuery = parse_query(call.request, SlotQuery)
    division_id = client_division(call)
    now = utcnow()
    async with call.pool.acquire() as conn:
        rules = await booking_rules.load(conn)
        details = await practice.get(conn)
        zone = practice.zone(details)
        client_zone = await client_timezone(conn, call.user.user_id, zone)
        check_length(rules, query.length)
        found, excluded = await open_slots(conn, division_id, query.session_type,
                                           query.length, now, rules)
        other_lengths = []
        if not found:
            for length in rules.lengths:
                if length != query.length and (await open_slots(
                        conn, division_id, query.session_type, length, now, rules))[0]:
                    other_lengths.append(length)
        away = await conn.fetch(
            """SELECT starts_at, ends_at, note FROM time_off
               WHERE public AND ends_at > $1 AND starts_at < $2 ORDER BY starts_at""",
            now, now + timedelta(days=rules.window_days + 1))
    order = ["no_hours", "booked", "time_off", "same_day", "notice", "window"]
    reasons = [explain(r, query.session_type, rules) for r in order if excluded.get(r)]
    return {
        "session_type": query.session_type, "length": query.length,
        "timezone": details["timezone"], "client_timezone": str(client_zone),
        "slots": [slot_json(s, zone, client_zone) for s in found],
        "reasons": [] if found else reasons,
        "other_lengths": other_lengths,
        "time_off": [{"starts_at": r["starts_at"].astimezone(zone).isoformat(),
                      "ends_at": r["ends_at"].astimezone(zone).isoformat(),
                      "note": r["note"]} for r in away],
    }


async def client_timezone(conn: asyncpg.Connection | asyncpg.Pool, user_id: int, default):
    from zoneinfo import ZoneInfo

    name = await conn.fetchval("SELECT timezone FROM users WHERE id = $1", user_id)
    try:
        return ZoneInfo(name) if name else default
    except (ValueError, KeyError):
        return default


class BookingIn(BaseModel):
    start: AwareDatetime
    session_type: SessionType
    length: Length
    client_id: int | None = Field(default=None, gt=0, le=2**63 - 1,
                                  description="therapist only: the client to book for")
    repeat_weeks: int = Field(default=1, ge=1, le=52,
                              description="therapist only: weekly occurrences to book")


async def describe(conn: asyncpg.Connection | asyncpg.Pool, appointment_id: int,
                   viewer_id: int, viewer_is_therapist: bool) -> dict:
    row = await appointments.detail(conn, appointment_id, viewer_id)
    if row is None:
        raise NotFound("That appointment")
    details = await practice.get(conn)
    rules = await booking_rules.load(conn)
    return appointments.as_json(row, practice.zone(details), details["address"],
                                rules.cancel_cutoff_hours, utcnow(), viewer_is_therapist)


async def announce(conn: asyncpg.Connection, appointment_id: int, kind: str, title: str,
                   to: list[int], also: list[int]) -> None:
    """A live notice (toast) to `to`, and a quiet refresh event to `also`."""
    url = f"/sessions/{appointment_id}"
    await events.publish(conn, to, kind, {"appointment_id": appointment_id, "title": title,
                                          "url": url})
    quiet = [u for u in also if u not in to]
    if quiet:
        await events.publish(conn, quiet, kind, {"appointment_id": appointment_id})


async def _choose_clinician(conn: asyncpg.Connection, body: BookingIn, division_id: int,
                            now: datetime, rules: booking_rules.BookingRules, zone) -> int:
    """The first clinician for whom the start is open, or the error naming the broken rule."""
    clinicians = await clinicians_for(conn, division_id, body.session_type)
    if not clinicians:
        raise ApiError(422, "no_hours", explain("no_hours", body.session_type, rules)["message"],
                       field="session_type")
    reasons = []
    for clinician_id in clinicians:
        schedule = await load_schedule(conn, clinician_id, body.start - timedelta(days=1),
                                       body.start + timedelta(days=1))
        reason = slots.check(start=body.start, now=now, zone=zone, windows=schedule.windows,
                             rules=rules.for_type(body.session_type), busy=schedule.busy,
                             time_off=schedule.time_off, session_type=body.session_type,
                             length=body.length, division_id=division_id)
        if reason is None:
            return clinician_id
        reasons.append(reason)
    if "booked" in reasons:
        raise JustTaken()
    reason = reasons[0]
    raise ApiError(422, reason, explain(reason, body.session_type, rules)["message"],
                   field="start")


class JustTaken(ApiError):
    def __init__(self) -> None:
        super().__init__(409, "just_taken",
                         "That time was just taken. Here are the openings left.", field="start")


async def insert(conn: asyncpg.Connection, *, clinician_id: int, client_id: int,
                 division_id: int, session_type: str, start: datetime, length: int,
                 buffer_minutes: int, booked_by: int, series_id: int | None = None) -> int:
    """Insert one appointment; the exclusion constraint turns an overlap into JustTaken."""
    ends = start + timedelta(minutes=length)
    async with refusing_overlap(conn):
        return await conn.fetchval(
            """INSERT INTO appointments (clinician_id, client_id, division_id, session_type,
                   starts_at, ends_at, blocked_until, booked_by, series_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id""",
            clinician_id, client_id, division_id, session_type, start, ends,
            ends + timedelta(minutes=buffer_minutes), booked_by, series_id)


@contextlib.asynccontextmanager
async def refusing_overlap(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """A savepoint in which the exclusion constraint's refusal becomes JustTaken (409)."""
    try:
        async with conn.transaction():
            yield
    except asyncpg.ExclusionViolationError:
        raise JustTaken() from None


@api.route("POST", "/api/appointments", body=BookingIn, status=201)
async def book(call: Call) -> dict:
    """Book a session. A client books for themself under every rule; the therapist books for
    a client (`client_id`), optionally weekly (`repeat_weeks`), limited only by overlaps."""
    body: BookingIn = call.body
    if call.user.is_therapist:
        return await _book_for_client(call, body)
    if body.client_id is not None or body.repeat_weeks != 1:
        raise ApiError(403, "forbidden", "Only the practice can book for someone else or book "
                       "a series.", field="client_id")
    division_id = client_division(call)
    now = utcnow()
    async with call.pool.acquire() as conn:
        rules = await booking_rules.load(conn)
        zone = practice.zone(await practice.get(conn))
        check_length(rules, body.length)
        clinician_id = await _choose_clinician(conn, body, division_id, now, rules, zone)
        upcoming = await conn.fetchval(
            "SELECT count(*) FROM appointments WHERE client_id = $1 AND status = 'booked' "
            "AND ends_at > now()", call.user.user_id)
        if upcoming >= rules.max_upcoming:
            raise ApiError(422, "too_many_upcoming",
                           f"You can hold up to {rules.max_upcoming} upcoming sessions.",
                           field="start")
        async with conn.transaction():
            appointment_id = await insert(
                conn, clinician_id=clinician_id, client_id=call.user.user_id,
                division_id=division_id, session_type=body.session_type, start=body.start,
                length=body.length, buffer_minutes=rules.buffer_minutes,
                booked_by=call.user.user_id)
            await waitlist.satisfied_by_booking(conn, call.user.user_id, division_id,
                                                body.session_type, body.length)
            await audit.record(conn, call.request, actor_id=call.user.user_id, action="book",
                               record_type="appointment", record_id=appointment_id,
                               subject_user_id=call.user.user_id)
            await announce(conn, appointment_id, "appointment.booked",
                           f"{call.user.name} booked a {body.session_type} session on "
                           f"{when_text(body.start, zone)}",
                           to=[clinician_id], also=[call.user.user_id])
        return await describe(conn, appointment_id, call.user.user_id, False)


async def _book_for_client(call: Call, body: BookingIn) -> dict:
    if body.client_id is None:
        raise ApiError(422, "missing", "Choose the client to book for.", field="client_id")
    async with call.pool.acquire() as conn:
        division_id = await conn.fetchval(
            """SELECT m.division_id FROM memberships m JOIN users u ON u.id = m.user_id
               WHERE m.user_id = $1 AND u.role = 'client' AND m.division_id = $2""",
            body.client_id, call.user.division_id)
        if division_id is None:
            raise NotFound("That client")
        rules = await booking_rules.load(conn)
        zone = practice.zone(await practice.get(conn))
        async with conn.transaction():
            series_id = None
            first_id = 0
            for week in range(body.repeat_weeks):
                # weekly in wall-clock time, so a series keeps its hour across DST
                start = (body.start.astimezone(zone) + timedelta(weeks=week)).astimezone(zone)
                start = slots.local_moment(start.date(), start.time(), zone) or start
                appointment_id = await insert(
                    conn, clinician_id=call.user.user_id, client_id=body.client_id,
                    division_id=division_id, session_type=body.session_type, start=start,
                    length=body.length, buffer_minutes=rules.buffer_minutes,
                    booked_by=call.user.user_id, series_id=series_id)
                if week == 0:
                    first_id = appointment_id
                    if body.repeat_weeks > 1:
                        series_id = appointment_id
                        await conn.execute("UPDATE appointments SET series_id = $1 WHERE id = $1",
                                           appointment_id)
            await waitlist.satisfied_by_booking(conn, body.client_id, division_id,
                                                body.session_type, body.length)
            await audit.record(conn, call.request, actor_id=call.user.user_id, action="book",
                               record_type="appointment", record_id=first_id,
                               subject_user_id=body.client_id,
                               detail={"weeks": body.repeat_weeks})
            count = "" if body.repeat_weeks == 1 else f" (weekly, {body.repeat_weeks} times)"
            await announce(conn, first_id, "appointment.booked",
                           f"Your therapist booked a {body.session_type} session for you on "
                           f"{when_text(body.start, zone)}{count}",
                           to=[body.client_id], also=[call.user.user_id])
        return await describe(conn, first_id, call.user.user_id, True)
