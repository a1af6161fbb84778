"""Video rooms with two aiortc participants through the real /ws signaling: peer to peer, on
two nodes, and relayed through the server; refusals for the wrong person and the wrong time."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest_asyncio

from media.participant import Participant
from tests.support import assert_error, eventually, log_in, next_message, open_socket
from tests.test_events import node_b  # noqa: F401  (a second node on the same PostgreSQL)


@pytest_asyncio.fixture
async def appointment(conn, make_user):
    """A booked video session between a new client and clinician; its room is open."""
    async def make(starts_in: timedelta = timedelta(minutes=5), session_type: str = "video",
                   length: timedelta = timedelta(minutes=50)) -> dict:
        client = await make_user("client", ("therapy",), name="Casey Client")
        clinician = await make_user("therapist", ("therapy",), name="Dr. Tess Therapist")
        starts = datetime.now(timezone.utc) + starts_in
        appointment_id = await conn.fetchval(
            """INSERT INTO appointments (clinician_id, client_id, division_id, session_type,
                   starts_at, ends_at, blocked_until)
               VALUES ($1, $2, (SELECT id FROM divisions WHERE slug = 'therapy'), $3, $4, $5, $5)
               RETURNING id""", clinician["id"], client["id"], session_type, starts,
            starts + length)
        return {"id": appointment_id, "client": client, "clinician": clinician}
    return make


async def participant(base_url: str, user: dict, appointment_id: int) -> Participant:
    http = httpx.AsyncClient(base_url=base_url)
    await log_in(http, user["email"], user["password"])
    socket = await open_socket(base_url, http)
    await next_message(socket, "hello")
    return Participant(socket, appointment_id)


async def meet(first: Participant, second: Participant) -> None:
    assert (await first.join())["peers"] == []
    joined = await second.join()
    assert [p["peer_id"] for p in joined["peers"]] == [first.peer_id]
    await second.call(first.peer_id)
    await asyncio.gather(first.wait_frames(), second.wait_frames())


async def test_peer_to_peer_frames_arrive_both_ways_and_presence_is_told(portal, appointment,
                                                                         conn):
    room = await appointment()
    client = await participant(portal.url, room["client"], room["id"])
    clinician = await participant(portal.url, room["clinician"], room["id"])
    try:
        await meet(client, clinician)
        assert [(p["state"], p["role"]) for p in client.presence] == [("arrived", "clinician")]
        joins = await conn.fetch(
            "SELECT actor_id, subject_user_id FROM audit_log WHERE action = 'video_join' "
            "AND record_type = 'appointment' AND record_id = $1", str(room["id"]))
        assert sorted(r["actor_id"] for r in joins) == sorted(
            [room["client"]["id"], room["clinician"]["id"]])
        assert {r["subject_user_id"] for r in joins} == {room["client"]["id"]}
        await clinician.leave()
        await eventually(lambda: client.presence[-1]["state"] == "left")
        assert client.presence[-1]["state"] == "left"
    finally:
        await client.close()
        await clinician.close()


async def test_participants_on_different_nodes_meet(portal, node_b, appointment):
    room = await appointment()
    client = await participant(portal.url, room["client"], room["id"])
    clinician = await participant(node_b, room["clinician"], room["id"])
    try:
        await meet(clinician, client)
    finally:
        await client.close()
        await clinician.close()


async def test_relayed_frames_arrive_both_ways(portal, appointment):
    room = await appointment()
    portal.settings.video_relay = "always"
    client = await participant(portal.url, room["client"], room["id"])
    clinician = await participant(portal.url, room["clinician"], room["id"])
    try:
        await client.join()
        await clinician.join()
        assert (await client.relay())["type"] == "video.relay.answer"
        assert (await clinician.relay())["type"] == "video.relay.answer"
        await asyncio.gather(client.wait_frames(), clinician.wait_frames())
        relay = portal.app.state.relay
        assert set(relay.rooms[room["id"]].peers) == {client.peer_id, clinician.peer_id}
        # Low quality caps the server's encoder towards that browser.
        await client.send({"type": "video.relay.quality", "preset": "low"})
        assert (await client.expect("video.relay.quality"))["preset"] == "low"
        relay_peer = relay.rooms[room["id"]].peers[client.peer_id]
        assert relay_peer.encoder.cap == 250_000 and relay_peer.encoder.target_bitrate <= 250_000
        await client.leave()
        await clinician.leave()
        await eventually(lambda: room["id"] not in relay.rooms)
        assert room["id"] not in relay.rooms
    finally:
        portal.settings.video_relay = "off"
        await client.close()
        await clinician.close()


async def test_relay_is_refused_when_the_practice_has_not_chosen_it(portal, appointment):
    room = await appointment()
    client = await participant(portal.url, room["client"], room["id"])
    try:
        await client.join()
        await client.send({"type": "video.relay.offer", "sdp": "v=0 not really an offer"})
        assert (await client.expect("video.relay.answer"))["code"] == "relay_off"
    finally:
        await client.close()


async def test_a_third_account_and_the_wrong_time_are_refused(portal, appointment, make_user,
                                                             client):
    room = await appointment()
    stranger = await make_user("client", ("therapy",))
    other_therapist = await make_user("therapist", ("therapy",))
    for user in (stranger, other_therapist):
        outsider = await participant(portal.url, user, room["id"])
        try:
            await outsider.send({"type": "video.join"})
            error = await outsider.expect("video.joined")
            assert (error["type"], error["code"]) == ("video.error", "not_found")
            # Signaling into a room one has not joined goes nowhere.
            await outsider.send({"type": "video.signal", "to": "abcdefgh",
                                 "data": {"kind": "offer", "sdp": "x"}})
            assert (await outsider.expect("video.joined"))["code"] == "not_in_room"
        finally:
            await outsider.close()

    later = await appointment(starts_in=timedelta(hours=3))
    past = await appointment(starts_in=timedelta(hours=-2))
    phone = await appointment(session_type="phone")
    for case, code in ((later, "too_early"), (past, "ended"), (phone, "not_video")):
        person = await participant(portal.url, case["client"], case["id"])
        try:
            await person.send({"type": "video.join"})
            error = await person.expect("video.joined")
            assert (error["type"], error["code"]) == ("video.error", code), error
        finally:
            await person.close()
        await log_in(client, case["client"]["email"], case["client"]["password"])
        status = (await client.get(f"/api/appointments/{case['id']}/video")).json()
        assert status["can_join"] is False and status["refusal"]["code"] == code
        assert status["ice_servers"] == []

    await log_in(client, stranger["email"], stranger["password"])
    assert_error(await client.get(f"/api/appointments/{room['id']}/video"), 404, "not_found")
    assert_error(await client.post(f"/api/appointments/{room['id']}/video/precheck",
                                   json={"sdp": "v=0 something"}), 404, "not_found")
    page = await client.get(f"/sessions/{room['id']}/video")
    assert page.status_code == 404


async def test_the_room_opens_early_by_the_setting(portal, appointment, client):
    room = await appointment(starts_in=timedelta(minutes=20))
    await log_in(client, room["client"]["email"], room["client"]["password"])
    assert (await client.get(f"/api/appointments/{room['id']}/video")).json()["can_join"] is False
    portal.settings.video_join_early_minutes = 30
    try:
        status = (await client.get(f"/api/appointments/{room['id']}/video")).json()
        assert status["can_join"] is True and status["role"] == "client"
    finally:
        portal.settings.video_join_early_minutes = 15


async def test_bad_signaling_messages_get_an_error_and_keep_the_socket(portal, appointment):
    room = await appointment()
    person = await participant(portal.url, room["client"], room["id"])
    try:
        await person.socket.send(json.dumps({"type": "video.join", "appointment_id": "x",
                                             "peer_id": person.peer_id}))
        assert (await person.expect("video.joined"))["field"] == "appointment_id"
        await person.socket.send(json.dumps({"type": "video.join",
                                             "appointment_id": room["id"], "peer_id": "no"}))
        assert (await person.expect("video.joined"))["field"] == "peer_id"
        await person.join()
        await person.send({"type": "video.signal", "to": "abcdefgh", "data": {"kind": "x"}})
        assert (await person.expect("video.joined"))["field"] == "data"
        assert person.joined["type"] == "video.joined"
    finally:
        await person.close()


async def test_the_precheck_measures_against_the_server_peer_and_keeps_the_verdict(
        portal, appointment, client):
    from media import precheck_client

    room = await appointment()
    await log_in(client, room["client"]["email"], room["client"]["password"])

    async def exchange(sdp: str) -> str:
        response = await client.post(f"/api/appointments/{room['id']}/video/precheck",
                                     json={"sdp": sdp})
        assert response.status_code == 200, response.text
        return response.json()["sdp"]

    measured = await precheck_client.measure(exchange)
    assert measured["loss_pct"] == 0 and measured["rtt_ms"] < 100
    assert measured["download_kbps"] > 1000 and measured["upload_kbps"] > 1000
    assert measured.pop("duration_ms") < 8000
    measured.pop("connect_ms")
    saved = await client.post(f"/api/appointments/{room['id']}/video/checks",
                              json={"camera": True, "microphone": True, "duration_ms": 4000,
                                    **measured})
    assert saved.status_code == 201, saved.text
    check = saved.json()
    assert check["verdict"] == "good" and check["advice"]

    # The clinician sees the client's last check; the client sees only their own.
    await log_in(client, room["clinician"]["email"], room["clinician"]["password"])
    seen = (await client.get(f"/api/appointments/{room['id']}/video/checks")).json()["checks"]
    assert [(c["role"], c["verdict"]) for c in seen] == [("client", "good")]


async def test_the_demo_client_has_a_video_session_open_now(portal, conn):
    from server import demo
    from signaling import access

    client_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", demo.CLIENT[0])
    appointment_id = await conn.fetchval(
        "SELECT id FROM appointments WHERE client_id = $1 AND session_type = 'video' "
        "AND status = 'booked' AND ends_at > now() ORDER BY starts_at LIMIT 1", client_id)
    room = await access.joinable_room(conn, appointment_id, client_id, portal.settings)
    assert room.appointment.clinician_id == await conn.fetchval(
        "SELECT id FROM users WHERE email = $1", demo.THERAPIST[0])
    # Starting the demo again keeps that one rather than adding another.
    count = "SELECT count(*) FROM appointments WHERE client_id = $1 AND session_type = 'video'"
    before = await conn.fetchval(count, client_id)
    await demo.ensure_video_session(conn)
    assert await conn.fetchval(count, client_id) == before


async def test_a_relay_on_one_node_serves_a_participant_on_another(portal, appointment,
                                                                   database_url, monkeypatch):
    from tests.support import start_portal, stop, wait_until_serving

    monkeypatch.setenv("VIDEO_RELAY", "always")
    process, node_c = await start_portal(database_url)
    portal.settings.video_relay = "always"
    room = await appointment()
    client = clinician = None
    try:
        await wait_until_serving(node_c)
        client = await participant(portal.url, room["client"], room["id"])
        clinician = await participant(node_c, room["clinician"], room["id"])
        await client.join()
        await clinician.join()
        await client.relay()  # the first offer makes this node the room's host
        assert (await clinician.relay())["type"] == "video.relay.answer"
        await asyncio.gather(client.wait_frames(), clinician.wait_frames())
        assert set(portal.app.state.relay.rooms[room["id"]].peers) == {client.peer_id,
                                                                        clinician.peer_id}
        await clinician.leave()  # carried to the hosting node too
        hosted = portal.app.state.relay.rooms[room["id"]]
        await eventually(lambda: clinician.peer_id not in hosted.peers)
        assert list(portal.app.state.relay.rooms[room["id"]].peers) == [client.peer_id]
    finally:
        portal.settings.video_relay = "off"
        for person in (client, clinician):
            if person is not None:
                await person.close()
        await stop(process)


async def test_a_dropped_socket_that_comes_back_keeps_the_call(portal, appointment,
                                                                monkeypatch):
    from signaling import protocol

    monkeypatch.setattr(protocol, "LEAVE_GRACE_SECONDS", 1.0)
    room = await appointment()
    client = await participant(portal.url, room["client"], room["id"])
    clinician = await participant(portal.url, room["clinician"], room["id"])
    http = httpx.AsyncClient(base_url=portal.url)
    await log_in(http, room["clinician"]["email"], room["clinician"]["password"])
    try:
        await meet(client, clinician)
        await clinician.socket.close()  # the phone changes networks; its call goes on
        socket = await open_socket(portal.url, http)
        await next_message(socket, "hello")
        await socket.send(json.dumps({"type": "video.join", "appointment_id": room["id"],
                                      "peer_id": clinician.peer_id}))
        assert (await next_message(socket, "video.joined"))["peer_id"] == clinician.peer_id
        before = client.frames["video"]
        await asyncio.sleep(1.5)
        assert [p["state"] for p in client.presence] == ["arrived", "arrived"]
        assert client.frames["video"] > before + 10
        await socket.close()  # gone for good this time: "left" after the grace period
        await eventually(lambda: client.presence[-1]["state"] == "left", timeout=3)
        assert client.presence[-1]["state"] == "left"
    finally:
        await client.close()
        await clinician.close()
