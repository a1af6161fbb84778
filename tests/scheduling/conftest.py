"""A clinic of its own per test: a division, a therapist with hours all day every day (so
that no test depends on the hour it runs at), and its clients."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Awaitable, Callable
from zoneinfo import ZoneInfo

import httpx
import pytest_asyncio

from tests.support import session_client

ZONE = ZoneInfo("America/New_York")  # the demo practice's zone, which the tests run under


@dataclass
class Clinic:
    division_id: int
    slug: str
    therapist: dict
    therapist_http: httpx.AsyncClient
    new_client: Callable[..., Awaitable[tuple[dict, httpx.AsyncClient]]]


def local(days_ahead: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in the practice's zone, `days_ahead` days from today."""
    day = datetime.now(ZONE).date() + timedelta(days=days_ahead)
    return datetime.combine(day, time(hour, minute), ZONE)


@pytest_asyncio.fixture
async def clinic(conn, make_user, portal):
    slug = f"c{uuid.uuid4().hex[:10]}"
    division_id = await conn.fetchval(
        "INSERT INTO divisions (slug, name, position) VALUES ($1, $1, 99) RETURNING id", slug)
    therapist = await make_user("therapist", (slug,), name="Dr. Test")
    await conn.executemany(
        "INSERT INTO availability (clinician_id, weekday, starts, ends, session_types, "
        "division_ids) VALUES ($1, $2, '00:00', '23:45', '{phone,video,office}', $3)",
        [(therapist["id"], weekday, [division_id]) for weekday in range(7)])
    opened: list[httpx.AsyncClient] = []

    async def new_client(name: str = "Client Person") -> tuple[dict, httpx.AsyncClient]:
        user = await make_user("client", (slug,), name=name)
        await conn.execute("UPDATE users SET phone = '555-0100' WHERE id = $1", user["id"])
        http = await session_client(conn, portal.url, user["id"])
        opened.append(http)
        return user, http

    therapist_http = await session_client(conn, portal.url, therapist["id"])
    opened.append(therapist_http)
    yield Clinic(division_id, slug, therapist, therapist_http, new_client)
    for http in opened:
        await http.aclose()
    await conn.execute("UPDATE appointments SET status = 'cancelled' WHERE division_id = $1",
                       division_id)



def quarter_after(moment: datetime) -> datetime:
    """The first quarter hour at or after `moment`, in the practice's zone."""
    moment = moment.astimezone(ZONE).replace(second=0, microsecond=0)
    return moment + timedelta(minutes=-moment.minute % 15)
