"""Telling the Wait List about openings: first come, first served.

An opening is a start that a session of an entry's type and length could take under the
current rules. It is found with the same slot search the Calendar uses, in the stretch of
time a change freed: a cancellation or a moved session (its old time), new hours, removed
time off, and each day the new last day of the booking window. Every unexpired entry it fits
is told once (waitlist_notices' key), in the transaction of the change: one live event and one
email per client, however many openings came at once. Whoever books first gets the time;
the exclusion constraint decides.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from urllib.parse import urlencode

import asyncpg

from scheduling import rules as booking_rules, slots
from scheduling.appointments import LENGTHS
from scheduling.schedule import load_schedule, utcnow, when_text
from server import events, mail, periodic, practice
from server.settings import Settings

MAX_LISTED = 5  # openings named in one email; the link to the Calendar shows the rest


async def announce(conn: asyncpg.Connection, clinician_id: int, since: datetime,
                   until: datetime, public_url: str) -> int:
    """Tell waiting clients of this clinician's open starts in [since, until); how many told."""
    combos = await conn.fetch(
        """SELECT DISTINCT division_id, session_type, length FROM waitlist_entries
           WHERE left_at IS NULL AND expires_at > now()""")
    if not combos:
        return 0
    now = utcnow()
    rules = await booking_rules.load(conn)
    details = await practice.get(conn)
    zone = practice.zone(details)
    schedule = await load_schedule(conn, clinician_id, now,
                                           now + timedelta(days=rules.window_days, hours=2))
    found: list[tuple[int, str, int, datetime]] = []
    for combo in combos:
        result = slots.search(
            now=now, zone=zone, windows=schedule.windows,
            rules=rules.for_type(combo["session_type"]), busy=schedule.busy,
            time_off=schedule.time_off, session_type=combo["session_type"],
            length=combo["length"], division_id=combo["division_id"], between=(since, until))
        found += [(combo["division_id"], combo["session_type"], combo["length"], s.start)
                  for s in result.slots]
    if not found:
        return 0
    told = await conn.fetch(
        """WITH opening AS (
               SELECT * FROM unnest($2::int[], $3::text[], $4::int[], $5::timestamptz[])
                   AS o(division_id, session_type, length, starts_at)),
           fresh AS (
               INSERT INTO waitlist_notices (entry_id, clinician_id, starts_at)
               SELECT e.id, $1, o.starts_at FROM opening o
               JOIN waitlist_entries e USING (division_id, session_type, length)
               WHERE e.left_at IS NULL AND e.expires_at > now()
               ON CONFLICT DO NOTHING
               RETURNING entry_id, starts_at)
           SELECT f.starts_at, e.session_type, e.length, e.client_id, u.email, u.name
           FROM fresh f JOIN waitlist_entries e ON e.id = f.entry_id
           JOIN users u ON u.id = e.client_id
           ORDER BY e.created_at, f.starts_at""",
        clinician_id, *[list(column) for column in zip(*found)])
    by_client: dict[int, list[asyncpg.Record]] = defaultdict(list)
    for row in told:
        by_client[row["client_id"]].append(row)
    notices, mails = [], []
    for client_id, rows in by_client.items():
        listed = [{"start": r["starts_at"].astimezone(zone).isoformat(),
                   "when": when_text(r["starts_at"], zone),
                   "session_type": r["session_type"], "length": r["length"],
                   "link": book_link(public_url, r)} for r in rows]
        first = listed[0]
        more = f" and {len(listed) - 1} more" if len(listed) > 1 else ""
        notices.append((client_id, "waitlist.opening", {
            "title": f"Wait List: a {first['length']}-minute {first['session_type']} session "
                     f"opened on {first['when']}{more}",
            "url": first["link"].removeprefix(public_url), "openings": listed[:50]}))
        mails.append((rows[0]["email"], f"{details['name']}: a time opened up", "waitlist_opening",
                      {"name": rows[0]["name"], "practice_name": details["name"],
                       "openings": listed[:MAX_LISTED], "more": max(0, len(listed) - MAX_LISTED),
                       "calendar": f"{public_url}/calendar"}))
    await events.publish_each(conn, notices)
    await mail.enqueue_many(conn, mails)
    return len(by_client)


def book_link(public_url: str, row: asyncpg.Record) -> str:
    """Straight to booking that start: the Calendar opens with it chosen."""
    query = urlencode({"session_type": row["session_type"], "length": row["length"],
                       "start": row["starts_at"].isoformat()})
    return f"{public_url}/calendar?{query}"


async def after_freeing(conn: asyncpg.Connection, clinician_id: int, starts: datetime,
                        blocked_until: datetime, public_url: str) -> int:
    """Openings made by freeing [starts, blocked_until): any start whose session would have
    overlapped it, up to an hour and a buffer before."""
    rules = await booking_rules.load(conn)
    reach = timedelta(minutes=max(LENGTHS) + rules.buffer_minutes)
    return await announce(conn, clinician_id, starts - reach, blocked_until, public_url)


async def whole_window(conn: asyncpg.Connection, clinician_id: int, public_url: str) -> int:
    """Openings anywhere in the booking window (new hours)."""
    rules = await booking_rules.load(conn)
    now = utcnow()
    return await announce(conn, clinician_id, now, now + timedelta(days=rules.window_days + 1),
                          public_url)


async def roll_window(pool: asyncpg.Pool, settings: Settings) -> int:
    """Once a day (whichever node gets there first): the new last day of the window."""
    async with pool.acquire() as conn, conn.transaction():
        zone = practice.zone(await practice.get(conn))
        today = utcnow().astimezone(zone).date()
        if await conn.fetchval("INSERT INTO waitlist_rolls VALUES ($1) ON CONFLICT DO NOTHING "
                               "RETURNING day", today) is None:
            return 0
        rules = await booking_rules.load(conn)
        edge = utcnow() + timedelta(days=rules.window_days)
        told = 0
        for clinician_id in await conn.fetch("SELECT DISTINCT clinician_id FROM availability"):
            told += await announce(conn, clinician_id["clinician_id"], edge - timedelta(days=1),
                                   edge + timedelta(hours=1), settings.public_url)
        return told


async def run(pool: asyncpg.Pool, settings: Settings) -> None:
    await periodic.repeat("wait list roll", 600, lambda: roll_window(pool, settings))
