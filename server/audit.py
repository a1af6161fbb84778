"""The audit log: every login and every read or change of a clinical record.

Rows are written by the server only; the table's triggers refuse edits. The therapist reads
all of it, a client the entries about their own records.
"""
from __future__ import annotations

import json
from typing import Any

import asyncpg
from pydantic import BaseModel, Field
from starlette.requests import Request

from server.api import Api, Call, parse_query
from server.auth.principal import Principal
from server.auth.sessions import client_ip


async def record(
    conn: asyncpg.Connection | asyncpg.Pool,
    request: Request | None,
    *,
    actor_id: int | None,
    action: str,
    record_type: str,
    record_id: Any = None,
    subject_user_id: int | None = None,
    detail: dict | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO audit_log (actor_id, action, record_type, record_id, subject_user_id,
                                  ip, user_agent, detail)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)""",
        actor_id, action, record_type, None if record_id is None else str(record_id),
        subject_user_id, client_ip(request) if request else None,
        request.headers.get("user-agent", "")[:500] if request else "",
        json.dumps(detail or {}),
    )


async def entries(conn: asyncpg.Connection | asyncpg.Pool, principal: Principal, *,
                  before_id: int | None = None, limit: int = 100) -> list[dict]:
    """The newest entries the principal may read, newest first."""
    rows = await conn.fetch(
        """SELECT a.id, a.at, a.action, a.record_type, a.record_id, a.ip::text AS ip,
                  a.user_agent, a.detail, a.actor_id, actor.email AS actor_email,
                  a.subject_user_id, subject.email AS subject_email
           FROM audit_log a
           LEFT JOIN users actor ON actor.id = a.actor_id
           LEFT JOIN users subject ON subject.id = a.subject_user_id
           WHERE ($1::bigint IS NULL OR a.subject_user_id = $1 OR a.actor_id = $1)
             AND ($2::bigint IS NULL OR a.id < $2)
           ORDER BY a.id DESC LIMIT $3""",
        None if principal.is_therapist else principal.user_id, before_id, limit,
    )
    return [
        {**dict(r), "at": r["at"].isoformat(), "detail": json.loads(r["detail"])}
        for r in rows
    ]


api = Api()


class AuditQuery(BaseModel):
    before_id: int | None = Field(default=None, gt=0, le=2**63 - 1)
    limit: int = Field(default=100, ge=1, le=500)


@api.route("GET", "/api/audit")
async def list_audit(call: Call) -> dict:
    """Audit entries: all for the therapist, a client's own for a client. Newest first."""
    query = parse_query(call.request, AuditQuery)
    return {"entries": await entries(call.pool, call.user, before_id=query.before_id,
                                     limit=query.limit)}
