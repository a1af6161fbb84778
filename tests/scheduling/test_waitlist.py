"""The Wait List: openings by email and live, first come first served."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from scheduling import openings
from tests.scheduling.conftest import ZONE, local
from tests.support import (assert_error, link_in, next_message, nothing_more, open_socket,
                           text_of)


def join(session_type="video", length=60, keep_for="2w") -> dict:
    return {"session_type": session_type, "length": length, "keep_for": keep_for}


async def test_join_see_extend_leave(clinic, conn):
    _, http = await clinic.new_client()
    _, other = await clinic.new_client()
    entry = await http.post("/api/waitlist", json=join(keep_for="1w"))
    assert entry.status_code == 201, entry.text
    entry = entry.json()
    expires = datetime.fromisoformat(entry["expires_at"])
    assert timedelta(days=6, hours=23) < expires - datetime.now(ZONE) <= timedelta(days=7)
    assert_error(await http.post("/api/waitlist", json=join()), 409, "already_waiting")
    for bad in ({**join(), "keep_for": "2y"}, {**join(), "length": 50},
                {**join(), "session_type": "chat"}):
        assert_error(await http.post("/api/waitlist", json=bad), 422)
    extended = (await http.post(f"/api/waitlist/{entry['id']}/extend",
                                json={"keep_for": "6m"})).json()
    assert datetime.fromisoformat(extended["expires_at"]) - datetime.now(ZONE) > \
        timedelta(days=180)
    # another client can neither see nor touch it
    assert (await other.get("/api/waitlist")).json()["entries"] == []
    assert_error(await other.delete(f"/api/waitlist/{entry['id']}"), 404)
    assert_error(await other.post(f"/api/waitlist/{entry['id']}/extend",
                                  json={"keep_for": "1w"}), 404)
    # the therapist sees the division's list, oldest first
    second = (await other.post("/api/waitlist", json=join("phone", 30))).json()
    listed = (await clinic.therapist_http.get("/api/waitlist")).json()["entries"]
    assert [e["id"] for e in listed] == [entry["id"], second["id"]]
    assert (await http.delete(f"/api/waitlist/{entry['id']}")).status_code == 200
    assert (await http.get("/api/waitlist")).json()["entries"] == []


async def test_expired_entries_disappear(clinic, conn):
    _, http = await clinic.new_client()
    entry = (await http.post("/api/waitlist", json=join())).json()
    await conn.execute("UPDATE waitlist_entries SET created_at = now() - interval '8 days', "
                       "expires_at = now() - interval '1 day' WHERE id = $1", entry["id"])
    assert (await http.get("/api/waitlist")).json()["entries"] == []
    assert_error(await http.delete(f"/api/waitlist/{entry['id']}"), 404)


async def test_a_cancellation_reaches_everyone_waiting_and_the_first_to_book_wins(
        clinic, conn, portal, mailbox):
    holder, holder_http = await clinic.new_client(name="Holder")
    start = local(4, 10)
    booked = (await holder_http.post("/api/appointments", json={
        "start": start.isoformat(), "session_type": "video", "length": 30})).json()
    # the rest of the window is away, so the cancelled half hour is the only opening; the
    # hours offer video and phone, not office
    await conn.execute(
        "INSERT INTO time_off (clinician_id, starts_at, ends_at) VALUES ($1, $2, $3), ($1, $4, $5)",
        clinic.therapist["id"], local(0, 0), start, start + timedelta(minutes=30), local(30, 0))
    await conn.execute("UPDATE availability SET session_types = '{video,phone}' "
                       "WHERE clinician_id = $1", clinic.therapist["id"])
    waiting = [await clinic.new_client(name=f"Waiting {n}") for n in range(2)]
    expired, expired_http = await clinic.new_client(name="Expired")
    other_length, other_length_http = await clinic.new_client(name="Other length")
    other_type, other_type_http = await clinic.new_client(name="Other type")
    for _, http in waiting:
        assert (await http.post("/api/waitlist", json=join(length=30))).status_code == 201
    expired_entry = (await expired_http.post("/api/waitlist", json=join(length=30))).json()
    await conn.execute("UPDATE waitlist_entries SET expires_at = now() - interval '1 minute', "
                       "created_at = now() - interval '1 week' WHERE id = $1",
                       expired_entry["id"])
    await other_length_http.post("/api/waitlist", json=join(length=45))
    await other_type_http.post("/api/waitlist", json=join(session_type="office", length=30))
    sockets = [await open_socket(portal.url, http) for _, http in waiting]
    quiet = [await open_socket(portal.url, h) for h in
             (expired_http, other_length_http, other_type_http)]
    for socket in sockets + quiet:
        await next_message(socket, "hello")

    cancelled = await clinic.therapist_http.post(
        f"/api/appointments/{booked['id']}/cancel", json={})
    assert cancelled.status_code == 200

    when = f"{start:%A, %B} {start.day} at {start:%-I:%M %p}"
    for (user, http), socket in zip(waiting, sockets):
        event = await next_message(socket, "event")
        assert event["kind"] == "waitlist.opening"
        assert when in event["payload"]["title"]
        assert [o["start"] for o in event["payload"]["openings"]] == [start.isoformat()]
        [mail] = await mailbox.wait_for(user["email"])
        assert when in text_of(mail)
        assert "session_type=video" in link_in(mail) and "length=30" in link_in(mail)
    for socket in quiet:
        await nothing_more(socket, 0.3)
    await asyncio.sleep(0.5)
    for user in (expired, other_length, other_type):
        assert mailbox.to(user["email"]) == []
    for (user, _), socket in zip(waiting, sockets):
        assert len(mailbox.to(user["email"])) == 1
        await nothing_more(socket, 0.1)

    # both try to book it at once: one wins, the other hears "just taken" and keeps waiting
    attempts = await asyncio.gather(*[http.post("/api/appointments", json={
        "start": start.isoformat(), "session_type": "video", "length": 30})
        for _, http in waiting])
    assert sorted(r.status_code for r in attempts) == [201, 409]
    loser = waiting[[r.status_code for r in attempts].index(409)]
    winner = waiting[[r.status_code for r in attempts].index(201)]
    assert attempts[[r.status_code for r in attempts].index(409)].json()["error"]["code"] \
        == "just_taken"
    assert len((await loser[1].get("/api/waitlist")).json()["entries"]) == 1
    assert (await winner[1].get("/api/waitlist")).json()["entries"] == []
    for socket in sockets + quiet:
        await socket.close()


async def test_many_openings_at_once_make_one_email(clinic, conn, portal, mailbox):
    client, http = await clinic.new_client(name="Flood Test")
    await conn.execute("DELETE FROM availability WHERE clinician_id = $1", clinic.therapist["id"])
    await http.post("/api/waitlist", json=join("phone", 30))
    added = await clinic.therapist_http.post("/api/availability", json={
        "weekday": local(3, 0).weekday(), "starts": "09:00", "ends": "12:00",
        "session_types": ["phone"], "division_ids": [clinic.division_id]})
    assert added.status_code == 201
    [mail] = await mailbox.wait_for(client["email"])
    assert text_of(mail).count("book it at") == 5 and "more in the Calendar" in text_of(mail)
    told = await conn.fetchval(
        "SELECT count(*) FROM waitlist_notices n JOIN waitlist_entries e ON e.id = n.entry_id "
        "WHERE e.client_id = $1", client["id"])
    assert told >= 3 * 11  # every 15 minutes from 9:00 to 11:30, for three or more weeks
    # told once: the same hours announced again tell nobody
    async with portal.app.state.pool.acquire() as c, c.transaction():
        assert await openings.whole_window(c, clinic.therapist["id"], portal.url) == 0


async def test_the_window_rolls_forward_once_a_day(clinic, conn, portal, mailbox):
    client, http = await clinic.new_client(name="Roller")
    await http.post("/api/waitlist", json=join("office", 45))
    await conn.execute("DELETE FROM waitlist_rolls")
    # only the new last day is announced, and only by the first node to get there
    results = await asyncio.gather(openings.roll_window(portal.app.state.pool, portal.settings),
                                   openings.roll_window(portal.app.state.pool, portal.settings))
    assert sorted(results)[0] == 0 and sorted(results)[1] >= 1
    [mail] = await mailbox.wait_for(client["email"])
    last_day = local(21, 0).date()
    assert f"{last_day:%B} {last_day.day}" in text_of(mail) or \
        f"{local(20, 0):%B} {local(20, 0).day}" in text_of(mail)
