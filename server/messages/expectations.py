"""What a client can expect of the practice, and what a therapist is willing to be woken by.

The practice's response hours and reply promise show beside every message box; outside those
hours the portal answers a client's message itself, once per thread per closed period, with
when to expect a reply and where to go in a crisis. A therapist's quiet hours and digest
interval decide when the alert emails of `alerts.py` may go out.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import BaseModel, Field, field_validator, model_validator

from scheduling import time_off
from scheduling.schedule import utcnow, when_text
from server import practice
from server.messages import hours as h

DIGEST_CHOICES = (1, 2, 4, 8, 24)


class ResponseHoursForm(BaseModel):
    days: list[int] = Field(min_length=1, max_length=7)
    opens: time
    closes: time
    reply_within_days: int = Field(ge=0, le=5)
    note: str = Field(default="", max_length=300)

    @field_validator("days")
    @classmethod
    def weekdays(cls, value: list[int]) -> list[int]:
        if any(not 0 <= day <= 6 for day in value):
            raise ValueError("Choose days from Monday to Sunday")
        return sorted(set(value))

    @model_validator(mode="after")
    def ordered(self) -> "ResponseHoursForm":
        if self.closes <= self.opens:
            raise ValueError("Response hours must end after they start")
        return self


class AlertPrefsForm(BaseModel):
    digest_hours: int
    quiet_from: time
    quiet_until: time
    quiet_weekends: bool = True

    @field_validator("digest_hours")
    @classmethod
    def known_interval(cls, value: int) -> int:
        if value not in DIGEST_CHOICES:
            raise ValueError("Choose 1, 2, 4, 8 or 24 hours")
        return value


@dataclass(frozen=True)
class Expectations:
    """The response hours as they stand at one moment, ready to show."""

    hours: h.ResponseHours
    zone: ZoneInfo
    open_now: bool
    next_open: datetime | None
    reply_by: datetime | None
    crisis_numbers: list[dict]

    @property
    def hours_text(self) -> str:
        return h.hours_text(self.hours)

    @property
    def promise_text(self) -> str:
        return h.promise_text(self.hours)

    @property
    def zone_text(self) -> str:
        """America/New_York as 'New York time'."""
        return str(self.zone).rsplit("/", 1)[-1].replace("_", " ") + " time"

    @property
    def reply_by_text(self) -> str:
        return when_text(self.reply_by, self.zone) if self.reply_by else "when the practice returns"

    @property
    def next_open_text(self) -> str:
        return when_text(self.next_open, self.zone) if self.next_open else ""

    def as_json(self) -> dict:
        return {
            "days": sorted(self.hours.days), "opens": self.hours.opens.isoformat("minutes"),
            "closes": self.hours.closes.isoformat("minutes"),
            "reply_within_days": self.hours.reply_within_days, "note": self.hours.note,
            "timezone": str(self.zone), "hours_text": self.hours_text,
            "promise_text": self.promise_text, "open_now": self.open_now,
            "next_open": self.next_open.isoformat() if self.next_open else None,
            "reply_by": self.reply_by.isoformat() if self.reply_by else None,
            "reply_by_text": self.reply_by_text, "crisis_numbers": self.crisis_numbers,
        }


async def load_hours(conn: asyncpg.Connection | asyncpg.Pool) -> h.ResponseHours:
    row = await conn.fetchrow("SELECT * FROM message_settings WHERE id = 1")
    return h.ResponseHours(frozenset(row["days"]), row["opens"], row["closes"],
                           row["reply_within_days"], row["note"])


async def save_hours(conn: asyncpg.Connection | asyncpg.Pool, form: ResponseHoursForm) -> None:
    await conn.execute(
        """UPDATE message_settings SET days = $1, opens = $2, closes = $3,
               reply_within_days = $4, note = $5 WHERE id = 1""",
        form.days, form.opens, form.closes, form.reply_within_days, form.note.strip())


async def away_periods(conn: asyncpg.Connection | asyncpg.Pool) -> list[h.Period]:
    """Public time off: the practice is closed for messages as it is for sessions."""
    return [(datetime.fromisoformat(e["starts_at"]), datetime.fromisoformat(e["ends_at"]))
            for e in await time_off.public_upcoming(conn)]


async def current(conn: asyncpg.Connection | asyncpg.Pool,
                  now: datetime | None = None) -> Expectations:
    now = now or utcnow()
    details = await practice.get(conn)
    zone = practice.zone(details)
    hours = await load_hours(conn)
    away = await away_periods(conn)
    opening = h.next_open(now, hours, zone, away)
    return Expectations(hours, zone, opening == now, opening, h.reply_by(now, hours, zone, away),
                        details["crisis_numbers"])


def crisis_text(numbers: list[dict]) -> str:
    return "; ".join(f"{n['label']}: {n['number']}" for n in numbers)


def auto_reply_text(expect: Expectations) -> str:
    return (
        f"Thank you for your message. It arrived outside the practice's response hours "
        f"({expect.hours_text}, {expect.zone_text}), so it will be read from "
        f"{expect.next_open_text}. Expect an answer by {expect.reply_by_text}.\n\n"
        f"Messages are not watched around the clock. If you are in crisis or in danger, "
        f"do not wait for a reply: {crisis_text(expect.crisis_numbers)}.")


async def load_alert_prefs(conn: asyncpg.Connection | asyncpg.Pool, user_id: int) -> dict:
    """A therapist's alert preferences; the defaults until they save their own."""
    row = await conn.fetchrow(
        "SELECT digest_hours, quiet_from, quiet_until, quiet_weekends, last_digest_at "
        "FROM message_alert_prefs WHERE user_id = $1", user_id)
    if row is None:
        return {"digest_hours": 4, "quiet_from": time(19), "quiet_until": time(8),
                "quiet_weekends": True, "last_digest_at": None}
    return dict(row)


async def save_alert_prefs(conn: asyncpg.Connection | asyncpg.Pool, user_id: int,
                           form: AlertPrefsForm) -> None:
    await conn.execute(
        """INSERT INTO message_alert_prefs (user_id, digest_hours, quiet_from, quiet_until,
                                            quiet_weekends)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (user_id) DO UPDATE SET digest_hours = $2, quiet_from = $3,
               quiet_until = $4, quiet_weekends = $5""",
        user_id, form.digest_hours, form.quiet_from, form.quiet_until, form.quiet_weekends)


def prefs_json(prefs: dict) -> dict:
    return {"digest_hours": prefs["digest_hours"],
            "quiet_from": prefs["quiet_from"].isoformat("minutes"),
            "quiet_until": prefs["quiet_until"].isoformat("minutes"),
            "quiet_weekends": prefs["quiet_weekends"]}
