"""A practice room of its own per test: a division, its therapist, and clients made on
demand, each logged in. Response hours are set to always open, so that no test depends on
the hour it runs at; the tests of the automatic reply close them themselves."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import httpx
import pytest_asyncio

from tests.support import session_client

ALWAYS_OPEN = {"days": list(range(7)), "opens": "00:00", "closes": "23:59:59.999999",
               "reply_within_days": 1, "note": ""}


@dataclass
class Room:
    division_id: int
    slug: str
    therapist: dict
    therapist_http: httpx.AsyncClient
    new_client: Callable[..., Awaitable[tuple[dict, httpx.AsyncClient]]]
    opened: list[httpx.AsyncClient] = field(default_factory=list)

    async def start_thread(self, http: httpx.AsyncClient, subject: str = "A question",
                           body: str = "Hello there", **extra) -> int:
        response = await http.post("/api/threads",
                                   json={"subject": subject, "body": body, **extra})
        assert response.status_code == 201, response.text
        return response.json()["id"]


async def set_hours(conn, days, opens, closes, reply_within_days=1, note="") -> None:
    await conn.execute(
        "UPDATE message_settings SET days = $1, opens = $2::text::time, closes = $3::text::time, "
        "reply_within_days = $4, note = $5 WHERE id = 1",
        days, opens, closes, reply_within_days, note)


@pytest_asyncio.fixture
async def room(conn, make_user, portal):
    await set_hours(conn, **ALWAYS_OPEN)
    slug = f"m{uuid.uuid4().hex[:10]}"
    division_id = await conn.fetchval(
        "INSERT INTO divisions (slug, name, position) VALUES ($1, $2, 99) RETURNING id",
        slug, f"Room {slug[-4:]}")
    therapist = await make_user("therapist", (slug,), name="Dr. Inbox")
    # As if a digest just went out: the portal's own job sends this therapist none while the
    # test runs (the digest tests call the job themselves, at times of their choosing).
    await conn.execute("INSERT INTO message_alert_prefs (user_id, last_digest_at) "
                       "VALUES ($1, now())", therapist["id"])
    opened: list[httpx.AsyncClient] = []

    async def new_client(name: str = "Client Person",
                         divisions: tuple[str, ...] = ()) -> tuple[dict, httpx.AsyncClient]:
        user = await make_user("client", divisions or (slug,), name=name)
        http = await session_client(conn, portal.url, user["id"])
        opened.append(http)
        return user, http

    therapist_http = await session_client(conn, portal.url, therapist["id"])
    opened.append(therapist_http)
    yield Room(division_id, slug, therapist, therapist_http, new_client, opened)
    for http in opened:
        await http.aclose()
    await set_hours(conn, **ALWAYS_OPEN)
    await conn.execute("DELETE FROM message_digest_queue WHERE recipient_id = $1",
                       therapist["id"])
