"""The mail outbox: written in the caller's transaction, sent by a worker on every node.

Emails never carry clinical content: only that something is waiting, and a link.
"""
from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib
import asyncpg
from jinja2 import Environment, FileSystemLoader, select_autoescape

from server.settings import Settings
from web import TEMPLATES_DIR

log = logging.getLogger(__name__)

CHANNEL = "portal_outbox"  # NOTIFY on queueing wakes the workers of every node at once
_env = Environment(loader=FileSystemLoader(TEMPLATES_DIR / "email"),
                   autoescape=select_autoescape(["html"]))
MAX_ATTEMPTS = 8
BACKOFF_CAP_SECONDS = 3600
# A claimed row is hidden this long; a node that dies while sending frees it when it passes.
CLAIM_SECONDS = 300


async def enqueue(conn: asyncpg.Connection, to: str, subject: str, template: str,
                  **context: object) -> int:
    """Queue `template` (.txt and .html in web/templates/email) for `to`."""
    [row_id] = await enqueue_many(conn, [(to, subject, template, context)])
    return row_id


async def enqueue_many(conn: asyncpg.Connection,
                       mails: list[tuple[str, str, str, dict[str, object]]]) -> list[int]:
    """Queue many (to, subject, template, context) in one statement."""
    rows = []
    for to, subject, template, context in mails:
        rows.append((to, subject, _env.get_template(f"{template}.txt").render(**context),
                     _env.get_template(f"{template}.html").render(**context),
                     make_msgid("portal")))
    if not rows:
        return []
    ids = [r["id"] for r in await conn.fetch(
        """INSERT INTO outbox (to_addr, subject, text_body, html_body, message_id)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
           RETURNING id""", *[list(column) for column in zip(*rows)])]
    await conn.execute("SELECT pg_notify($1, '')", CHANNEL)  # delivered at commit
    return ids


def backoff_seconds(attempts: int, base: float = 30.0) -> float:
    """Exponential: base, twice that, four times … capped at an hour."""
    return min(base * 2 ** (attempts - 1), BACKOFF_CAP_SECONDS)


class OutboxWorker:
    """Claims due rows with FOR UPDATE SKIP LOCKED so that several nodes never share one."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings) -> None:
        self.pool = pool
        self.settings = settings
        self.wake = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                sent = await self.send_due()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("outbox pass failed: %s", exc)
                sent = 0
            if sent == 0:
                try:
                    await asyncio.wait_for(self.wake.wait(), self.settings.mail_poll_seconds)
                except TimeoutError:
                    pass
                self.wake.clear()

    async def claim(self, batch: int = 50) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            return await conn.fetch(
                """UPDATE outbox SET next_attempt_at = now() + make_interval(secs => $2),
                                     attempts = attempts + 1
                   WHERE id IN (SELECT id FROM outbox
                                WHERE sent_at IS NULL AND failed_at IS NULL
                                  AND next_attempt_at <= now()
                                ORDER BY next_attempt_at, id
                                LIMIT $1 FOR UPDATE SKIP LOCKED)
                   RETURNING id, to_addr, subject, text_body, html_body, attempts, message_id""",
                batch, CLAIM_SECONDS,
            )

    async def send_due(self) -> int:
        """Send one batch of due mail over one SMTP connection; the number of rows tried."""
        if not self.settings.smtp_host:
            return 0
        rows = await self.claim()
        if not rows:
            return 0
        settings = self.settings
        smtp = aiosmtplib.SMTP(hostname=settings.smtp_host, port=settings.smtp_port, timeout=30,
                               start_tls=settings.smtp_starttls or None)
        try:
            await smtp.connect()
            if settings.smtp_username:
                await smtp.login(settings.smtp_username, settings.smtp_password or "")
        except (aiosmtplib.SMTPException, OSError) as exc:
            for row in rows:
                await self._failed(row, str(exc) or type(exc).__name__, permanent=False)
            return len(rows)
        try:
            async with self.pool.acquire() as conn:
                for index, row in enumerate(rows):
                    try:
                        await smtp.send_message(self.message(row))
                    except aiosmtplib.SMTPResponseException as exc:
                        await self._failed(row, f"{exc.code} {exc.message}",
                                           500 <= exc.code < 600)
                        continue
                    except (aiosmtplib.SMTPException, OSError) as exc:
                        # The connection is gone: this row and the rest wait for the next pass.
                        for unsent in rows[index:]:
                            await self._failed(unsent, str(exc) or type(exc).__name__, False)
                        break
                    # Recorded at once, row by row: a node dying mid-batch resends nothing
                    # that SMTP had already accepted, but the row it was sending.
                    await conn.execute("UPDATE outbox SET sent_at = now(), last_error = NULL "
                                       "WHERE id = $1", row["id"])
        finally:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                pass
        return len(rows)

    def message(self, row: asyncpg.Record) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.mail_from
        message["To"] = row["to_addr"]
        message["Subject"] = row["subject"]
        message["Message-ID"] = row["message_id"] or make_msgid(f"outbox.{row['id']}")
        message.set_content(row["text_body"])
        if row["html_body"]:
            message.add_alternative(row["html_body"], subtype="html")
        return message

    async def _failed(self, row: asyncpg.Record, error: str, permanent: bool) -> None:
        permanent = permanent or row["attempts"] >= MAX_ATTEMPTS
        async with self.pool.acquire() as conn:
            await conn.execute(
                """UPDATE outbox SET last_error = $2,
                       failed_at = CASE WHEN $3 THEN now() END,
                       next_attempt_at = now() + make_interval(secs => $4)
                   WHERE id = $1""",
                row["id"], error[:1000], permanent,
                backoff_seconds(row["attempts"], self.settings.mail_retry_seconds),
            )
        log.warning("mail %s to %s failed (%s): %s", row["id"], row["to_addr"],
                    "permanent" if permanent else "will retry", error)


async def recent(conn: asyncpg.Connection | asyncpg.Pool, limit: int = 100) -> list[dict]:
    """The newest outbox rows with their state, for the therapist's Sent mail page."""
    rows = await conn.fetch(
        """SELECT id, to_addr, subject, text_body, created_at, sent_at, failed_at, attempts,
                  last_error,
                  CASE WHEN sent_at IS NOT NULL THEN 'sent'
                       WHEN failed_at IS NOT NULL THEN 'failed' ELSE 'waiting' END AS state
           FROM outbox ORDER BY id DESC LIMIT $1""", limit)
    return [dict(r) for r in rows]
