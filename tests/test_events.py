"""The event hub: live, exactly once, in order, across nodes and dropped connections."""
from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
import pytest_asyncio
import websockets

from server import events
from tests.support import (log_in, next_message, nothing_more, open_socket, start_portal, stop,
                           wait_until_serving)


async def publish(pool_or_conn, recipients, kind="test.ping", **payload) -> list[int]:
    """Publish in a transaction of its own, as a change would."""
    if isinstance(pool_or_conn, asyncpg.Pool):
        async with pool_or_conn.acquire() as conn, conn.transaction():
            return await events.publish(conn, recipients, kind, payload)
    async with pool_or_conn.transaction():
        return await events.publish(pool_or_conn, recipients, kind, payload)


@pytest_asyncio.fixture(scope="module")
async def node_b(database_url):
    """A second server process on the same PostgreSQL."""
    process, url = await start_portal(database_url)
    await wait_until_serving(url)
    yield url
    await stop(process)


async def logged_in(make_user, base_url: str):
    user = await make_user()
    http = httpx.AsyncClient(base_url=base_url)
    await log_in(http, user["email"], user["password"])
    return user, http


async def test_publish_belongs_in_the_change_transaction(conn):
    with pytest.raises(RuntimeError):
        await events.publish(conn, [1], "test.ping")


async def test_an_event_reaches_every_tab_of_its_recipient_only(portal, make_user):
    alice, alice_http = await logged_in(make_user, portal.url)
    bob, bob_http = await logged_in(make_user, portal.url)
    tabs = [await open_socket(portal.url, alice_http) for _ in range(2)]
    bob_tab = await open_socket(portal.url, bob_http)
    for socket in (*tabs, bob_tab):
        assert (await next_message(socket, "hello"))["user_id"] in (alice["id"], bob["id"])
    [event_id] = await publish(portal.app.state.pool, [alice["id"]], note="for alice")
    for socket in tabs:
        event = await next_message(socket, "event")
        assert (event["id"], event["kind"], event["payload"]) == \
            (event_id, "test.ping", {"note": "for alice"})
    await nothing_more(bob_tab)
    for socket in (*tabs, bob_tab):
        await socket.close()


async def test_an_event_caused_on_node_a_reaches_a_socket_on_node_b(portal, node_b, make_user):
    user, http = await logged_in(make_user, node_b)
    socket = await open_socket(node_b, http)
    await next_message(socket, "hello")
    [event_id] = await publish(portal.app.state.pool, [user["id"]], note="across nodes")
    event = await next_message(socket, "event")
    assert event["id"] == event_id and event["payload"] == {"note": "across nodes"}
    await socket.close()


async def test_a_socket_that_drops_gets_every_missed_event_once_in_order(portal, node_b,
                                                                         make_user):
    user, http = await logged_in(make_user, portal.url)
    socket = await open_socket(portal.url, http)
    await next_message(socket, "hello")
    [first] = await publish(portal.app.state.pool, [user["id"]], n=0)
    assert (await next_message(socket, "event"))["id"] == first
    await socket.close()
    missed = []
    for n in range(1, 11):  # ten changes, each its own transaction, while the phone is away
        missed += await publish(portal.app.state.pool, [user["id"]], n=n)
    # It comes back through the other node, as behind a load balancer.
    socket = await open_socket(node_b, http, last_id=first)
    assert (await next_message(socket, "hello"))["last_id"] == first
    received = [await next_message(socket, "event") for _ in missed]
    assert [e["id"] for e in received] == missed
    assert [e["payload"]["n"] for e in received] == list(range(1, 11))
    [live] = await publish(portal.app.state.pool, [user["id"]], n=11)
    assert (await next_message(socket, "event"))["id"] == live
    await nothing_more(socket)
    await socket.close()


async def test_resuming_ahead_of_a_lagging_node_gets_nothing_twice(portal, make_user):
    user, http = await logged_in(make_user, portal.url)
    ids = [(await publish(portal.app.state.pool, [user["id"]], n=n))[0] for n in range(3)]
    socket = await open_socket(portal.url, http, last_id=ids[1])
    await next_message(socket, "hello")
    assert (await next_message(socket, "event"))["id"] == ids[2]
    await nothing_more(socket)
    await socket.close()


async def test_a_node_whose_listen_connection_dies_recovers_and_delivers(portal, make_user, conn):
    user, http = await logged_in(make_user, portal.url)
    socket = await open_socket(portal.url, http)
    await next_message(socket, "hello")
    hub = portal.app.state.hub
    killed = await conn.fetch(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = 'portal-listen' AND datname = current_database()")
    assert killed, "the LISTEN connection was found"
    # Published in the gap: the notification is lost, the row is not.
    published = await publish(portal.app.state.pool, [user["id"]], note="in the gap")
    event = await next_message(socket, "event", timeout=20)
    assert event["id"] == published[0] and event["payload"] == {"note": "in the gap"}
    await asyncio.wait_for(hub.listening.wait(), 20)
    [after] = await publish(portal.app.state.pool, [user["id"]], note="after")
    assert (await next_message(socket, "event"))["id"] == after
    await socket.close()


async def test_socket_needs_a_session_and_the_right_origin(portal, make_user, conn):
    anonymous = httpx.AsyncClient(base_url=portal.url)
    with pytest.raises(websockets.exceptions.InvalidStatus):
        await open_socket(portal.url, anonymous)  # closed before accept: HTTP 403
    user, http = await logged_in(make_user, portal.url)
    with pytest.raises(websockets.exceptions.InvalidStatus):
        await open_socket(portal.url, http, origin="https://evil.example")
    socket = await open_socket(portal.url, http)
    await next_message(socket, "hello")
    await socket.send('{"type": "ping"}')
    assert (await next_message(socket))["type"] == "pong"
    # The session ends elsewhere (log out in another tab): the next heartbeat says so.
    await conn.execute("DELETE FROM web_sessions WHERE user_id = $1", user["id"])
    await socket.send('{"type": "ping"}')
    with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
        await next_message(socket)
    assert closed.value.rcvd.code == 4401


async def test_heartbeats_do_not_keep_an_unused_session_alive(portal, make_user, conn):
    user, http = await logged_in(make_user, portal.url)
    await conn.execute("UPDATE web_sessions SET last_seen_at = now() - interval '10 minutes' "
                       "WHERE user_id = $1", user["id"])
    socket = await open_socket(portal.url, http)
    await next_message(socket, "hello")
    await socket.send('{"type": "ping"}')
    await next_message(socket, "pong")
    seen = await conn.fetchval("SELECT now() - last_seen_at FROM web_sessions WHERE user_id = $1",
                               user["id"])
    assert seen.total_seconds() >= 600
    await socket.close()


async def test_old_events_are_pruned(conn, make_user):
    user = await make_user()
    async with conn.transaction():
        old = await events.publish(conn, [user["id"]], "test.ping")
    await conn.execute("UPDATE events SET created_at = now() - interval '31 days' WHERE id = $1",
                       old[0])
    async with conn.transaction():
        new = await events.publish(conn, [user["id"]], "test.ping")
    await events.prune(conn, 30)
    remaining = [r["id"] for r in await conn.fetch(
        "SELECT id FROM events WHERE recipient_id = $1", user["id"])]
    assert remaining == new
