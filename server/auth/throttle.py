"""Login throttling per account and per address.

At most `login_account_failures` failed attempts on one account within a window of
`login_window_minutes` (defaults 5 in 15 minutes: at most 20 an hour, far under the 100 the
practice allows); likewise, with a higher limit, per address. A refused attempt is not counted,
so a lockout ends on time.
"""
from __future__ import annotations

import math

import asyncpg

from server.errors import ApiError
from server.settings import Settings


async def _blocked_for(conn: asyncpg.Connection, column: str, value: str | None, limit: int,
                       window_minutes: int) -> float:
    """Seconds until fewer than `limit` failures remain inside the window (0 when allowed)."""
    if value is None:
        return 0.0
    seconds = await conn.fetchval(
        f"""SELECT extract(epoch FROM at + make_interval(mins => $3) - now())
            FROM login_failures
            WHERE {column} = $1 AND at > now() - make_interval(mins => $3)
            ORDER BY at DESC OFFSET $2 - 1 LIMIT 1""",
        value, limit, window_minutes,
    )
    return max(float(seconds or 0.0), 0.0)


async def check(conn: asyncpg.Connection, email_key: str, ip: str | None,
                settings: Settings) -> None:
    wait = max(
        await _blocked_for(conn, "email_key", email_key, settings.login_account_failures,
                           settings.login_window_minutes),
        await _blocked_for(conn, "ip", ip, settings.login_address_failures,
                           settings.login_window_minutes),
    )
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise ApiError(429, "too_many_attempts",
                       f"Too many failed attempts. Try again in {seconds} s.",
                       headers={"Retry-After": str(seconds)})


async def record_failure(conn: asyncpg.Connection, email_key: str, ip: str | None) -> None:
    await conn.execute("INSERT INTO login_failures (email_key, ip) VALUES ($1, $2)",
                       email_key, ip)


async def prune(conn: asyncpg.Connection) -> str:
    return await conn.execute("DELETE FROM login_failures WHERE at < now() - interval '1 day'")
