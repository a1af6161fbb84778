"""Email reminders before each session, sent through the outbox by whichever node gets there.

The claim (FOR UPDATE SKIP LOCKED, reminder_sent_at set in the same transaction as the
outbox row) makes several nodes send each reminder once.
"""
from __future__ import annotations

import asyncpg

from scheduling import rules as booking_rules
from scheduling.schedule import when_text
from server import mail, periodic, practice
from server.settings import Settings

INTERVAL_SECONDS = 60


async def send_due(pool: asyncpg.Pool, settings: Settings) -> int:
    """Queue a reminder for every booked session starting within the reminder time."""
    async with pool.acquire() as conn, conn.transaction():
        rules = await booking_rules.load(conn)
        if rules.reminder_hours == 0:
            return 0
        details = await practice.get(conn)
        rows = await conn.fetch(
            """SELECT a.id, a.starts_at, a.session_type, u.email, u.name FROM appointments a
               JOIN users u ON u.id = a.client_id
               WHERE a.status = 'booked' AND a.reminder_sent_at IS NULL AND a.starts_at > now()
                 AND a.starts_at <= now() + make_interval(hours => $1)
               ORDER BY a.starts_at LIMIT 200
               FOR UPDATE OF a SKIP LOCKED""", rules.reminder_hours)
        for row in rows:
            await mail.enqueue(
                conn, row["email"], f"{details['name']}: your upcoming session", "reminder",
                name=row["name"], practice_name=details["name"],
                when=when_text(row["starts_at"], practice.zone(details)),
                link=f"{settings.public_url}/sessions/{row['id']}")
            await conn.execute("UPDATE appointments SET reminder_sent_at = now() WHERE id = $1",
                               row["id"])
        return len(rows)


async def run(pool: asyncpg.Pool, settings: Settings) -> None:
    await periodic.repeat("reminders", INTERVAL_SECONDS, lambda: send_due(pool, settings))
