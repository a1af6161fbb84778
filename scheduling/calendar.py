"""Reading appointments: lists, the therapist's calendar, .ics downloads and private feeds."""
from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, timedelta
from typing import Literal

import asyncpg
from icalendar import Calendar, Event
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scheduling import appointments, availability, booking, rules as booking_rules, time_off
from scheduling.schedule import rows_for, utcnow
from server import audit, practice
from server.api import Api, Call, parse_query
from server.errors import ApiError

api = Api()


class ListQuery(BaseModel):
    when: Literal["upcoming", "past"] = "upcoming"


class CalendarQuery(BaseModel):
    start: date
    days: int = Field(default=7, ge=1, le=31)


async def list_for(conn: asyncpg.Connection | asyncpg.Pool, user_id: int, is_therapist: bool,
                   division_id: int | None, when: str = "upcoming", since: datetime | None = None,
                   until: datetime | None = None) -> list[dict]:
    """A user's appointments (a therapist's: in the active division), as JSON."""
    now = utcnow()
    details = await practice.get(conn)
    rules = await booking_rules.load(conn)
    who = "a.clinician_id" if is_therapist else "a.client_id"
    if since is None:
        since, until = (now, None) if when == "upcoming" else (None, now)
    rows = await conn.fetch(
        appointments.DETAIL_QUERY + f"""
        WHERE {who} = $1 AND ($2::int IS NULL OR a.division_id = $2)
          AND ($3::timestamptz IS NULL OR a.ends_at > $3)
          AND ($4::timestamptz IS NULL OR a.starts_at < $4)
          AND ($5 OR a.status NOT IN ('cancelled', 'late_cancel'))
        ORDER BY a.starts_at {'DESC' if when == 'past' else ''} LIMIT 500""",
        user_id, division_id if is_therapist else None, since, until, when == "past"
        or is_therapist)
    zone = practice.zone(details)
    return [appointments.as_json(r, zone, details["address"], rules.cancel_cutoff_hours, now,
                                 is_therapist) for r in rows]


@api.route("GET", "/api/appointments")
async def list_appointments(call: Call) -> dict:
    """The caller's upcoming (default) or past appointments."""
    query: ListQuery = parse_query(call.request, ListQuery)
    return {"appointments": await list_for(call.pool, call.user.user_id, call.user.is_therapist,
                                           call.user.division_id, query.when)}


@api.route("GET", "/api/appointments/{id:int}")
async def get_appointment(call: Call) -> dict:
    """One appointment of the caller's."""
    return await booking.describe(call.pool, call.path_id(), call.user.user_id,
                                  call.user.is_therapist)


@api.route("GET", "/api/calendar", auth="therapist")
async def therapist_calendar(call: Call) -> dict:
    """The therapist's days: appointments (every status), weekly windows and time off."""
    query: CalendarQuery = parse_query(call.request, CalendarQuery)
    zone = practice.zone(await practice.get(call.pool))
    since = datetime.combine(query.start, datetime.min.time(), zone)
    until = since + timedelta(days=query.days)
    return {
        "appointments": await list_for(call.pool, call.user.user_id, True, call.user.division_id,
                                       since=since, until=until),
        "windows": [availability.as_json(r)
                    for r in await rows_for(call.pool, call.user.user_id)],
        "time_off": await time_off.upcoming_for(call.pool, call.user.user_id),
    }


def ics_event(row: dict, practice_name: str, url: str) -> Event:
    event = Event()
    event.add("uid", f"appointment-{row['id']}@portal")
    event.add("dtstart", datetime.fromisoformat(row["start"]))
    event.add("dtend", datetime.fromisoformat(row["end"]))
    event.add("dtstamp", utcnow())
    # Calendars sync to phones and clouds: say no more than the client would on a sticky note.
    event.add("summary", f"{practice_name}: {row['session_type']} session")
    event.add("location", row["where"])
    event.add("url", url)
    if row["status"] != "booked":
        event.add("status", "CANCELLED")
    return event


def ics_response(events: list[Event], filename: str) -> Response:
    calendar = Calendar()
    calendar.add("prodid", "-//Practice portal//EN")
    calendar.add("version", "2.0")
    for event in events:
        calendar.add_component(event)
    return Response(calendar.to_ical(), media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@api.route("GET", "/api/appointments/{id:int}/ics")
async def appointment_ics(call: Call) -> Response:
    """"Add to calendar": the appointment as an .ics file."""
    row = await booking.describe(call.pool, call.path_id(), call.user.user_id,
                                 call.user.is_therapist)
    details = await practice.get(call.pool)
    url = f"{call.settings.public_url}/sessions/{row['id']}"
    return ics_response([ics_event(row, details["name"], url)], f"session-{row['id']}.ics")


def _feed_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@api.route("POST", "/api/calendar-feed", status=201)
async def reset_feed(call: Call) -> dict:
    """A new private calendar feed URL; the old one stops working."""
    token = secrets.token_urlsafe(32)
    async with call.pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO calendar_feeds (user_id, token_hash) VALUES ($1, $2)
               ON CONFLICT (user_id) DO UPDATE SET token_hash = $2, created_at = now()""",
            call.user.user_id, _feed_hash(token))
        await audit.record(conn, call.request, actor_id=call.user.user_id,
                           action="calendar_feed_reset", record_type="calendar_feed",
                           subject_user_id=call.user.user_id)
    url = f"{call.settings.public_url}/calendar/feed/{token}.ics"
    return {"url": url, "message": f"Your private calendar address (keep it to yourself): {url}"}


async def feed(request: Request) -> Response:
    """The private feed: every upcoming and recent appointment of the token's owner."""
    token = request.path_params["token"]
    pool = request.app.state.pool
    user = await pool.fetchrow(
        "SELECT u.id, u.role FROM calendar_feeds f JOIN users u ON u.id = f.user_id "
        "WHERE f.token_hash = $1 AND u.active", _feed_hash(token) if len(token) < 100 else b"")
    if user is None:
        raise ApiError(404, "not_found", "This calendar feed does not exist or was reset.")
    since = utcnow() - timedelta(days=30)
    rows = await list_for(pool, user["id"], user["role"] == "therapist", None, since=since,
                          until=since + timedelta(days=400))
    details = await practice.get(pool)
    base = request.app.state.settings.public_url
    return ics_response([ics_event(r, details["name"], f"{base}/sessions/{r['id']}")
                         for r in rows], "sessions.ics")


def feed_routes() -> list[Route]:
    return [Route("/calendar/feed/{token}.ics", feed)]

