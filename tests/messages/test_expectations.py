"""Response hours in the API, and the automatic reply outside them."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.messages.conftest import set_hours
from tests.support import assert_error, next_message, open_socket

ZONE = ZoneInfo("America/New_York")


async def close_now(conn) -> None:
    """Response hours that are over for today wherever the clock stands: only tomorrow."""
    tomorrow = (datetime.now(ZONE) + timedelta(days=1)).weekday()
    await set_hours(conn, [tomorrow], "09:00", "17:00", 1)


async def test_outside_hours_the_portal_answers_once_per_closed_period(room, conn, portal):
    await close_now(conn)
    client, http = await room.new_client()
    socket = await open_socket(portal.url, http)
    await next_message(socket, "hello")
    started = (await http.post("/api/threads", json={"subject": "Late", "body": "Hello?"})).json()
    assert started["auto_reply_id"] is not None
    await http.post(f"/api/threads/{started['id']}/messages", json={"body": "Still there?"})
    read = (await http.get(f"/api/threads/{started['id']}/messages")).json()["messages"]
    assert [m["from"] for m in read] == ["client", "portal", "client"]
    auto = read[1]
    assert auto["kind"] == "auto_reply" and auto["author"] is None
    assert "outside the practice's response hours" in auto["body"]
    assert "9:00 AM" in auto["body"] and "988" in auto["body"]
    kinds = [(await next_message(socket, "event"))["payload"]["from"] for _ in range(3)]
    assert kinds == ["client", "portal", "client"]
    await socket.close()
    # The automatic reply neither answers the client nor counts as unread for the therapist.
    state = (await room.therapist_http.get(f"/api/threads/{started['id']}")).json()
    assert state["waiting_since"] is not None and state["unread"] == 2

    # A new closed period (the next night) is another automatic reply.
    await conn.execute("UPDATE message_threads SET auto_replied_for = now() - interval '1 day' "
                       "WHERE id = $1", started["id"])
    again = (await http.post(f"/api/threads/{started['id']}/messages",
                             json={"body": "Next night"})).json()
    assert again["auto_reply_id"] is not None


async def test_inside_hours_there_is_no_automatic_reply(room):
    _, http = await room.new_client()
    started = (await http.post("/api/threads", json={"subject": "Day", "body": "Hi"})).json()
    assert started["auto_reply_id"] is None


async def test_the_practice_replies_get_no_automatic_reply(room, conn):
    client, http = await room.new_client()
    thread_id = await room.start_thread(http)
    await close_now(conn)
    answer = (await room.therapist_http.post(f"/api/threads/{thread_id}/messages",
                                             json={"body": "Late answer"})).json()
    assert answer["auto_reply_id"] is None


async def test_the_therapist_sets_hours_and_the_client_sees_them(room):
    _, http = await room.new_client()
    saved = await room.therapist_http.put("/api/message-settings", json={
        "days": [0, 1, 2, 3], "opens": "10:00", "closes": "16:30", "reply_within_days": 2,
        "note": "Not during sessions."})
    assert saved.status_code == 200, saved.text
    seen = (await http.get("/api/message-settings")).json()
    assert seen["hours_text"] == "Monday–Thursday, 10:00 AM–4:30 PM"
    assert seen["promise_text"] == "within 2 response days"
    assert seen["note"] == "Not during sessions."
    assert {n["number"] for n in seen["crisis_numbers"]} >= {"988", "911"}
    assert_error(await http.put("/api/message-settings", json={
        "days": [0], "opens": "10:00", "closes": "11:00", "reply_within_days": 1}), 403)
    assert_error(await room.therapist_http.put("/api/message-settings", json={
        "days": [0], "opens": "10:00", "closes": "09:00", "reply_within_days": 1}), 422)
    assert_error(await room.therapist_http.put("/api/message-settings", json={
        "days": [7], "opens": "10:00", "closes": "11:00", "reply_within_days": 1}),
        422, "invalid", "days")


async def test_alert_preferences_are_the_therapists_own(room):
    saved = await room.therapist_http.put("/api/message-alerts", json={
        "digest_hours": 8, "quiet_from": "20:00", "quiet_until": "07:30",
        "quiet_weekends": False})
    assert saved.json() == {"digest_hours": 8, "quiet_from": "20:00", "quiet_until": "07:30",
                            "quiet_weekends": False}
    assert (await room.therapist_http.get("/api/message-alerts")).json()["digest_hours"] == 8
    assert_error(await room.therapist_http.put("/api/message-alerts", json={
        "digest_hours": 3, "quiet_from": "20:00", "quiet_until": "07:30"}),
        422, "invalid", "digest_hours")
