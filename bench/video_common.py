"""What the video benchmarks share: accounts with live sessions and open video appointments."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta, timezone

import asyncpg

from common import ROOT  # noqa: F401  (puts the project on sys.path)


async def session_for(conn: asyncpg.Connection, role: str, name: str) -> dict:
    """An account with a live web session (written directly: no password hashing)."""
    tag = uuid.uuid4().hex[:8]
    user_id = await conn.fetchval(
        "INSERT INTO users (email, name, role) VALUES ($1, $2, $3) RETURNING id",
        f"{role}-{tag}@example.test", name, role)
    await conn.execute("INSERT INTO memberships SELECT $1, id FROM divisions WHERE slug = "
                       "'therapy'", user_id)
    token = secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO web_sessions (token_hash, user_id, csrf_token, expires_at, division_id) "
        "VALUES ($1, $2, 'bench', now() + interval '12 hours', "
        "(SELECT id FROM divisions WHERE slug = 'therapy'))",
        hashlib.sha256(token.encode()).digest(), user_id)
    return {"id": user_id, "token": token, "role": role}


async def video_room(conn: asyncpg.Connection) -> tuple[int, dict, dict]:
    """(appointment id, client, clinician) for a video session whose room is open now."""
    client = await session_for(conn, "client", "Bench Client")
    clinician = await session_for(conn, "therapist", "Bench Therapist")
    starts = datetime.now(timezone.utc) + timedelta(minutes=5)
    appointment_id = await conn.fetchval(
        """INSERT INTO appointments (clinician_id, client_id, division_id, session_type,
               starts_at, ends_at, blocked_until)
           VALUES ($1, $2, (SELECT id FROM divisions WHERE slug = 'therapy'), 'video', $3, $4, $4)
           RETURNING id""", clinician["id"], client["id"], starts, starts + timedelta(hours=1))
    return appointment_id, client, clinician
