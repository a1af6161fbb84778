"""The slot function: window, notice, same day, buffers, time off, DST, lengths that do not fit."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scheduling.slots import Interval, Rules, Window, local_moment, search

NY = ZoneInfo("America/New_York")
THERAPY = 1
EVERY_DAY = [Window(d, time(9), time(12), frozenset({"video", "phone"}), frozenset({THERAPY}))
             for d in range(7)]


def at(day: str, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(hh, mm), NY)


def find(now, *, windows=EVERY_DAY, rules=Rules(), busy=(), time_off=(), session_type="video",
         length=60, division_id=THERAPY):
    return search(now=now, zone=NY, windows=list(windows), rules=rules, busy=list(busy),
                  time_off=list(time_off), session_type=session_type, length=length,
                  division_id=division_id)


def starts(result) -> list[datetime]:
    return [s.start for s in result.slots]


def test_a_window_yields_every_step_that_fits():
    rules = Rules(notice_hours=0, same_day=True, window_days=1)
    result = find(at("2026-03-02", 6), rules=rules, length=60)
    assert starts(result)[:9] == [at("2026-03-02", 9, m) for m in (0, 15, 30, 45)] + \
        [at("2026-03-02", 10, m) for m in (0, 15, 30, 45)] + [at("2026-03-02", 11)]
    assert all(s.end - s.start == timedelta(minutes=60) for s in result.slots)


def test_lengths_that_do_not_fit_a_windows_end():
    rules = Rules(notice_hours=0, same_day=True, window_days=1, step_minutes=30)
    day = [s for s in starts(find(at("2026-03-02", 6), rules=rules, length=45))
           if s.date() == date(2026, 3, 2)]
    # 9:00-12:00 holds 45 minutes starting at 9:00 .. 11:00, not 11:30
    assert day == [at("2026-03-02", 9), at("2026-03-02", 9, 30), at("2026-03-02", 10),
                   at("2026-03-02", 10, 30), at("2026-03-02", 11)]
    short = [Window(0, time(9), time(9, 40), frozenset({"video"}), frozenset({THERAPY}))]
    result = find(at("2026-03-01", 6), windows=short, rules=rules, length=45)
    assert result.slots == []


def test_booking_window_ends_21_days_ahead():
    now = at("2026-03-02", 8)
    result = find(now, rules=Rules())
    assert max(starts(result)) <= now + timedelta(days=21)
    assert max(starts(result)) > now + timedelta(days=20)
    assert result.excluded.get("window", 0) > 0


def test_shorter_window_for_a_break():
    now = at("2026-03-02", 8)
    result = find(now, rules=Rules(window_days=7))
    assert max(starts(result)) <= now + timedelta(days=7)


def test_notice_and_no_same_day():
    now = at("2026-03-02", 10)  # Monday 10:00
    result = find(now, rules=Rules(notice_hours=24, same_day=False))
    assert min(starts(result)) == at("2026-03-03", 10)  # not before 24 hours from now
    assert result.excluded["same_day"] > 0 and result.excluded["notice"] > 0


def test_remote_rules_four_hours_same_day():
    now = at("2026-03-02", 7)
    result = find(now, rules=Rules(notice_hours=4, same_day=True), length=30)
    assert min(starts(result)) == at("2026-03-02", 11)


def test_booked_time_and_the_buffer_after_it():
    now = at("2026-03-01", 6)
    booked = Interval(at("2026-03-02", 10), at("2026-03-02", 11) + timedelta(minutes=15))
    rules = Rules(notice_hours=0, buffer_minutes=15, window_days=2)
    monday = [s for s in starts(find(now, rules=rules, busy=[booked], length=30))
              if s.date() == date(2026, 3, 2)]
    # a 30-minute session needs 45 minutes clear (its own buffer) before 10:00,
    # and the booked session's buffer keeps 11:00 closed
    assert monday == [at("2026-03-02", 9), at("2026-03-02", 9, 15),
                      at("2026-03-02", 11, 15), at("2026-03-02", 11, 30)]


def test_time_off_closes_days_and_says_so():
    now = at("2026-03-01", 6)
    away = Interval(at("2026-03-03", 0), at("2026-03-05", 0), "Training", True)
    result = find(now, rules=Rules(notice_hours=0), time_off=[away])
    days = {s.date() for s in starts(result)}
    assert date(2026, 3, 3) not in days and date(2026, 3, 4) not in days
    assert date(2026, 3, 5) in days and result.excluded["time_off"] > 0


def test_type_and_division_must_match_a_window():
    office_mornings = [Window(1, time(9), time(12), frozenset({"office"}), frozenset({THERAPY}))]
    now = at("2026-03-01", 6)
    assert find(now, windows=office_mornings, session_type="office", length=60).slots
    video = find(now, windows=office_mornings, session_type="video")
    assert video.slots == [] and video.excluded == {"no_hours": 1}
    assert find(now, windows=office_mornings, session_type="office", division_id=2).slots == []


def test_dst_spring_forward_keeps_wall_clock_and_skips_the_gap():
    night = [Window(6, time(1), time(4), frozenset({"video"}), frozenset({THERAPY}))]
    rules = Rules(notice_hours=0, window_days=14, step_minutes=30)
    result = find(at("2026-03-01", 6), windows=night, rules=rules, length=30)
    dst_day = [s for s in result.slots if s.start.date() == date(2026, 3, 8)]
    # 2:00 and 2:30 do not exist on 8 March 2026 in New York
    assert [s.start.strftime("%H:%M") for s in dst_day] == ["01:00", "01:30", "03:00", "03:30"]
    # the 01:30 session ends at 03:00 local: 30 minutes of real time
    assert all(s.end - s.start == timedelta(minutes=30) for s in dst_day)
    assert local_moment(date(2026, 3, 8), time(2, 30), NY) is None


def test_dst_fall_back_day_keeps_nine_oclock():
    rules = Rules(notice_hours=0, window_days=10)
    result = find(at("2026-10-30", 6), rules=rules)
    sunday = [s.start for s in result.slots if s.start.date() == date(2026, 11, 1)]
    monday = [s.start for s in result.slots if s.start.date() == date(2026, 11, 2)]
    assert sunday[0].hour == 9 and sunday[0].utcoffset() == timedelta(hours=-5)
    assert monday[0].hour == 9
    saturday = [s.start for s in result.slots if s.start.date() == date(2026, 10, 31)]
    assert saturday[0].utcoffset() == timedelta(hours=-4)


def test_check_agrees_with_search_for_every_candidate():
    from scheduling.slots import check

    now = at("2026-03-02", 10)
    booked = [Interval(at("2026-03-04", 10), at("2026-03-04", 11))]
    away = [Interval(at("2026-03-06", 0), at("2026-03-07", 0))]
    rules = Rules(window_days=7)
    result = find(now, rules=rules, busy=booked, time_off=away, length=30)
    open_starts = set(starts(result))
    for day in range(8):
        for minutes in range(8 * 60, 13 * 60, 15):
            start = at("2026-03-02", 0) + timedelta(days=day, minutes=minutes)
            start = start.astimezone(NY)
            verdict = check(start=start, now=now, zone=NY, windows=EVERY_DAY, rules=rules,
                            busy=booked, time_off=away, session_type="video", length=30,
                            division_id=THERAPY)
            assert (verdict is None) == (start in open_starts), (start, verdict)
    odd = check(start=at("2026-03-05", 9, 7), now=now, zone=NY, windows=EVERY_DAY, rules=rules,
                busy=[], time_off=[], session_type="video", length=30, division_id=THERAPY)
    assert odd == "outside_hours"


def test_between_limits_the_search_to_a_stretch():
    now = at("2026-03-02", 6)
    rules = Rules(notice_hours=0, same_day=True)
    everything = starts(find(now, rules=rules, length=30))
    stretch = (at("2026-03-05", 9, 30), at("2026-03-05", 10, 30))
    limited = search(now=now, zone=NY, windows=EVERY_DAY, rules=rules, busy=[], time_off=[],
                     session_type="video", length=30, division_id=THERAPY, between=stretch)
    assert starts(limited) == [s for s in everything if stretch[0] <= s < stretch[1]]
    assert len(starts(limited)) == 4
