"""Events: written in the same transaction as the change that causes them.

`publish` takes a transaction-scoped advisory lock before it allocates ids, so event ids
become visible in id order: a node that has read every event up to id N can never later see
a smaller one commit. That makes "everything after the last id I saw" exact, for resuming
sockets and for nodes replaying after their LISTEN connection dropped. Publishing
transactions queue only from their insert to their commit, so publish last.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable, Sequence

import asyncpg

CHANNEL = "portal_events"
PUBLISH_LOCK_ID = 7_320_451_003


def as_json(row: asyncpg.Record) -> dict:
    created: datetime = row["created_at"]
    return {"type": "event", "id": row["id"], "kind": row["kind"],
            "payload": json.loads(row["payload"]), "created_at": created.isoformat()}


async def publish(conn: asyncpg.Connection, recipients: Iterable[int], kind: str,
                  payload: dict[str, Any] | None = None) -> list[int]:
    """Queue `kind` for each recipient; must run inside the caller's transaction."""
    return await publish_each(conn, [(r, kind, payload or {}) for r in sorted(set(recipients))])


async def publish_each(conn: asyncpg.Connection,
                       items: Sequence[tuple[int, str, dict[str, Any]]]) -> list[int]:
    """Queue one event per (recipient, kind, payload), in one statement."""
    if not conn.is_in_transaction():
        raise RuntimeError("publish must run inside the transaction of the change itself")
    if not items:
        return []
    await conn.execute("SELECT pg_advisory_xact_lock($1)", PUBLISH_LOCK_ID)
    ids = [r["id"] for r in await conn.fetch(
        """INSERT INTO events (recipient_id, kind, payload)
           SELECT r, k, p::jsonb FROM unnest($1::bigint[], $2::text[], $3::text[]) AS i(r, k, p)
           RETURNING id""",
        [i[0] for i in items], [i[1] for i in items], [json.dumps(i[2]) for i in items])]
    # The payload is a wake-up with the newest id; well under NOTIFY's 8000-byte limit.
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, str(max(ids)))
    return ids


async def after(conn: asyncpg.Connection | asyncpg.Pool, recipient_ids: list[int],
                after_id: int, limit: int = 1000) -> list[asyncpg.Record]:
    """Events for these recipients with an id above `after_id`, oldest first."""
    return await conn.fetch(
        """SELECT id, recipient_id, kind, payload, created_at FROM events
           WHERE recipient_id = ANY($1::bigint[]) AND id > $2 ORDER BY id LIMIT $3""",
        recipient_ids, after_id, limit)


async def latest_id(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    return await conn.fetchval("SELECT coalesce(max(id), 0) FROM events")


async def prune(conn: asyncpg.Connection, retention_days: int) -> str:
    return await conn.execute(
        "DELETE FROM events WHERE created_at < now() - make_interval(days => $1)", retention_days)


async def prune_kind(conn: asyncpg.Connection, prefix: str, older_than_hours: int) -> str:
    """Delete events whose kind starts with `prefix` sooner than the general retention."""
    return await conn.execute(
        "DELETE FROM events WHERE starts_with(kind, $1) "
        "AND created_at < now() - make_interval(hours => $2)", prefix, older_than_hours)
