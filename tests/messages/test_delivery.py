"""What a message sets off: live events on every node, email alerts without the text, the
digest and its quiet hours."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from server.messages import alerts
from tests.support import next_message, nothing_more, open_socket, session_client, text_of
from tests.test_events import node_b  # noqa: F401  (a second server process, as a fixture)

SECRET = "my panic attacks came back on Sunday"


async def test_a_message_reaches_the_therapist_socket_on_another_node(room, node_b, conn,
                                                                      portal):
    therapist_b = await session_client(conn, node_b, room.therapist["id"])
    room.opened.append(therapist_b)
    socket = await open_socket(node_b, therapist_b)
    await next_message(socket, "hello")
    client, http = await room.new_client()  # on node A
    thread_id = await room.start_thread(http, "Across nodes", SECRET)
    event = await next_message(socket, "event")
    assert event["kind"] == "message.new"
    payload = event["payload"]
    assert payload["thread_id"] == thread_id and payload["from"] == "client"
    assert payload["title"] == "You have a new secure message"
    assert payload["url"] == f"/messages/{thread_id}"
    assert SECRET not in str(event) and "Across nodes" not in str(event)
    await socket.close()


async def test_the_author_hears_of_their_own_message_without_a_notice(room, portal):
    client, http = await room.new_client()
    thread_id = await room.start_thread(http)
    client_socket = await open_socket(portal.url, http)
    await next_message(client_socket, "hello")
    therapist_socket = await open_socket(portal.url, room.therapist_http)
    await next_message(therapist_socket, "hello")
    await http.post(f"/api/threads/{thread_id}/messages", json={"body": "Me again"})
    own = await next_message(client_socket, "event")
    assert own["kind"] == "message.new" and "title" not in own["payload"]
    theirs = await next_message(therapist_socket, "event")
    assert theirs["payload"]["title"] == "You have a new secure message"
    await room.therapist_http.post(f"/api/threads/{thread_id}/messages", json={"body": "Yes?"})
    reply = await next_message(client_socket, "event")
    assert reply["kind"] == "message.new" and reply["payload"]["from"] == "practice"
    assert reply["payload"]["title"]
    for socket in (client_socket, therapist_socket):
        await socket.close()


async def test_the_email_alert_carries_no_message_text_and_no_subject(room, mailbox):
    client, http = await room.new_client()
    thread_id = await room.start_thread(http, "Medication side effects", "Hello")
    await room.therapist_http.post(f"/api/threads/{thread_id}/messages", json={"body": SECRET})
    [mail] = await mailbox.wait_for(client["email"])
    text = text_of(mail)
    html = next(p for p in mail.walk() if p.get_content_type() == "text/html").get_payload(
        decode=True).decode()
    assert "You have a new secure message" in mail["Subject"]
    for part in (mail["Subject"], text, html):
        assert SECRET not in part and "panic" not in part
        assert "Medication" not in part and "side effects" not in part
    assert f"/messages/{thread_id}" in text


async def test_at_most_one_alert_per_thread_per_hour(room, mailbox, conn):
    client, http = await room.new_client()
    thread_id = await room.start_thread(http)
    other_thread = await room.start_thread(http, "Another subject")
    for body in ("One", "Two", "Three"):
        await room.therapist_http.post(f"/api/threads/{thread_id}/messages", json={"body": body})
    await mailbox.wait_for(client["email"], 1)
    # Another thread is another alert.
    await room.therapist_http.post(f"/api/threads/{other_thread}/messages", json={"body": "Hi"})
    await mailbox.wait_for(client["email"], 2)
    queued = await conn.fetchval("SELECT count(*) FROM outbox WHERE to_addr = $1",
                                 client["email"])
    assert queued == 2
    # An hour later the same thread may alert again.
    await conn.execute("UPDATE message_alerts_sent SET sent_at = now() - interval '61 minutes' "
                       "WHERE thread_id = $1", thread_id)
    await room.therapist_http.post(f"/api/threads/{thread_id}/messages", json={"body": "Four"})
    await mailbox.wait_for(client["email"], 3)
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE to_addr = $1",
                               client["email"]) == 3


async def _digest_rows(conn, email: str) -> list:
    return await conn.fetch("SELECT subject, text_body, html_body FROM outbox WHERE to_addr = $1 "
                            "ORDER BY id", email)


async def test_the_therapist_gets_a_digest_of_counts_outside_quiet_hours(room, conn, portal):
    pool, settings = portal.app.state.pool, portal.settings
    await conn.execute(
        "UPDATE message_alert_prefs SET digest_hours = 2, quiet_from = '22:00', "
        "quiet_until = '07:00', quiet_weekends = false WHERE user_id = $1", room.therapist["id"])
    first, http_a = await room.new_client("Alpha")
    second, http_b = await room.new_client("Beta")
    thread_a = await room.start_thread(http_a, "About Tuesday", SECRET)
    await http_a.post(f"/api/threads/{thread_a}/messages", json={"body": "And one more"})
    await room.start_thread(http_b, "Invoice", "Hello")
    email = room.therapist["email"]
    assert await _digest_rows(conn, email) == []  # nothing is emailed one by one

    night = datetime(2031, 3, 4, 3, 30, tzinfo=timezone.utc)  # 22:30 in New York: quiet
    await alerts.send_digests(pool, settings, now=night)
    assert await _digest_rows(conn, email) == []
    morning = night + timedelta(hours=10)  # 08:30 in New York
    await alerts.send_digests(pool, settings, now=morning)
    [digest] = await _digest_rows(conn, email)
    assert "3 new secure messages" in digest["text_body"]
    assert "2 conversations" in digest["text_body"]
    for part in digest.values():
        assert SECRET not in part and "Tuesday" not in part and "Alpha" not in part
        assert "Invoice" not in part
    # Within the digest interval a new message waits for the next one.
    await http_b.post("/api/threads", json={"subject": "Later", "body": "Later"})
    await alerts.send_digests(pool, settings, now=morning + timedelta(minutes=30))
    assert len(await _digest_rows(conn, email)) == 1
    await alerts.send_digests(pool, settings, now=morning + timedelta(hours=2))
    assert len(await _digest_rows(conn, email)) == 2
    assert "1 new secure message " in (await _digest_rows(conn, email))[1]["text_body"]


async def test_a_message_already_read_needs_no_digest(room, conn, portal):
    _, http = await room.new_client()
    thread_id = await room.start_thread(http)
    await room.therapist_http.get(f"/api/threads/{thread_id}/messages")
    noon = datetime(2031, 3, 4, 17, 0, tzinfo=timezone.utc)
    assert await alerts.send_digests(portal.app.state.pool, portal.settings, now=noon) == 0
    assert await conn.fetchval("SELECT count(*) FROM message_digest_queue WHERE recipient_id = $1",
                               room.therapist["id"]) == 0


async def test_reading_moves_the_other_sides_read_mark_live(room, portal):
    _, http = await room.new_client()
    thread_id = await room.start_thread(http)
    socket = await open_socket(portal.url, http)
    await next_message(socket, "hello")
    await room.therapist_http.get(f"/api/threads/{thread_id}/messages")
    event = await next_message(socket, "event")
    assert event["kind"] == "message.read" and event["payload"]["thread_id"] == thread_id
    # Reading again with nothing new says nothing.
    await room.therapist_http.get(f"/api/threads/{thread_id}/messages")
    await nothing_more(socket)
    await socket.close()
