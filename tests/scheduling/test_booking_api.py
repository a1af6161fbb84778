"""Booking through the API: every rule re-checked, the database deciding races."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from tests.scheduling.conftest import ZONE, local, quarter_after
from tests.support import assert_error, next_message, open_socket, session_client


def body(start: datetime, session_type: str = "video", length: int = 60) -> dict:
    return {"start": start.isoformat(), "session_type": session_type, "length": length}


async def test_slots_are_iso_with_offsets_and_bookable(clinic):
    _, http = await clinic.new_client()
    response = await http.get("/api/slots", params={"session_type": "video", "length": 60})
    assert response.status_code == 200
    found = response.json()
    assert found["timezone"] == "America/New_York"
    first = found["slots"][0]
    start = datetime.fromisoformat(first["start"])
    assert start.utcoffset() is not None
    assert datetime.fromisoformat(first["end"]) - start == timedelta(minutes=60)
    # no same-day and 24 hours' notice by default
    assert start.date() > datetime.now(start.tzinfo).date()
    assert start >= datetime.now(start.tzinfo) + timedelta(hours=24)
    booked = await http.post("/api/appointments", json=body(start))
    assert booked.status_code == 201, booked.text
    appointment = booked.json()
    assert appointment["id"] > 0 and appointment["start"] == first["start"]
    assert appointment["status"] == "booked" and appointment["length"] == 60
    listed = (await http.get("/api/appointments")).json()["appointments"]
    assert [a["id"] for a in listed] == [appointment["id"]]
    again = (await http.get("/api/slots", params={"session_type": "video", "length": 60})).json()
    assert first["start"] not in {s["start"] for s in again["slots"]}


async def test_the_api_names_the_broken_rule(clinic, conn):
    _, http = await clinic.new_client()
    now = datetime.now(ZONE)
    within_a_day = quarter_after(now + timedelta(hours=20))
    cases = [
        (local(2, 23, 30), "outside_hours"),   # the hours close at 23:45
        (local(2, 10, 7), "outside_hours"),    # not on the 15-minute grid
        (quarter_after(now + timedelta(minutes=20)) if now.hour < 23 else None, "same_day"),
        (within_a_day, "same_day" if within_a_day.date() == now.date() else "notice"),
        (local(22, 10), "window"),
    ]
    before = await conn.fetchval("SELECT count(*) FROM appointments WHERE division_id = $1",
                                 clinic.division_id)
    for start, code in cases:
        if start is None:
            continue
        assert_error(await http.post("/api/appointments", json=body(start)), 422, code, "start")
    assert_error(await http.post("/api/appointments", json=body(local(3, 10), length=50)),
                 422, "invalid", "length")
    assert_error(await http.post("/api/appointments",
                                 json={**body(local(3, 10)), "start": "2031-01-01T10:00:00"}),
                 422, "invalid", "start")  # no offset
    assert await conn.fetchval("SELECT count(*) FROM appointments WHERE division_id = $1",
                               clinic.division_id) == before


async def test_notice_follows_the_session_type(clinic, conn, portal):
    _, http = await clinic.new_client()
    soon = quarter_after(datetime.now(ZONE) + timedelta(hours=5))
    rules = (await clinic.therapist_http.get("/api/booking-rules")).json()
    remote = {**rules, "session_types": {**rules["session_types"],
                                         "video": {"notice_hours": 4, "same_day": True}}}
    try:
        assert (await clinic.therapist_http.put("/api/booking-rules", json=remote)).status_code \
            == 200
        # office keeps 24 hours and no same day; video takes 4 hours and same day
        office = "same_day" if soon.date() == datetime.now(ZONE).date() else "notice"
        assert_error(await http.post("/api/appointments", json=body(soon, "office")),
                     422, office, "start")
        assert (await http.post("/api/appointments", json=body(soon, "video"))).status_code == 201
    finally:
        await clinic.therapist_http.put("/api/booking-rules", json=rules)


async def test_two_hundred_concurrent_bookings_of_one_slot(clinic, conn, portal):
    start = local(3, 11)
    clients = [await session_client(conn, portal.url, (await clinic_client(clinic, conn, i))["id"])
               for i in range(200)]
    try:
        responses = await asyncio.gather(*[
            http.post("/api/appointments", json=body(start)) for http in clients])
    finally:
        for http in clients:
            await http.aclose()
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1 and statuses.count(409) == 199, statuses
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"]["code"] == "just_taken"
    assert await conn.fetchval(
        "SELECT count(*) FROM appointments WHERE division_id = $1 AND status = 'booked'",
        clinic.division_id) == 1


async def clinic_client(clinic, conn, index: int) -> dict:
    user = await conn.fetchrow(
        "INSERT INTO users (email, name, role) VALUES ($1, $2, 'client') RETURNING id",
        f"rush{index}-{clinic.slug}@example.test", f"Rush {index}")
    await conn.execute("INSERT INTO memberships VALUES ($1, $2)", user["id"], clinic.division_id)
    return dict(user)


async def test_cancel_frees_the_slot_and_tells_the_therapist_live(clinic, portal):
    client, http = await clinic.new_client(name="Casey Cancel")
    start = local(4, 14)
    appointment = (await http.post("/api/appointments", json=body(start))).json()
    socket = await open_socket(portal.url, clinic.therapist_http)
    await next_message(socket, "hello")
    cancelled = await http.post(f"/api/appointments/{appointment['id']}/cancel", json={})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    event = await next_message(socket, "event")
    assert event["kind"] == "appointment.cancelled"
    assert "Casey Cancel cancelled the video session" in event["payload"]["title"]
    await socket.close()
    slots = (await http.get("/api/slots", params={"session_type": "video", "length": 60})).json()
    assert appointment["start"] in {s["start"] for s in slots["slots"]}
    assert_error(await http.post(f"/api/appointments/{appointment['id']}/cancel", json={}),
                 409, "not_cancellable")


async def test_inside_the_cutoff_the_client_is_told_to_call(clinic, conn):
    _, http = await clinic.new_client()
    start = local(2, 10)
    appointment = (await http.post("/api/appointments", json=body(start))).json()
    # the session is now 20 hours away
    moved = datetime.now(start.tzinfo) + timedelta(hours=20)
    await conn.execute("UPDATE appointments SET starts_at = $2::timestamptz, "
                       "ends_at = $2::timestamptz + interval '1 hour',"
                       " blocked_until = $2::timestamptz + interval '1 hour' WHERE id = $1",
                       appointment["id"], moved)
    detail = (await http.get(f"/api/appointments/{appointment['id']}")).json()
    assert detail["can_cancel_online"] is False
    error = assert_error(await http.post(f"/api/appointments/{appointment['id']}/cancel",
                                         json={}), 422, "inside_cutoff")
    assert "call the practice" in error["message"]
    assert await conn.fetchval("SELECT status FROM appointments WHERE id = $1",
                               appointment["id"]) == "booked"
    # the therapist may still cancel, and call it late
    late = await clinic.therapist_http.post(f"/api/appointments/{appointment['id']}/cancel",
                                            json={"late": True})
    assert late.json()["status"] == "late_cancel"


async def test_nobody_else_sees_or_touches_an_appointment(clinic, make_user, conn, portal):
    _, owner = await clinic.new_client()
    _, other = await clinic.new_client()
    appointment = (await owner.post("/api/appointments", json=body(local(5, 9)))).json()
    outsider = await make_user("client", ("education",))
    outsider_http = await session_client(conn, portal.url, outsider["id"])
    foreign_therapist = await make_user("therapist", ("therapy", "education"))
    foreign_http = await session_client(conn, portal.url, foreign_therapist["id"])
    try:
        for http in (other, outsider_http, foreign_http):
            for method, path in [("GET", ""), ("GET", "/ics"), ("POST", "/cancel")]:
                response = await http.request(method, f"/api/appointments/{appointment['id']}"
                                              f"{path}", json={} if method == "POST" else None)
                assert_error(response, 404, "not_found")
            assert appointment["id"] not in [a["id"] for a in (
                await http.get("/api/appointments")).json()["appointments"]]
        assert_error(await foreign_http.post(f"/api/appointments/{appointment['id']}/move",
                                             json={"start": local(6, 9).isoformat()}), 404)
        # a client of another division sees none of this clinic's hours
        slots = (await outsider_http.get("/api/slots",
                                         params={"session_type": "video", "length": 60})).json()
        assert clinic.therapist["id"] not in {s["clinician_id"] for s in slots["slots"]}
        # clients cannot book for others or book series
        assert_error(await other.post("/api/appointments",
                                      json={**body(local(5, 12)), "client_id": 1}), 403)
    finally:
        await outsider_http.aclose()
        await foreign_http.aclose()
    assert await conn.fetchval("SELECT status FROM appointments WHERE id = $1",
                               appointment["id"]) == "booked"


async def test_therapist_books_a_weekly_series_all_or_nothing(clinic, conn):
    client, _ = await clinic.new_client()
    start = local(2, 16)
    series = await clinic.therapist_http.post("/api/appointments", json={
        **body(start, "phone", 45), "client_id": client["id"], "repeat_weeks": 3})
    assert series.status_code == 201, series.text
    rows = await conn.fetch("SELECT starts_at FROM appointments WHERE series_id = $1 "
                            "ORDER BY starts_at", series.json()["series_id"])
    zone = start.tzinfo
    assert [r["starts_at"].astimezone(zone).hour for r in rows] == [16, 16, 16]
    assert [(r["starts_at"].astimezone(zone).date() - start.date()).days for r in rows] == \
        [0, 7, 14]
    # a second series that collides in its third week books nothing
    before = await conn.fetchval("SELECT count(*) FROM appointments WHERE client_id = $1",
                                 client["id"])
    clash = await clinic.therapist_http.post("/api/appointments", json={
        **body(start - timedelta(days=14, minutes=30), "phone", 60), "client_id": client["id"],
        "repeat_weeks": 3})
    assert_error(clash, 409, "just_taken")
    assert await conn.fetchval("SELECT count(*) FROM appointments WHERE client_id = $1",
                               client["id"]) == before


async def test_move_and_mark(clinic, conn):
    client, http = await clinic.new_client()
    first = (await http.post("/api/appointments", json=body(local(6, 9)))).json()
    second = (await http.post("/api/appointments", json=body(local(6, 13)))).json()
    therapist = clinic.therapist_http
    assert_error(await therapist.post(f"/api/appointments/{second['id']}/move",
                                      json={"start": local(6, 9, 30).isoformat()}),
                 409, "just_taken")
    moved = await therapist.post(f"/api/appointments/{second['id']}/move",
                                 json={"start": local(6, 15).isoformat()})
    assert moved.status_code == 200
    assert moved.json()["start"] == local(6, 15).isoformat()
    marked = await therapist.post(f"/api/appointments/{first['id']}/status",
                                  json={"status": "no_show"})
    assert marked.json()["status"] == "no_show"
    assert_error(await http.post(f"/api/appointments/{first['id']}/status",
                                 json={"status": "attended"}), 403)


async def test_ics_download_and_private_feed(clinic, portal):
    _, http = await clinic.new_client()
    appointment = (await http.post("/api/appointments", json=body(local(7, 10)))).json()
    ics = await http.get(f"/api/appointments/{appointment['id']}/ics")
    assert ics.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VEVENT" in ics.text and "DTSTART" in ics.text
    feed = (await http.post("/api/calendar-feed")).json()["url"]
    path = feed.removeprefix(portal.url)
    async with __import__("httpx").AsyncClient(base_url=portal.url) as anonymous:
        first = await anonymous.get(path)
        assert first.status_code == 200 and f"appointment-{appointment['id']}@" in first.text
        newer = (await http.post("/api/calendar-feed")).json()["url"]
        assert (await anonymous.get(path)).status_code == 404
        assert (await anonymous.get(newer.removeprefix(portal.url))).status_code == 200


async def test_the_therapists_day_and_week_show_sessions_and_the_number_to_call(clinic):
    client, http = await clinic.new_client(name="Phoebe Phone")
    start = local(3, 15)
    await http.post("/api/appointments", json=body(start, "phone", 30))
    week = await clinic.therapist_http.get("/calendar", params={"start": start.date().isoformat()})
    assert "Phoebe Phone" in week.text and "call 555-0100" in week.text
    day = await clinic.therapist_http.get("/calendar", params={
        "start": start.date().isoformat(), "view": "day"})
    assert "Phoebe Phone" in day.text and "Next day" in day.text
    other_day = await clinic.therapist_http.get("/calendar", params={
        "start": (start.date() + timedelta(days=1)).isoformat(), "view": "day"})
    assert "</strong> Phoebe Phone</a>" in day.text
    assert "</strong> Phoebe Phone</a>" not in other_day.text  # (still in the booking form)
    # the client's own page never lists the therapist's calendar
    assert "Book for a client" not in (await http.get("/calendar")).text


async def test_the_therapist_sees_the_clients_last_precheck_beside_the_session(clinic, conn):
    client, http = await clinic.new_client(name="Vic Video")
    appointment = (await http.post("/api/appointments", json=body(local(2, 11)))).json()
    page = await clinic.therapist_http.get(f"/sessions/{appointment['id']}")
    assert "Vic Video has not run the pre-check" in page.text
    await conn.execute(
        "INSERT INTO video_checks (appointment_id, user_id, camera, microphone, download_kbps,"
        " download_at_least, upload_kbps, upload_at_least, rtt_ms, jitter_ms, loss_pct,"
        " duration_ms, verdict, advice) VALUES ($1, $2, true, true, 4200, false, 1800, false,"
        " 48, 4, 0, 4300, 'good', '')", appointment["id"], client["id"])
    page = await clinic.therapist_http.get(f"/sessions/{appointment['id']}")
    assert "Vic Video's last pre-check" in page.text and "download 4 Mbit/s" in page.text
    # the client does not see a panel about themself, and the room is not open yet
    own = await http.get(f"/sessions/{appointment['id']}")
    assert "last pre-check" not in own.text and "The video room opens at" in own.text
