"""One-time links for password reset and invitations: only a hash is stored, used once."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import asyncpg

from server.errors import ApiError

LIFETIME = {"reset": timedelta(hours=1), "invite": timedelta(days=7)}


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def issue(conn: asyncpg.Connection, user_id: int, purpose: str) -> str:
    """A new link token; earlier unused ones of the same purpose stop working."""
    await conn.execute(
        "UPDATE account_tokens SET used_at = now() "
        "WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
        user_id, purpose,
    )
    token = secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO account_tokens (token_hash, user_id, purpose, expires_at) "
        "VALUES ($1, $2, $3, now() + $4::interval)",
        _hash(token), user_id, purpose, LIFETIME[purpose],
    )
    return token


async def peek(conn: asyncpg.Connection, token: str) -> asyncpg.Record | None:
    """The live token's user and purpose, without using it (to render the form)."""
    if len(token) > 100:
        return None
    return await conn.fetchrow(
        """SELECT t.purpose, u.id AS user_id, u.email, u.name FROM account_tokens t
           JOIN users u ON u.id = t.user_id
           WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > now() AND u.active""",
        _hash(token),
    )


async def consume(conn: asyncpg.Connection, token: str) -> asyncpg.Record:
    """Use the token once; the row lock makes a second, concurrent use fail."""
    row = await conn.fetchrow(
        """UPDATE account_tokens t SET used_at = now()
           FROM users u
           WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > now()
             AND u.id = t.user_id AND u.active
           RETURNING t.purpose, u.id AS user_id, u.email""",
        _hash(token) if len(token) <= 100 else b"",
    )
    if row is None:
        raise ApiError(400, "invalid_link",
                       "This link has expired or was already used. Ask for a new one.",
                       field="token")
    return row
