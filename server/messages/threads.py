"""Threads and their messages: the queries, each scoped to what the caller may see.

A client sees their own threads in the divisions they belong to; a therapist every thread of
their divisions. Anything else is "not found" to the caller, never "forbidden": an id that
belongs to someone else must look the same as one that does not exist.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from server.auth.principal import Principal
from server.messages.attachments import size_text
from server.messages.hours import waited_text


@dataclass(frozen=True)
class Scope:
    """Whose threads a caller may see."""

    viewer_id: int
    is_therapist: bool
    division_ids: list[int]

    @classmethod
    def of(cls, principal: Principal) -> "Scope":
        return cls(principal.user_id, principal.is_therapist,
                   [d.id for d in principal.divisions])

    @property
    def own_client_id(self) -> int | None:
        """A client's own id (they see only their threads); None for a therapist."""
        return None if self.is_therapist else self.viewer_id


@dataclass(frozen=True)
class Thread:
    id: int
    client_id: int
    division_id: int
    subject: str
    waiting_since: datetime | None
    auto_replied_for: datetime | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> "Thread":
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


async def get(conn: asyncpg.Connection | asyncpg.Pool, scope: Scope, thread_id: int,
              *, lock: bool = False) -> Thread | None:
    """The thread if the caller may see it; `lock` holds it until the transaction ends, so
    that two messages posted at once update its state one after the other."""
    row = await conn.fetchrow(
        f"""SELECT * FROM message_threads
            WHERE id = $1 AND division_id = ANY($2::int[])
              AND ($3::bigint IS NULL OR client_id = $3)
            {'FOR UPDATE' if lock else ''}""",
        thread_id, scope.division_ids, scope.own_client_id)
    return Thread.from_row(row) if row else None


async def create(conn: asyncpg.Connection, client_id: int, division_id: int,
                 subject: str) -> Thread:
    row = await conn.fetchrow(
        "INSERT INTO message_threads (client_id, division_id, subject) VALUES ($1, $2, $3) "
        "RETURNING *", client_id, division_id, subject)
    return Thread.from_row(row)


async def add_message(conn: asyncpg.Connection, thread: Thread, author_id: int | None,
                      body: str, kind: str = "message") -> asyncpg.Record:
    """Insert a message and bring the thread's state along: a client's message makes the
    practice owe a reply (from the first unanswered one on); the practice's answer clears it.
    The portal's automatic reply changes neither."""
    message = await conn.fetchrow(
        "INSERT INTO messages (thread_id, author_id, kind, body) VALUES ($1, $2, $3, $4) "
        "RETURNING id, created_at", thread.id, author_id, kind, body)
    if kind == "message":
        from_client = author_id == thread.client_id
        await conn.execute(
            """UPDATE message_threads SET last_message_at = $2,
                   waiting_since = CASE WHEN $3 THEN coalesce(waiting_since, $2) END,
                   handled_at = CASE WHEN $3 THEN NULL ELSE handled_at END
               WHERE id = $1""", thread.id, message["created_at"], from_client)
    if author_id is not None:
        await mark_read(conn, thread.id, author_id, message["id"])
    return message


async def set_handled(conn: asyncpg.Connection, thread: Thread, user_id: int,
                      handled: bool) -> None:
    """Handled: nothing is owed (a phone call answered it, say). Not handled: the thread waits
    again from the client's first message after the practice last wrote."""
    if handled:
        await conn.execute(
            "UPDATE message_threads SET waiting_since = NULL, handled_at = now(), "
            "handled_by = $2 WHERE id = $1", thread.id, user_id)
        return
    await conn.execute(
        """UPDATE message_threads t SET handled_at = NULL, handled_by = NULL,
               waiting_since = coalesce(t.waiting_since, (
                   SELECT min(m.created_at) FROM messages m
                   WHERE m.thread_id = t.id AND m.author_id = t.client_id
                     AND m.id > coalesce((SELECT max(p.id) FROM messages p
                                          WHERE p.thread_id = t.id AND p.kind = 'message'
                                            AND p.author_id <> t.client_id), 0)), now())
           WHERE t.id = $1""", thread.id)


async def mark_read(conn: asyncpg.Connection | asyncpg.Pool, thread_id: int, user_id: int,
                    last_id: int) -> bool:
    """Move the user's read marker forward to `last_id`; True when it moved."""
    moved = await conn.fetchval(
        """INSERT INTO message_reads (thread_id, user_id, last_read_id) VALUES ($1, $2, $3)
           ON CONFLICT (thread_id, user_id) DO UPDATE SET last_read_id = $3, read_at = now()
               WHERE message_reads.last_read_id < $3
           RETURNING true""", thread_id, user_id, last_id)
    return bool(moved)


async def read_by_other_side(conn: asyncpg.Connection | asyncpg.Pool, thread: Thread,
                             scope: Scope) -> int:
    """How far the other side has read: the client, or any one of the practice."""
    return await conn.fetchval(
        """SELECT coalesce(max(last_read_id), 0) FROM message_reads
           WHERE thread_id = $1 AND (user_id = $2) = $3""",
        thread.id, thread.client_id, scope.is_therapist)


def _attachment_json(item: dict) -> dict:
    return {**item, "size_text": size_text(item["size"]), "url": f"/api/attachments/{item['id']}"}


def message_json(row: asyncpg.Record, thread: Thread, viewer_id: int) -> dict:
    if row["kind"] == "auto_reply":
        side = "portal"
    else:
        side = "client" if row["author_id"] == thread.client_id else "practice"
    return {
        "id": row["id"], "thread_id": thread.id, "kind": row["kind"], "body": row["body"],
        "created_at": row["created_at"].isoformat(), "from": side,
        "mine": row["author_id"] == viewer_id,
        "author": None if row["author_id"] is None else
        {"id": row["author_id"], "name": row["author_name"]},
        "attachments": [_attachment_json(a) for a in json.loads(row["attachments"])],
    }


async def messages(conn: asyncpg.Connection | asyncpg.Pool, thread: Thread, viewer_id: int,
                   after_id: int = 0, limit: int = 500) -> list[dict]:
    """The thread's messages after `after_id`, oldest first, with their attachments' names."""
    rows = await conn.fetch(
        """SELECT m.id, m.author_id, u.name AS author_name, m.kind, m.body, m.created_at,
                  coalesce(json_agg(json_build_object(
                      'id', a.id, 'name', a.filename, 'size', a.size,
                      'content_type', a.content_type) ORDER BY a.id)
                      FILTER (WHERE a.id IS NOT NULL), '[]') AS attachments
           FROM messages m
           LEFT JOIN users u ON u.id = m.author_id
           LEFT JOIN message_attachments a ON a.message_id = m.id
           WHERE m.thread_id = $1 AND m.id > $2
           GROUP BY m.id, u.name ORDER BY m.id LIMIT $3""", thread.id, after_id, limit)
    return [message_json(r, thread, viewer_id) for r in rows]


THREAD_COLUMNS = """
    t.id, t.subject, t.division_id, d.name AS division_name, t.client_id,
    c.name AS client_name, t.created_at, t.last_message_at, t.waiting_since, t.handled_at,
    extract(epoch FROM now() - t.waiting_since) AS waiting_seconds,
    (SELECT count(*) FROM messages m WHERE m.thread_id = t.id
        AND m.id > coalesce((SELECT r.last_read_id FROM message_reads r
                             WHERE r.thread_id = t.id AND r.user_id = $1), 0)
        AND (m.author_id IS NOT DISTINCT FROM t.client_id) = $3) AS unread"""
THREAD_JOINS = """
    JOIN divisions d ON d.id = t.division_id
    JOIN users c ON c.id = t.client_id"""


def thread_json(row: asyncpg.Record) -> dict:
    waited = row["waiting_seconds"]
    return {
        "id": row["id"], "subject": row["subject"], "url": f"/messages/{row['id']}",
        "division": {"id": row["division_id"], "name": row["division_name"]},
        "client": {"id": row["client_id"], "name": row["client_name"]},
        "created_at": row["created_at"].isoformat(),
        "last_message_at": row["last_message_at"].isoformat(),
        "waiting_since": row["waiting_since"].isoformat() if row["waiting_since"] else None,
        "waiting_seconds": int(waited) if waited is not None else None,
        "waited": waited_text(float(waited)) if waited is not None else None,
        "handled_at": row["handled_at"].isoformat() if row["handled_at"] else None,
        "unread": row["unread"],
    }


async def listing(conn: asyncpg.Connection | asyncpg.Pool, scope: Scope,
                  division_ids: list[int], client_id: int | None = None,
                  limit: int = 100) -> list[dict]:
    """Threads in these divisions (already checked against the scope). For a therapist the
    inbox order: waiting for a reply first, the longest wait on top, then the most recent;
    for a client simply the most recent."""
    rows = await conn.fetch(
        f"""SELECT {THREAD_COLUMNS} FROM message_threads t {THREAD_JOINS}
            WHERE t.division_id = ANY($2::int[]) AND ($4::bigint IS NULL OR t.client_id = $4)
              AND ($5::bigint IS NULL OR t.client_id = $5)
            ORDER BY CASE WHEN $3 THEN t.waiting_since IS NULL END,
                     CASE WHEN $3 THEN t.waiting_since END, t.last_message_at DESC, t.id DESC
            LIMIT $6""",
        scope.viewer_id, division_ids, scope.is_therapist, scope.own_client_id, client_id,
        limit)
    return [thread_json(r) for r in rows]


async def summary(conn: asyncpg.Connection | asyncpg.Pool, scope: Scope,
                  thread_id: int) -> dict | None:
    row = await conn.fetchrow(
        f"""SELECT {THREAD_COLUMNS} FROM message_threads t {THREAD_JOINS}
            WHERE t.id = $4 AND t.division_id = ANY($2::int[])
              AND ($5::bigint IS NULL OR t.client_id = $5)""",
        scope.viewer_id, scope.division_ids, scope.is_therapist, thread_id,
        scope.own_client_id)
    return thread_json(row) if row else None


# Private-use characters mark the matches in a snippet: they cannot clash with HTML, and the
# snippet becomes segments that pages and scripts show as text.
MATCH_START, MATCH_END = "\ue000", "\ue001"


def snippet_segments(snippet: str) -> list[dict]:
    segments = []
    for index, part in enumerate(snippet.replace(MATCH_END, MATCH_START).split(MATCH_START)):
        if part:
            segments.append({"text": part, "match": index % 2 == 1})
    return segments


async def search(conn: asyncpg.Connection | asyncpg.Pool, scope: Scope, query: str,
                 division_ids: list[int], client_id: int | None = None,
                 limit: int = 50) -> list[dict]:
    """Threads whose subject or messages match `query` (web search syntax: words, "a phrase",
    -not), most recent first, each with a snippet of its best matching message."""
    rows = await conn.fetch(
        f"""WITH q AS (SELECT websearch_to_tsquery('english', $6) AS query),
            hits AS (
                SELECT m.thread_id, m.id AS message_id, ts_rank(m.search, q.query) AS rank
                FROM messages m, q WHERE m.search @@ q.query AND m.kind = 'message'
                UNION ALL
                SELECT t.id, NULL, 0 FROM message_threads t, q WHERE t.search @@ q.query),
            best AS (
                SELECT DISTINCT ON (thread_id) thread_id, message_id,
                       count(message_id) OVER (PARTITION BY thread_id) AS matches
                FROM hits ORDER BY thread_id, rank DESC, message_id DESC NULLS LAST)
            SELECT {THREAD_COLUMNS}, best.matches,
                   ts_headline('english', coalesce(m.body, ''), q.query,
                               'StartSel={MATCH_START}, StopSel={MATCH_END}, MaxWords=24, '
                               'MinWords=8, MaxFragments=2') AS snippet
            FROM best JOIN message_threads t ON t.id = best.thread_id {THREAD_JOINS}
            LEFT JOIN messages m ON m.id = best.message_id
            CROSS JOIN q
            WHERE t.division_id = ANY($2::int[]) AND ($4::bigint IS NULL OR t.client_id = $4)
              AND ($5::bigint IS NULL OR t.client_id = $5)
            ORDER BY t.last_message_at DESC LIMIT $7""",
        scope.viewer_id, division_ids, scope.is_therapist, scope.own_client_id, client_id,
        query, limit)
    return [{**thread_json(r), "matches": r["matches"],
             "snippet": snippet_segments(r["snippet"])} for r in rows]
