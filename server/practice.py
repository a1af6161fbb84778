"""The practice: its name, time zone, public texts and divisions."""
from __future__ import annotations

import json
from zoneinfo import ZoneInfo, available_timezones

import asyncpg
from pydantic import BaseModel, Field, field_validator

from server.api import Api, Call

api = Api()


class CrisisNumber(BaseModel):
    label: str = Field(min_length=1, max_length=120)
    number: str = Field(min_length=1, max_length=40)


class PublicTexts(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    welcome_title: str = Field(min_length=1, max_length=200)
    welcome_text: str = Field(max_length=5000)
    crisis_text: str = Field(max_length=2000)
    crisis_numbers: list[CrisisNumber] = Field(min_length=1, max_length=10)
    phone: str = Field(default="", max_length=40)
    address: str = Field(default="", max_length=300)
    timezone: str = Field(default="America/New_York", max_length=64)

    @field_validator("timezone")
    @classmethod
    def known_zone(cls, value: str) -> str:
        if value not in available_timezones():
            raise ValueError("Choose a time zone such as America/New_York")
        return value


async def get(conn: asyncpg.Connection | asyncpg.Pool) -> dict:
    row = await conn.fetchrow("SELECT * FROM practice WHERE id = 1")
    if row is None:
        return {"name": "Practice", "timezone": "America/New_York", "phone": "", "address": "",
                "welcome_title": "Welcome", "welcome_text": "", "crisis_text": "",
                "crisis_numbers": [{"label": "Suicide & Crisis Lifeline", "number": "988"},
                                   {"label": "Emergency services", "number": "911"}]}
    practice = dict(row)
    practice.pop("id")
    practice["crisis_numbers"] = json.loads(practice["crisis_numbers"])
    return practice


def zone(practice: dict) -> ZoneInfo:
    return ZoneInfo(practice["timezone"])


@api.route("GET", "/api/practice", auth="public")
async def get_practice(call: Call) -> dict:
    """The practice's public texts: welcome, crisis numbers, contact."""
    return await get(call.pool)


@api.route("PUT", "/api/practice", auth="therapist", body=PublicTexts)
async def update_practice(call: Call) -> dict:
    """Change the public texts, the crisis numbers and the practice's time zone."""
    texts: PublicTexts = call.body
    async with call.pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO practice (id, name, welcome_title, welcome_text, crisis_text,
                                     crisis_numbers, phone, address, timezone)
               VALUES (1, $1, $2, $3, $4, $5::jsonb, $6, $7, $8)
               ON CONFLICT (id) DO UPDATE SET name = $1, welcome_title = $2, welcome_text = $3,
                   crisis_text = $4, crisis_numbers = $5::jsonb, phone = $6, address = $7,
                   timezone = $8""",
            texts.name, texts.welcome_title, texts.welcome_text, texts.crisis_text,
            json.dumps([n.model_dump() for n in texts.crisis_numbers]), texts.phone,
            texts.address, texts.timezone,
        )
        return await get(conn)


@api.route("GET", "/api/divisions")
async def list_divisions(call: Call) -> dict:
    """The caller's divisions and which one is active."""
    return {"divisions": [d.as_json() for d in call.user.divisions],
            "active": call.user.division_id}
