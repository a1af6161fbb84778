"""The secure messages API: threads, messages, attachments, and the expectations settings.

Attachments are sent first, each as the raw body of POST /api/attachments?name=…, and then
named by id in the message that carries them (`attachment_ids`).
"""
from __future__ import annotations

from typing import Annotated, Callable

import asyncpg
from pydantic import BaseModel, Field, field_validator
from starlette.responses import Response

from server import audit, events
from server.api import MAX_ID, Api, Call, parse_query
from server.errors import ApiError, NotFound
from server.messages import alerts, attachments, delivery, expectations, threads
from server.messages.threads import Scope, Thread

api = Api()

DivisionId = Annotated[int, Field(gt=0, le=2**31 - 1)]
RowId = Annotated[int, Field(gt=0, le=MAX_ID)]
MAX_BODY_CHARS = 10_000


def _not_blank(message: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not value.strip():
            raise ValueError(message)
        return value.strip()
    return check


class NewMessage(BaseModel):
    body: str = Field(min_length=1, max_length=MAX_BODY_CHARS)
    attachment_ids: list[RowId] = Field(default_factory=list,
                                        max_length=attachments.MAX_PER_MESSAGE)
    _body = field_validator("body")(_not_blank("Write a message"))


class NewThread(NewMessage):
    subject: str = Field(min_length=1, max_length=200)
    # A therapist starts a thread with one client; a client always writes to the practice.
    client_id: RowId | None = None
    division_id: DivisionId | None = None
    _subject = field_validator("subject")(_not_blank("Enter a subject"))


class ThreadQuery(BaseModel):
    division_id: DivisionId | None = None
    client_id: RowId | None = None
    q: str = Field(default="", max_length=200)
    limit: int = Field(default=100, ge=1, le=500)


class MessagesQuery(BaseModel):
    after_id: int = Field(default=0, ge=0, le=MAX_ID)


class UploadQuery(BaseModel):
    name: str = Field(min_length=1, max_length=255)


def divisions_to_show(call: Call, division_id: int | None) -> list[int]:
    """The divisions a listing covers: the one asked for if it is the caller's; else every
    division of a therapist, and only the active one of a client (divisions stay apart)."""
    if division_id is not None:
        if not call.user.in_division(division_id):
            raise NotFound("That division")
        return [division_id]
    if call.user.is_therapist:
        return [d.id for d in call.user.divisions]
    return [call.user.division_id] if call.user.division_id else []


async def thread_or_404(conn: asyncpg.Connection | asyncpg.Pool, call: Call,
                        lock: bool = False) -> Thread:
    thread = await threads.get(conn, Scope.of(call.user), call.path_id(), lock=lock)
    if thread is None:
        raise NotFound("That conversation")
    return thread


@api.route("GET", "/api/threads")
async def list_threads(call: Call) -> dict:
    """The caller's threads; a therapist's inbox order (waiting first, longest wait on top).
    `q` searches subjects and messages (words, "a phrase", -word)."""
    query: ThreadQuery = parse_query(call.request, ThreadQuery)
    division_ids = divisions_to_show(call, query.division_id)
    scope = Scope.of(call.user)
    async with call.pool.acquire() as conn:
        if not query.q.strip():
            return {"threads": await threads.listing(conn, scope, division_ids, query.client_id,
                                                     query.limit)}
        found = await delivery.search(conn, call.request, call.user, query.q, division_ids,
                                      query.client_id, query.limit)
    return {"threads": found}


async def _client_for_new_thread(conn: asyncpg.Connection, call: Call,
                                 new: NewThread) -> tuple[int, int]:
    """(client, division) of a new thread, both checked against the caller."""
    division_id = new.division_id or call.user.division_id
    if division_id is None or not call.user.in_division(division_id):
        raise ApiError(422, "invalid", "Choose one of your divisions.", field="division_id")
    if not call.user.is_therapist:
        return call.user.user_id, division_id
    if new.client_id is None:
        raise ApiError(422, "missing", "Choose the client to write to.", field="client_id")
    member = await conn.fetchval(
        """SELECT 1 FROM users u JOIN memberships m ON m.user_id = u.id AND m.division_id = $2
           WHERE u.id = $1 AND u.role = 'client'""", new.client_id, division_id)
    if not member:
        raise ApiError(422, "invalid", "Choose a client of this division.", field="client_id")
    return new.client_id, division_id


@api.route("POST", "/api/threads", body=NewThread, status=201)
async def start_thread(call: Call) -> dict:
    """Start a thread with its first message: a client writes to the practice (their active
    division); a therapist to one client (`client_id`)."""
    new: NewThread = call.body
    async with call.pool.acquire() as conn, conn.transaction():
        client_id, division_id = await _client_for_new_thread(conn, call, new)
        thread = await threads.create(conn, client_id, division_id, new.subject)
        posted = await delivery.post(conn, call.request, call.settings, call.user, thread,
                                     new.body, new.attachment_ids)
    alerts.wake_mail(call.request)
    return {"id": thread.id, "message_id": posted["id"], "auto_reply_id": posted["auto_reply_id"],
            "url": f"/messages/{thread.id}"}


@api.route("GET", "/api/threads/{id:int}")
async def get_thread(call: Call) -> dict:
    """One thread's state (subject, waiting, unread), without its messages."""
    found = await threads.summary(call.pool, Scope.of(call.user), call.path_id())
    if found is None:
        raise NotFound("That conversation")
    return found


@api.route("GET", "/api/threads/{id:int}/messages")
async def list_messages(call: Call) -> dict:
    """The thread's messages (after `after_id`), oldest first; reading marks them read."""
    query: MessagesQuery = parse_query(call.request, MessagesQuery)
    async with call.pool.acquire() as conn:
        thread = await thread_or_404(conn, call)
        items, seen = await delivery.read(conn, call.request, call.user, thread, query.after_id)
        summary = await threads.summary(conn, Scope.of(call.user), thread.id)
    return {"thread": summary, "messages": items, "read_by_other_side": seen}


@api.route("POST", "/api/threads/{id:int}/messages", body=NewMessage, status=201)
async def post_message(call: Call) -> dict:
    """Answer in a thread."""
    new: NewMessage = call.body
    async with call.pool.acquire() as conn, conn.transaction():
        thread = await thread_or_404(conn, call, lock=True)
        posted = await delivery.post(conn, call.request, call.settings, call.user, thread,
                                     new.body, new.attachment_ids)
    alerts.wake_mail(call.request)
    return posted


async def _set_handled(call: Call, handled: bool) -> dict:
    async with call.pool.acquire() as conn, conn.transaction():
        thread = await thread_or_404(conn, call, lock=True)
        await threads.set_handled(conn, thread, call.user.user_id, handled)
        await audit.record(conn, call.request, actor_id=call.user.user_id,
                           action="thread_handled" if handled else "thread_reopened",
                           record_type=delivery.RECORD, record_id=thread.id,
                           subject_user_id=thread.client_id)
        others = await delivery.practice_ids(conn, thread.division_id)
        await events.publish(conn, others, "message.handled",
                                      {"thread_id": thread.id, "handled": handled})
        return await threads.summary(conn, Scope.of(call.user), thread.id)


@api.route("PUT", "/api/threads/{id:int}/handled", auth="therapist")
async def mark_handled(call: Call) -> dict:
    """Nothing more is owed on this thread (answered by phone, say): it leaves the waiting
    list until the client writes again."""
    return await _set_handled(call, True)


@api.route("DELETE", "/api/threads/{id:int}/handled", auth="therapist")
async def mark_waiting(call: Call) -> dict:
    """Put a handled thread back on the waiting list."""
    return await _set_handled(call, False)


@api.route("POST", "/api/attachments", status=201)
async def upload_attachment(call: Call) -> dict:
    """Upload one file as the raw request body, its name in `?name=`; send it with a message
    by id. At most 10 MB: PDF, JPEG, PNG, HEIC, text or .docx."""
    query: UploadQuery = parse_query(call.request, UploadQuery)
    data = await attachments.read_upload(call.request)
    async with call.pool.acquire() as conn:
        return await attachments.store(conn, call.user.user_id, query.name, data)


@api.route("GET", "/api/attachments/{id:int}")
async def download_attachment(call: Call) -> Response:
    """Download an attachment of a message the caller may read (always as a download)."""
    async with call.pool.acquire() as conn:
        row = await attachments.for_download(conn, call.path_id(), call.user.user_id)
        if row is None:
            raise NotFound("That attachment")
        if row["thread_id"] is not None:
            thread = await threads.get(conn, Scope.of(call.user), row["thread_id"])
            if thread is None:
                raise NotFound("That attachment")
            await audit.record(conn, call.request, actor_id=call.user.user_id,
                               action="attachment_downloaded", record_type=delivery.RECORD,
                               record_id=thread.id, subject_user_id=thread.client_id,
                               detail={"attachment_id": row["id"]})
    return Response(row["content"], media_type=row["content_type"], headers={
        "Content-Disposition": attachments.disposition(row["filename"]),
        "Content-Security-Policy": "sandbox", "Cache-Control": "private, no-store"})


@api.route("GET", "/api/message-settings")
async def get_expectations(call: Call) -> dict:
    """The practice's response hours, reply promise and crisis numbers, as of now."""
    return (await expectations.current(call.pool)).as_json()


@api.route("PUT", "/api/message-settings", auth="therapist", body=expectations.ResponseHoursForm)
async def set_expectations(call: Call) -> dict:
    """Set the response hours (days, opening and closing time) and the reply promise."""
    await expectations.save_hours(call.pool, call.body)
    return (await expectations.current(call.pool)).as_json()


@api.route("GET", "/api/message-alerts", auth="therapist")
async def get_alert_prefs(call: Call) -> dict:
    """The therapist's own alert digest interval and quiet hours."""
    return expectations.prefs_json(
        await expectations.load_alert_prefs(call.pool, call.user.user_id))


@api.route("PUT", "/api/message-alerts", auth="therapist", body=expectations.AlertPrefsForm)
async def set_alert_prefs(call: Call) -> dict:
    """How often at most the therapist is emailed a digest, and when never."""
    await expectations.save_alert_prefs(call.pool, call.user.user_id, call.body)
    return expectations.prefs_json(
        await expectations.load_alert_prefs(call.pool, call.user.user_id))
