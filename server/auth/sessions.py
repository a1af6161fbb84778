"""Server-side sessions behind an opaque random cookie, with idle and absolute timeouts."""
from __future__ import annotations

import hashlib
import secrets

import asyncpg
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from server.auth.principal import Division, Principal
from server.settings import Settings

COOKIE = "portal_session"


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def create(conn: asyncpg.Connection, user_id: int, request: Request,
                 settings: Settings) -> str:
    """Start a session; return the cookie's token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    await conn.execute(
        """INSERT INTO web_sessions (token_hash, user_id, csrf_token, expires_at, ip, user_agent,
                                     division_id)
           VALUES ($1, $2, $3, now() + make_interval(hours => $4), $5, $6,
                   (SELECT min(division_id) FROM memberships WHERE user_id = $2))""",
        token_hash(token), user_id, secrets.token_urlsafe(32), settings.session_absolute_hours,
        client_ip(request), request.headers.get("user-agent", "")[:500],
    )
    return token


def set_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="lax", secure=settings.secure_cookies,
        path="/", max_age=settings.session_absolute_hours * 3600,
    )


def clear_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax",
                           secure=settings.secure_cookies)


async def load(pool: asyncpg.Pool, request: HTTPConnection, settings: Settings,
               touch: bool = True) -> Principal | None:
    """The caller's live session, or None.

    A request by the person (`touch`) restarts the idle timeout; the socket's heartbeat does
    not, so an open tab nobody uses still times out.
    """
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    async with pool.acquire() as conn:
        return await load_token(conn, token, settings, touch)


_LIVE = """s.token_hash = $1 AND u.id = s.user_id AND u.active AND s.expires_at > now()
           AND s.last_seen_at > now() - make_interval(mins => $2)"""
_COLUMNS = "s.token_hash, s.csrf_token, s.division_id, u.id AS user_id, u.email, u.name, u.role"


async def load_token(conn: asyncpg.Connection, token: str, settings: Settings,
                     touch: bool = True) -> Principal | None:
    if len(token) > 100:
        return None
    if touch:
        query = (f"UPDATE web_sessions s SET last_seen_at = now() FROM users u "
                 f"WHERE {_LIVE} RETURNING {_COLUMNS}")
    else:
        query = f"SELECT {_COLUMNS} FROM web_sessions s, users u WHERE {_LIVE}"
    row = await conn.fetchrow(query, token_hash(token), settings.session_idle_minutes)
    if row is None:
        return None
    divisions = await user_divisions(conn, row["user_id"])
    division_id = row["division_id"]
    if division_id not in {d.id for d in divisions}:
        division_id = divisions[0].id if divisions else None
    return Principal(
        user_id=row["user_id"], email=row["email"], name=row["name"], role=row["role"],
        divisions=divisions, division_id=division_id, csrf_token=row["csrf_token"],
        token_hash=row["token_hash"],
    )


async def user_divisions(conn: asyncpg.Connection, user_id: int) -> tuple[Division, ...]:
    rows = await conn.fetch(
        """SELECT d.id, d.slug, d.name FROM divisions d
           JOIN memberships m ON m.division_id = d.id
           WHERE m.user_id = $1 ORDER BY d.position, d.id""",
        user_id,
    )
    return tuple(Division(r["id"], r["slug"], r["name"]) for r in rows)


async def switch_division(conn: asyncpg.Connection, principal: Principal, division_id: int) -> None:
    await conn.execute("UPDATE web_sessions SET division_id = $2 WHERE token_hash = $1",
                       principal.token_hash, division_id)


async def revoke(conn: asyncpg.Connection, principal: Principal) -> None:
    await conn.execute("DELETE FROM web_sessions WHERE token_hash = $1", principal.token_hash)


async def revoke_all(conn: asyncpg.Connection, user_id: int) -> None:
    await conn.execute("DELETE FROM web_sessions WHERE user_id = $1", user_id)


async def prune(conn: asyncpg.Connection, settings: Settings) -> str:
    return await conn.execute(
        """DELETE FROM web_sessions
           WHERE expires_at < now() OR last_seen_at < now() - make_interval(mins => $1)""",
        settings.session_idle_minutes,
    )
