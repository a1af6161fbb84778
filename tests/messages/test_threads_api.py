"""Threads through the API: owners only, read state both ways, waiting and handled, audit."""
from __future__ import annotations

from tests.support import assert_error, session_client


async def test_client_writes_and_the_therapist_answers(room, conn):
    client, http = await room.new_client("Ada Client")
    thread_id = await room.start_thread(http, "Sleep", "I could not sleep this week.")

    inbox = (await room.therapist_http.get("/api/threads")).json()["threads"]
    [row] = [t for t in inbox if t["id"] == thread_id]
    assert row["client"] == {"id": client["id"], "name": "Ada Client"}
    assert row["waiting_since"] is not None and row["unread"] == 1
    assert row["division"]["id"] == room.division_id

    read = (await room.therapist_http.get(f"/api/threads/{thread_id}/messages")).json()
    [first] = read["messages"]
    assert (first["body"], first["from"], first["mine"]) == \
        ("I could not sleep this week.", "client", False)
    assert read["read_by_other_side"] == first["id"]  # the client read their own message

    answer = await room.therapist_http.post(f"/api/threads/{thread_id}/messages",
                                            json={"body": "Let us talk about it on Tuesday."})
    assert answer.status_code == 201, answer.text
    state = (await room.therapist_http.get(f"/api/threads/{thread_id}")).json()
    assert state["waiting_since"] is None and state["unread"] == 0

    mine = (await http.get("/api/threads")).json()["threads"]
    [row] = [t for t in mine if t["id"] == thread_id]
    assert row["unread"] == 1
    seen = (await http.get(f"/api/threads/{thread_id}/messages")).json()
    assert [m["from"] for m in seen["messages"]] == ["client", "practice"]
    assert seen["messages"][1]["author"]["name"] == "Dr. Inbox"
    # The therapist read up to the client's message, and wrote the answer after it.
    assert seen["read_by_other_side"] == seen["messages"][1]["id"]
    assert (await http.get(f"/api/threads/{thread_id}")).json()["unread"] == 0


async def test_another_client_gets_404_for_everything_of_a_thread(room):
    _, owner = await room.new_client("Owner")
    _, other = await room.new_client("Other")
    thread_id = await room.start_thread(owner, "Private", "Only mine.")
    for method, path, body in (
            ("GET", f"/api/threads/{thread_id}", None),
            ("GET", f"/api/threads/{thread_id}/messages", None),
            ("POST", f"/api/threads/{thread_id}/messages", {"body": "Sneaking in"})):
        assert_error(await other.request(method, path, json=body), 404, "not_found")
    assert thread_id not in [t["id"] for t in (await other.get("/api/threads")).json()["threads"]]
    found = (await other.get("/api/threads", params={"q": "mine"})).json()["threads"]
    assert found == []
    # Handling is the practice's: a client may not even learn the thread exists.
    assert_error(await other.put(f"/api/threads/{thread_id}/handled"), 403)


async def test_divisions_stay_apart(room, conn, make_user, portal):
    client, http = await room.new_client("Two Rooms", divisions=(room.slug, "education"))
    await conn.execute("UPDATE web_sessions SET division_id = $2 WHERE user_id = $1",
                       client["id"], room.division_id)
    thread_id = await room.start_thread(http, "In my room", "Hello")
    # The client's list shows the active division only.
    await conn.execute("UPDATE web_sessions SET division_id = "
                       "(SELECT id FROM divisions WHERE slug = 'education') WHERE user_id = $1",
                       client["id"])
    assert (await http.get("/api/threads")).json()["threads"] == []
    # Out of the division, the thread is gone for them.
    await conn.execute("DELETE FROM memberships WHERE user_id = $1 AND division_id = $2",
                       client["id"], room.division_id)
    assert_error(await http.get(f"/api/threads/{thread_id}/messages"), 404, "not_found")
    assert_error(await http.post(f"/api/threads/{thread_id}/messages", json={"body": "x"}), 404)
    # A therapist of another division never sees it either.
    outsider = await make_user("therapist", ("education",), name="Dr. Elsewhere")
    other_http = await session_client(conn, portal.url, outsider["id"])
    room.opened.append(other_http)
    assert_error(await other_http.get(f"/api/threads/{thread_id}/messages"), 404)
    assert thread_id not in [t["id"] for t in
                             (await other_http.get("/api/threads")).json()["threads"]]
    assert_error(await other_http.get("/api/threads",
                                      params={"division_id": room.division_id}), 404)


async def test_therapist_starts_a_thread_with_a_client_of_the_division(room, make_user):
    client, http = await room.new_client("Invited Client")
    stranger = await make_user("client", ("education",), name="Not Here")
    assert_error(await room.therapist_http.post(
        "/api/threads", json={"subject": "Hello", "body": "Welcome"}), 422, "missing", "client_id")
    assert_error(await room.therapist_http.post(
        "/api/threads", json={"subject": "Hello", "body": "Welcome", "client_id": stranger["id"]}),
        422, "invalid", "client_id")
    thread_id = await room.start_thread(room.therapist_http, "Welcome", "Glad you are here.",
                                        client_id=client["id"])
    state = (await room.therapist_http.get(f"/api/threads/{thread_id}")).json()
    assert state["waiting_since"] is None
    assert (await http.get(f"/api/threads/{thread_id}")).json()["unread"] == 1


async def test_blank_subject_and_body_say_what_to_fix(room):
    _, http = await room.new_client()
    assert_error(await http.post("/api/threads", json={"subject": "  ", "body": "x"}),
                 422, "invalid", "subject")
    assert_error(await http.post("/api/threads", json={"subject": "s", "body": " \n "}),
                 422, "invalid", "body")


async def test_mark_handled_and_back(room):
    _, http = await room.new_client()
    thread_id = await room.start_thread(http)
    handled = await room.therapist_http.put(f"/api/threads/{thread_id}/handled")
    assert handled.status_code == 200 and handled.json()["waiting_since"] is None
    assert handled.json()["handled_at"] is not None
    reopened = (await room.therapist_http.delete(f"/api/threads/{thread_id}/handled")).json()
    assert reopened["waiting_since"] is not None and reopened["handled_at"] is None
    await room.therapist_http.put(f"/api/threads/{thread_id}/handled")
    await http.post(f"/api/threads/{thread_id}/messages", json={"body": "One more thing"})
    again = (await room.therapist_http.get(f"/api/threads/{thread_id}")).json()
    assert again["waiting_since"] is not None and again["handled_at"] is None


async def test_inbox_puts_the_longest_wait_on_top(room, conn):
    ids = []
    for name in ("First", "Second", "Third"):
        _, http = await room.new_client(name)
        ids.append(await room.start_thread(http, f"From {name}"))
    # The second has waited longest; the third is answered.
    await conn.execute("UPDATE message_threads SET waiting_since = now() - interval '3 hours' "
                       "WHERE id = $1", ids[1])
    await room.therapist_http.post(f"/api/threads/{ids[2]}/messages", json={"body": "Done"})
    inbox = (await room.therapist_http.get(
        "/api/threads", params={"division_id": room.division_id})).json()["threads"]
    assert [t["id"] for t in inbox] == [ids[1], ids[0], ids[2]]
    assert inbox[0]["waited"].startswith("3 h")
    assert inbox[2]["waiting_since"] is None
    only = (await room.therapist_http.get(
        "/api/threads", params={"client_id": inbox[1]["client"]["id"]})).json()["threads"]
    assert [t["id"] for t in only] == [ids[0]]


async def test_every_read_and_post_is_audited_for_the_client(room, conn):
    client, http = await room.new_client()
    thread_id = await room.start_thread(http)
    await room.therapist_http.get(f"/api/threads/{thread_id}/messages")
    await room.therapist_http.post(f"/api/threads/{thread_id}/messages", json={"body": "Hi"})
    rows = await conn.fetch(
        "SELECT actor_id, action, subject_user_id FROM audit_log "
        "WHERE record_type = 'message_thread' AND record_id = $1 ORDER BY id", str(thread_id))
    assert [(r["actor_id"], r["action"]) for r in rows] == [
        (client["id"], "message_sent"), (room.therapist["id"], "messages_read"),
        (room.therapist["id"], "message_sent")]
    assert {r["subject_user_id"] for r in rows} == {client["id"]}
    # The client sees these entries in their own account activity.
    mine = (await http.get("/api/audit")).json()["entries"]
    assert any(e["action"] == "messages_read" and e["record_id"] == str(thread_id) for e in mine)
