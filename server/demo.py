"""The demo practice, seeded on first start in demo mode only (`portal run --demo`)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import asyncpg

from scheduling.time_off import day_bounds
from server import practice
from server.auth.passwords import hash_password

THERAPIST = ("therapist@demo.test", "demo-therapist", "Dr. Maya Rivera")
CLIENT = ("client@demo.test", "demo-client", "Jordan Lee")
STUDENT = ("student@demo.test", "demo-student", "Sam Patel")
LOGINS = [("Therapist", THERAPIST), ("Client (Therapy)", CLIENT),
          ("Client (Education)", STUDENT)]

WELCOME = (
    "Welcome to the client portal of Riverside Counseling. Book and cancel sessions, join video "
    "sessions, send secure messages and see your invoices, all in one place. Use the Client "
    "Portal link to log in."
)


def login_lines() -> list[str]:
    return [f"  {label:<20} {email} / {password}" for label, (email, password, _) in LOGINS]


async def seed(conn: asyncpg.Connection, today: date | None = None) -> bool:
    """Create the demo practice unless it exists; True when it was created now."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(7320451002)")
        if await conn.fetchval("SELECT 1 FROM users WHERE lower(email) = $1", THERAPIST[0]):
            return False
        await conn.execute(
            """UPDATE practice SET name = 'Riverside Counseling', welcome_title = 'Welcome',
                   welcome_text = $1, phone = '(555) 010-2030',
                   address = '120 River Street, Suite 4, Springfield',
                   timezone = 'America/New_York' WHERE id = 1""", WELCOME)
        divisions = {r["slug"]: r["id"] for r in await conn.fetch("SELECT id, slug FROM divisions")}
        people = [(THERAPIST, "therapist", ["therapy", "education"], "(555) 010-2030"),
                  (CLIENT, "client", ["therapy"], "(555) 010-4411"),
                  (STUDENT, "client", ["education"], "(555) 010-5522")]
        ids = {}
        for (email, password, name), role, slugs, phone in people:
            user_id = await conn.fetchval(
                "INSERT INTO users (email, name, role, password_hash, phone, timezone) "
                "VALUES ($1, $2, $3, $4, $5, 'America/New_York') RETURNING id",
                email, name, role, await hash_password(password), phone)
            ids[email] = user_id
            for slug in slugs:
                await conn.execute("INSERT INTO memberships VALUES ($1, $2)", user_id,
                                   divisions[slug])
        today = today or date.today()
        first = today + timedelta(days=10)
        starts, ends = day_bounds(first, first + timedelta(days=2),
                                  practice.zone(await practice.get(conn)))
        await conn.execute(
            "INSERT INTO time_off (clinician_id, starts_at, ends_at, note, public) "
            "VALUES ($1, $2, $3, $4, true)",
            ids[THERAPIST[0]], starts, ends,
            "Out of the office for a training. Messages are answered when I return.")
        # Video and phone on weekdays; the office on Tuesday and Thursday, AM and PM blocks.
        both = sorted(divisions.values())
        windows = [(day, "09:00", "17:00", ["phone", "video"]) for day in (0, 2, 4)]
        windows += [(day, start, end, ["office"]) for day in (1, 3)
                    for start, end in (("09:00", "12:00"), ("13:00", "17:00"))]
        for weekday, start, end, types in windows:
            await conn.execute(
                "INSERT INTO availability (clinician_id, weekday, starts, ends, session_types, "
                "division_ids) VALUES ($1, $2, $3, $4, $5, $6)",
                ids[THERAPIST[0]], weekday, time.fromisoformat(start), time.fromisoformat(end),
                types, both)
    return True


async def ensure_video_session(conn: asyncpg.Connection, now: datetime | None = None) -> None:
    """Give the demo client a video session whose room is open now, on every demo start.

    Someone trying the portal logs in as the client in one browser and as the therapist in
    another and meets in the room. An open one is reused; otherwise one starts in 5 minutes
    and lasts an hour (unless the therapist's time is taken then).
    """
    now = now or datetime.now(timezone.utc)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(7320451006)")
        ids = {r["email"]: r["id"] for r in await conn.fetch(
            "SELECT id, lower(email) AS email FROM users WHERE lower(email) = ANY($1::text[])",
            [THERAPIST[0], CLIENT[0]])}
        if len(ids) < 2:
            return
        therapist, client = ids[THERAPIST[0]], ids[CLIENT[0]]
        if await conn.fetchval(
                """SELECT 1 FROM appointments WHERE client_id = $1 AND clinician_id = $2
                   AND session_type = 'video' AND status = 'booked'
                   AND starts_at <= $3::timestamptz + interval '5 minutes'
                   AND ends_at > $3::timestamptz + interval '20 minutes'""",
                client, therapist, now):
            return
        starts = now.replace(second=0, microsecond=0) + timedelta(minutes=5)
        ends = starts + timedelta(hours=1)
        clash = await conn.fetchval(
            """SELECT 1 FROM appointments WHERE clinician_id = $1
               AND status IN ('booked', 'attended', 'no_show')
               AND tstzrange(starts_at, blocked_until) && tstzrange($2, $3)""",
            therapist, starts, ends)
        if clash:
            return
        await conn.execute(
            """INSERT INTO appointments (clinician_id, client_id, division_id, session_type,
                   starts_at, ends_at, blocked_until, booked_by)
               VALUES ($1, $2, (SELECT id FROM divisions WHERE slug = 'therapy'), 'video',
                       $3, $4, $4, $1)""", therapist, client, starts, ends)
