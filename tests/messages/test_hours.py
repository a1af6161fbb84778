"""Response hours and quiet hours: the arithmetic, DST days and time off included."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from server.messages import hours as h

NY = ZoneInfo("America/New_York")
WEEKDAYS = h.ResponseHours(frozenset(range(5)), time(9), time(17), 1)


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


def test_open_inside_the_window_only():
    assert h.is_open(ny(2031, 3, 4, 10, 0), WEEKDAYS, NY)  # a Tuesday
    assert not h.is_open(ny(2031, 3, 4, 17, 0), WEEKDAYS, NY)
    assert not h.is_open(ny(2031, 3, 8, 10, 0), WEEKDAYS, NY)  # Saturday


def test_next_open_after_a_friday_evening_is_monday_morning():
    assert h.next_open(ny(2031, 3, 7, 18, 0), WEEKDAYS, NY) == ny(2031, 3, 10, 9, 0)


def test_reply_by_counts_response_days():
    assert h.reply_by(ny(2031, 3, 4, 10, 0), WEEKDAYS, NY) == ny(2031, 3, 5, 17, 0)
    same_day = h.ResponseHours(WEEKDAYS.days, time(9), time(17), 0)
    assert h.reply_by(ny(2031, 3, 4, 10, 0), same_day, NY) == ny(2031, 3, 4, 17, 0)
    # Sent on Friday night: read Monday, answered by Tuesday's close.
    assert h.reply_by(ny(2031, 3, 7, 22, 0), WEEKDAYS, NY) == ny(2031, 3, 11, 17, 0)


def test_local_hours_hold_across_the_dst_change():
    # 2031-03-09 is the Sunday clocks spring forward in New York.
    monday = h.next_open(ny(2031, 3, 8, 12, 0), WEEKDAYS, NY)
    assert monday == ny(2031, 3, 10, 9, 0)
    assert monday.astimezone(timezone.utc).hour == 13  # EDT, not EST's 14
    assert h.next_open(ny(2031, 3, 7, 18, 0), WEEKDAYS, NY).astimezone(timezone.utc) == \
        datetime(2031, 3, 10, 13, 0, tzinfo=timezone.utc)


def test_time_off_closes_the_practice_until_it_ends():
    away = [(ny(2031, 3, 4, 0, 0), ny(2031, 3, 6, 0, 0))]  # Tuesday and Wednesday
    now = ny(2031, 3, 4, 10, 0)
    assert not h.is_open(now, WEEKDAYS, NY, away)
    assert h.next_open(now, WEEKDAYS, NY, away) == ny(2031, 3, 6, 9, 0)
    assert h.reply_by(now, WEEKDAYS, NY, away) == ny(2031, 3, 7, 17, 0)
    ends_midday = [(ny(2031, 3, 4, 0, 0), ny(2031, 3, 4, 13, 0))]
    assert h.next_open(now, WEEKDAYS, NY, ends_midday) == ny(2031, 3, 4, 13, 0)


def test_quiet_hours_across_midnight_and_weekends():
    quiet = h.QuietHours(time(19), time(8), weekends=True)
    assert quiet.covers(ny(2031, 3, 4, 22, 0), NY)
    assert quiet.covers(ny(2031, 3, 4, 7, 59), NY)
    assert not quiet.covers(ny(2031, 3, 4, 8, 0), NY)
    assert quiet.covers(ny(2031, 3, 8, 12, 0), NY)  # Saturday
    daytime = h.QuietHours(time(12), time(13), weekends=False)
    assert daytime.covers(ny(2031, 3, 8, 12, 30), NY)
    assert not daytime.covers(ny(2031, 3, 8, 13, 0), NY)
    assert not h.QuietHours(time(0), time(0), False).covers(ny(2031, 3, 4, 3, 0), NY)


def test_texts_for_people():
    assert h.hours_text(WEEKDAYS) == "Monday–Friday, 9:00 AM–5:00 PM"
    assert h.days_text({0, 2, 5, 6}) == "Monday, Wednesday, Saturday and Sunday"
    assert h.days_text({3}) == "Thursday"
    assert h.promise_text(WEEKDAYS) == "within 1 response day"
    assert [h.waited_text(s) for s in (20, 300, 3600, 12000, 86400 * 2 + 3600 * 5)] == \
        ["under a minute", "5 min", "1 h", "3 h 20 min", "2 days 5 h"]
    assert h.waited_text(timedelta(days=1).total_seconds()) == "1 day"
