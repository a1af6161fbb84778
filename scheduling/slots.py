"""Slot arithmetic: which start times are open. Pure functions, no I/O.

Everything a search needs comes in as values: the moment `now`, the practice's zone, the
weekly windows, the rules, the busy time and the time off. Windows are wall-clock times in
the practice's zone, so a 9:00 window stays 9:00 across a DST change; a wall-clock time that
does not exist on a spring-forward day is skipped.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Window:
    """A weekly window of a clinician. weekday: 0 = Monday."""

    weekday: int
    starts: time
    ends: time
    session_types: frozenset[str]
    division_ids: frozenset[int]


@dataclass(frozen=True)
class Rules:
    window_days: int = 21
    notice_hours: int = 24
    same_day: bool = False
    step_minutes: int = 15
    buffer_minutes: int = 0


@dataclass(frozen=True)
class Interval:
    starts: datetime
    ends: datetime
    note: str = ""
    public: bool = False


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime


@dataclass
class Search:
    """What a search found, and why starts were left out when none are open."""

    slots: list[Slot] = field(default_factory=list)
    # reason -> how many candidate starts it removed: "booked", "time_off", "notice",
    # "same_day", "window" (beyond the booking window); "no_hours" when no window offers it.
    excluded: dict[str, int] = field(default_factory=dict)

    def exclude(self, reason: str) -> None:
        self.excluded[reason] = self.excluded.get(reason, 0) + 1


def local_moment(day: date, at: time, zone: ZoneInfo) -> datetime | None:
    """`day` at wall-clock `at` in `zone`, or None when that time does not exist (DST gap)."""
    moment = datetime.combine(day, at, zone)
    round_trip = moment.astimezone(timezone.utc).astimezone(zone)
    if round_trip.replace(tzinfo=None) != moment.replace(tzinfo=None):
        return None
    return moment


class Busy:
    """Sorted, non-mergeable busy intervals with an overlap test in O(log n)."""

    def __init__(self, intervals: list[Interval]) -> None:
        self.intervals = sorted(intervals, key=lambda i: i.starts)
        self.starts = [i.starts for i in self.intervals]
        # the latest end among intervals[0..k], so one bisect finds any overlap
        self.max_end: list[datetime] = []
        latest: datetime | None = None
        for interval in self.intervals:
            latest = interval.ends if latest is None else max(latest, interval.ends)
            self.max_end.append(latest)

    def overlaps(self, starts: datetime, ends: datetime) -> bool:
        # intervals that start before `ends`; one of them overlaps if its end is after `starts`
        k = bisect.bisect_left(self.starts, ends)
        return k > 0 and self.max_end[k - 1] > starts


def _closed_because(start: datetime, end: datetime, blocked: timedelta, earliest: datetime,
                    latest: datetime, today: date, zone: ZoneInfo, rules: Rules, booked: Busy,
                    away: Busy) -> str | None:
    """Why a start inside a window is not open, or None when it is."""
    if start > latest:
        return "window"
    if start.astimezone(zone).date() == today and not rules.same_day:
        return "same_day"
    if start < earliest:
        return "notice"
    if away.overlaps(start, end):
        return "time_off"
    if booked.overlaps(start, start + blocked):
        return "booked"
    return None


def search(*, now: datetime, zone: ZoneInfo, windows: list[Window], rules: Rules,
           busy: list[Interval], time_off: list[Interval], session_type: str, length: int,
           division_id: int, between: tuple[datetime, datetime] | None = None) -> Search:
    """Open starts for a session of `length` minutes, in [now + notice, now + window days].

    A start is open when the whole session fits inside one window, it and the buffer after
    it overlap no busy time, and the session overlaps no time off. With `between`, only
    starts in that stretch are looked at (the Wait List asks about the time a change freed).
    """
    result = Search()
    fitting = [w for w in windows
               if session_type in w.session_types and division_id in w.division_ids]
    if not fitting:
        result.exclude("no_hours")
        return result
    duration = timedelta(minutes=length)
    blocked = duration + timedelta(minutes=rules.buffer_minutes)
    step = timedelta(minutes=rules.step_minutes)
    earliest = now + timedelta(hours=rules.notice_hours)
    latest = now + timedelta(days=rules.window_days)
    today = now.astimezone(zone).date()
    booked, away = Busy(busy), Busy(time_off)
    seen: set[datetime] = set()

    day, last_day = today, latest.astimezone(zone).date()
    if between is not None:
        day = max(day, between[0].astimezone(zone).date() - timedelta(days=1))
        last_day = min(last_day, between[1].astimezone(zone).date())
    while day <= last_day:
        for window in fitting:
            if window.weekday != day.weekday():
                continue
            start_local = datetime.combine(day, window.starts)
            end_local = datetime.combine(day, window.ends)
            while start_local + duration <= end_local:
                start = local_moment(day, start_local.time(), zone)
                start_local += step
                if start is None or start in seen or (
                        between is not None and not between[0] <= start < between[1]):
                    continue
                seen.add(start)
                reason = _closed_because(start, start + duration, blocked, earliest, latest,
                                         today, zone, rules, booked, away)
                if reason:
                    result.exclude(reason)
                else:
                    result.slots.append(Slot(start, start + duration))
        day += timedelta(days=1)
    result.slots.sort(key=lambda s: s.start)
    return result


def check(*, start: datetime, now: datetime, zone: ZoneInfo, windows: list[Window],
          rules: Rules, busy: list[Interval], time_off: list[Interval], session_type: str,
          length: int, division_id: int) -> str | None:
    """Why `start` cannot be booked under the rules ("outside_hours", or a reason of
    `search`), or None when it can. The same test as `search`, for one start."""
    local = start.astimezone(zone)
    duration = timedelta(minutes=length)
    step = timedelta(minutes=rules.step_minutes)
    in_window = False
    for w in windows:
        if (session_type in w.session_types and division_id in w.division_ids
                and w.weekday == local.weekday()):
            first = datetime.combine(local.date(), w.starts)
            offset = local.replace(tzinfo=None) - first
            if (offset >= timedelta(0) and offset % step == timedelta(0)
                    and local.replace(tzinfo=None) + duration <= datetime.combine(
                        local.date(), w.ends)):
                in_window = True
                break
    if not in_window or local_moment(local.date(), local.time(), zone) is None:
        return "outside_hours"
    return _closed_because(
        start, start + duration, duration + timedelta(minutes=rules.buffer_minutes),
        now + timedelta(hours=rules.notice_hours), now + timedelta(days=rules.window_days),
        now.astimezone(zone).date(), zone, rules, Busy(busy), Busy(time_off))
