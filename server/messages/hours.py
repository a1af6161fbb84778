"""Response hours and quiet hours: pure arithmetic on aware datetimes, no I/O.

The practice answers messages in one daily window on chosen weekdays, in its own time zone.
Windows are built per local day with zoneinfo and compared in UTC, so a DST change moves the
instants, never the local hours. Public time off closes the practice like a night does.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Iterable, Iterator
from zoneinfo import ZoneInfo

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Far enough to cross any time off the practice can enter (a year at most) and then some.
SEARCH_DAYS = 400

Period = tuple[datetime, datetime]


@dataclass(frozen=True)
class ResponseHours:
    days: frozenset[int]  # 0 = Monday
    opens: time
    closes: time
    reply_within_days: int  # 0: the same response day; n: the n-th response day after
    note: str = ""


@dataclass(frozen=True)
class QuietHours:
    """When a therapist gets no email: a daily stretch (may cross midnight), and weekends."""

    starts: time
    ends: time
    weekends: bool

    def covers(self, moment: datetime, zone: ZoneInfo) -> bool:
        local = moment.astimezone(zone)
        if self.weekends and local.weekday() >= 5:
            return True
        now = local.time()
        if self.starts == self.ends:
            return False
        if self.starts < self.ends:
            return self.starts <= now < self.ends
        return now >= self.starts or now < self.ends


def _windows(since: datetime, hours: ResponseHours, zone: ZoneInfo) -> Iterator[Period]:
    """Each response day's (opens, closes) in UTC, from the local day of `since` on."""
    first = since.astimezone(zone).date()
    for offset in range(SEARCH_DAYS):
        day = first + timedelta(days=offset)
        if day.weekday() in hours.days:
            yield (datetime.combine(day, hours.opens, zone).astimezone(timezone.utc),
                   datetime.combine(day, hours.closes, zone).astimezone(timezone.utc))


def _first_open_moment(window: Period, after: datetime, away: Iterable[Period]
                       ) -> datetime | None:
    """The first moment of `window`, not before `after`, outside every away period."""
    opens, closes = window
    moment = max(opens, after)
    periods = sorted(away)
    moved = True
    while moved:
        moved = False
        for starts, ends in periods:
            if starts <= moment < ends:
                moment, moved = ends, True
    return moment if moment < closes else None


def next_open(now: datetime, hours: ResponseHours, zone: ZoneInfo,
              away: Iterable[Period] = ()) -> datetime | None:
    """`now` if the practice is answering messages now, else when it next starts to."""
    away = list(away)
    for window in _windows(now, hours, zone):
        moment = _first_open_moment(window, now, away)
        if moment is not None:
            return moment
    return None


def is_open(now: datetime, hours: ResponseHours, zone: ZoneInfo,
            away: Iterable[Period] = ()) -> bool:
    return next_open(now, hours, zone, away) == now


def reply_by(now: datetime, hours: ResponseHours, zone: ZoneInfo,
             away: Iterable[Period] = ()) -> datetime | None:
    """When a message sent at `now` should have its answer: the close of the response day it
    is first read on, or of the n-th response day after that."""
    away = list(away)
    counted = -1
    for window in _windows(now, hours, zone):
        if _first_open_moment(window, now, away) is None:
            continue
        counted += 1
        if counted == hours.reply_within_days:
            return window[1]
    return None


def clock(moment: time) -> str:
    """09:00 as '9:00 AM'."""
    return f"{moment:%-I:%M %p}"


def days_text(days: Iterable[int]) -> str:
    """{0, 1, 2, 3, 4} as 'Monday–Friday'; {0, 2, 5} as 'Monday, Wednesday and Saturday'."""
    ordered = sorted(set(days))
    runs: list[list[int]] = []
    for day in ordered:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{DAY_NAMES[run[0]]}–{DAY_NAMES[run[-1]]}")
        else:
            parts += [DAY_NAMES[d] for d in run]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def hours_text(hours: ResponseHours) -> str:
    return f"{days_text(hours.days)}, {clock(hours.opens)}–{clock(hours.closes)}"


def promise_text(hours: ResponseHours) -> str:
    n = hours.reply_within_days
    if n == 0:
        return "the same response day"
    return f"within {n} response day{'s' if n > 1 else ''}"


def waited_text(seconds: float) -> str:
    """How long a message has waited, as the inbox shows it: '5 min', '3 h 20 min', '2 days'."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    day_part = f"{days} day{'s' if days > 1 else ''}"
    return f"{day_part} {hours} h" if hours else day_part
