"""Posting a message and reading a thread, with everything each one causes.

A post commits in one transaction with all it sets off: the message and its attachments, the
thread's waiting state, the author's read marker, the audit entry, the email alert or digest
entry, the automatic reply outside response hours, and the live events (published last, as
server/events.py asks). A read records itself in the audit log and moves the read marker.
"""
from __future__ import annotations

from datetime import datetime

import asyncpg
from starlette.requests import Request

from server import audit, events
from server.auth.principal import Principal
from server.messages import alerts, attachments, expectations, threads
from server.messages.threads import Scope, Thread
from server.settings import Settings

NOTICE = "You have a new secure message"
RECORD = "message_thread"


async def practice_ids(conn: asyncpg.Connection, division_id: int) -> list[int]:
    """The therapists who work in a division: every one of them hears of its messages."""
    return [r["id"] for r in await conn.fetch(
        """SELECT u.id FROM users u JOIN memberships m ON m.user_id = u.id
           WHERE m.division_id = $1 AND u.role = 'therapist' AND u.active ORDER BY u.id""",
        division_id)]


async def _auto_reply(conn: asyncpg.Connection, thread: Thread,
                      now: datetime | None) -> int | None:
    """Outside response hours, say when to expect an answer: once per thread per closed
    period (the period is known by the opening it ends with)."""
    expect = await expectations.current(conn, now)
    if expect.open_now or thread.auto_replied_for == expect.next_open:
        return None
    message = await threads.add_message(conn, thread, None, expectations.auto_reply_text(expect),
                                        kind="auto_reply")
    await conn.execute("UPDATE message_threads SET auto_replied_for = $2 WHERE id = $1",
                       thread.id, expect.next_open)
    return message["id"]


def _payload(thread: Thread, message_id: int, side: str, notice: bool) -> dict:
    payload = {"thread_id": thread.id, "message_id": message_id,
               "division_id": thread.division_id, "from": side, "url": f"/messages/{thread.id}"}
    if notice:
        payload["title"] = NOTICE  # events.js shows it as a toast; never the text itself
    return payload


async def post(conn: asyncpg.Connection, request: Request, settings: Settings,
               author: Principal, thread: Thread, body: str, attachment_ids: list[int],
               now: datetime | None = None) -> dict:
    """Post `body` in `thread` (locked by the caller's transaction) as `author`."""
    message = await threads.add_message(conn, thread, author.user_id, body)
    await attachments.attach(conn, author.user_id, attachment_ids, message["id"])
    await audit.record(conn, request, actor_id=author.user_id, action="message_sent",
                       record_type=RECORD, record_id=thread.id, subject_user_id=thread.client_id,
                       detail={"message_id": message["id"],
                               "attachments": len(set(attachment_ids))})
    therapists = await practice_ids(conn, thread.division_id)
    from_client = author.user_id == thread.client_id
    auto_reply_id = None
    if from_client:
        await alerts.queue_for_digest(conn, message["id"], therapists)
        auto_reply_id = await _auto_reply(conn, thread, now)
    else:
        await alerts.alert_client(conn, thread, settings)
    side = "client" if from_client else "practice"
    others = [u for u in [thread.client_id, *therapists] if u != author.user_id]
    await events.publish(conn, others, "message.new",
                         _payload(thread, message["id"], side, notice=True))
    # The author's other tabs and devices show their own message too, without a notice.
    await events.publish(conn, [author.user_id], "message.new",
                         _payload(thread, message["id"], side, notice=False))
    if auto_reply_id is not None:
        await events.publish(conn, [thread.client_id], "message.new",
                             _payload(thread, auto_reply_id, "portal", notice=False))
    return {"id": message["id"], "thread_id": thread.id, "auto_reply_id": auto_reply_id}


async def read(conn: asyncpg.Connection, request: Request, reader: Principal, thread: Thread,
               after_id: int = 0) -> tuple[list[dict], int]:
    """The thread's messages for `reader`, audited, marked read; and how far the other side
    has read (for "Read" under one's own messages)."""
    async with conn.transaction():
        items = await threads.messages(conn, thread, reader.user_id, after_id)
        await audit.record(conn, request, actor_id=reader.user_id, action="messages_read",
                           record_type=RECORD, record_id=thread.id,
                           subject_user_id=thread.client_id,
                           detail={"after_id": after_id, "count": len(items)})
        if items and await threads.mark_read(conn, thread.id, reader.user_id, items[-1]["id"]):
            # The other side's "Read" mark follows without a reload.
            readers = [thread.client_id] if reader.is_therapist else \
                await practice_ids(conn, thread.division_id)
            await events.publish(conn, readers, "message.read",
                                 {"thread_id": thread.id, "last_read_id": items[-1]["id"]})
        seen = await threads.read_by_other_side(conn, thread, Scope.of(reader))
    return items, seen


async def search(conn: asyncpg.Connection, request: Request, reader: Principal, query: str,
                 division_ids: list[int], client_id: int | None = None,
                 limit: int = 100) -> list[dict]:
    """Search the reader's threads; the snippets show message text, so each client whose
    threads were found gets an audit entry."""
    found = await threads.search(conn, Scope.of(reader), query, division_ids, client_id, limit)
    for owner in sorted({t["client"]["id"] for t in found}):
        await audit.record(conn, request, actor_id=reader.user_id, action="messages_searched",
                           record_type=RECORD, subject_user_id=owner,
                           detail={"threads": [t["id"] for t in found
                                               if t["client"]["id"] == owner]})
    return found
