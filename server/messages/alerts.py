"""Email alerts about messages, through the outbox, never with a word of the message.

A client hears of the practice's message at once, at most once an hour per thread. A
therapist hears of clients' messages as a digest of counts: at most one every few hours
(their choice) and never inside their quiet hours, so the portal does not put them on call.
The digest queue is written with the message, so a message cannot slip between two digests;
several nodes run the job at once and the row lock on each therapist's preferences lets only
one of them send.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import asyncpg
from starlette.requests import Request

from scheduling.schedule import utcnow
from server import mail, practice
from server.messages import attachments
from server.messages.hours import QuietHours
from server.messages.threads import Thread
from server.settings import Settings

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 60
SUBJECT = "You have a new secure message"


async def alert_client(conn: asyncpg.Connection, thread: Thread, settings: Settings) -> bool:
    """Queue "You have a new secure message" for the thread's client, unless this thread
    already sent them one within the hour. True when an email was queued."""
    due = await conn.fetchval(
        """INSERT INTO message_alerts_sent (thread_id, recipient_id, sent_at)
           VALUES ($1, $2, now())
           ON CONFLICT (thread_id, recipient_id) DO UPDATE SET sent_at = now()
               WHERE message_alerts_sent.sent_at <= now() - interval '1 hour'
           RETURNING true""", thread.id, thread.client_id)
    if not due:
        return False
    person = await conn.fetchrow("SELECT email, name FROM users WHERE id = $1 AND active",
                                 thread.client_id)
    if person is None:
        return False
    details = await practice.get(conn)
    await mail.enqueue(conn, person["email"], f"{details['name']}: {SUBJECT}", "message_alert",
                       name=person["name"], practice_name=details["name"],
                       link=f"{settings.public_url}/messages/{thread.id}")
    return True


async def queue_for_digest(conn: asyncpg.Connection, message_id: int,
                           therapist_ids: list[int]) -> None:
    await conn.execute(
        "INSERT INTO message_digest_queue (recipient_id, message_id) "
        "SELECT r, $2 FROM unnest($1::bigint[]) AS r ON CONFLICT DO NOTHING",
        therapist_ids, message_id)


def wake_mail(request: Request) -> None:
    """Have this node's outbox worker look now rather than at its next poll."""
    worker = getattr(request.app.state, "mail_worker", None)
    if worker is not None:
        worker.wake.set()


def _every_text(hours: int) -> str:
    return "day" if hours == 24 else "hour" if hours == 1 else f"{hours} hours"


async def _digest_one(conn: asyncpg.Connection, recipient_id: int, now: datetime,
                      details: dict, settings: Settings) -> bool:
    prefs = await conn.fetchrow(
        "SELECT * FROM message_alert_prefs WHERE user_id = $1 FOR UPDATE SKIP LOCKED",
        recipient_id)
    if prefs is None:
        return False  # another node holds it
    quiet = QuietHours(prefs["quiet_from"], prefs["quiet_until"], prefs["quiet_weekends"])
    if quiet.covers(now, practice.zone(details)):
        return False
    last = prefs["last_digest_at"]
    if last is not None and now - last < timedelta(hours=prefs["digest_hours"]):
        return False
    queued = [r["message_id"] for r in await conn.fetch(
        "DELETE FROM message_digest_queue WHERE recipient_id = $1 RETURNING message_id",
        recipient_id)]
    # Only what is still unread: a message the therapist already read needs no email.
    lines = await conn.fetch(
        """SELECT d.name AS division, count(*) AS messages, count(DISTINCT t.id) AS threads
           FROM messages m
           JOIN message_threads t ON t.id = m.thread_id
           JOIN divisions d ON d.id = t.division_id
           WHERE m.id = ANY($1::bigint[])
             AND m.id > coalesce((SELECT r.last_read_id FROM message_reads r
                                  WHERE r.thread_id = t.id AND r.user_id = $2), 0)
           GROUP BY d.name, d.position ORDER BY d.position, d.name""", queued, recipient_id)
    person = await conn.fetchrow("SELECT email, name FROM users WHERE id = $1 AND active",
                                 recipient_id)
    if not lines or person is None:
        return False
    await mail.enqueue(
        conn, person["email"], f"{details['name']}: new secure messages", "message_digest",
        name=person["name"], practice_name=details["name"],
        total_messages=sum(r["messages"] for r in lines),
        total_threads=sum(r["threads"] for r in lines),
        divisions=[dict(r) for r in lines], every=_every_text(prefs["digest_hours"]),
        link=f"{settings.public_url}/messages")
    await conn.execute("UPDATE message_alert_prefs SET last_digest_at = $2 WHERE user_id = $1",
                       recipient_id, now)
    return True


async def _recipients(conn: asyncpg.Connection) -> list[int]:
    """Therapists with queued messages; each gets a preferences row to lock."""
    await conn.execute(
        "INSERT INTO message_alert_prefs (user_id) "
        "SELECT DISTINCT recipient_id FROM message_digest_queue ON CONFLICT DO NOTHING")
    return [r["recipient_id"] for r in await conn.fetch(
        "SELECT DISTINCT recipient_id FROM message_digest_queue ORDER BY 1")]


async def send_digests(pool: asyncpg.Pool, settings: Settings,
                       now: datetime | None = None) -> int:
    """Queue each therapist's digest that is due; the number queued."""
    now = now or utcnow()
    sent = 0
    async with pool.acquire() as conn:
        details = await practice.get(conn)
        for recipient_id in await _recipients(conn):
            async with conn.transaction():
                sent += await _digest_one(conn, recipient_id, now, details, settings)
    return sent


async def run(pool: asyncpg.Pool, settings: Settings) -> None:
    """The periodic job every node runs: due digests, and deleting uploads nobody sent."""
    while True:
        try:
            await send_digests(pool, settings)
            async with pool.acquire() as conn:
                await attachments.prune(conn)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("message alerts failed: %s", exc)
        await asyncio.sleep(INTERVAL_SECONDS)
