"""Message latency: from the POST of a secure message to its arrival on the recipient's socket.

1,000 clients (by default) hold a socket each and have one thread each with the practice.
  therapist -> clients: the therapist answers every thread, one POST after another at a
                        steady rate; each client's socket waits for its message.new.
  clients -> therapist: every client writes in their thread at the same rate; the
                        therapist's one socket receives them all.
The clock runs from just before the POST is sent to the socket's receipt of the event, so it
holds the whole request (session, CSRF, transaction, audit, alert, events) and the push.
Runs on one node, then with the clients' sockets split across two nodes (separate processes
on one PostgreSQL), beside the floor of bench/push_bench.py measured in the same run: a bare
WebSocket server on loopback pushing one frame per client on command, at the same rate.

    .venv/bin/python bench/message_bench.py [--clients 1000] [--rate 20]
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Database, make_clients, nodes  # noqa: E402
from push_bench import (HEADER, TIMEOUT, Arrivals, floor_run, open_sockets, paced,  # noqa: E402
                        row)
from video_common import session_for  # noqa: E402

from server.auth.sessions import COOKIE  # noqa: E402

WARM_UP = 50


async def make_threads(conn: asyncpg.Connection, client_ids: list[int]) -> list[int]:
    """One thread per client, in the same order."""
    return [r["id"] for r in await conn.fetch(
        """INSERT INTO message_threads (client_id, division_id, subject)
           SELECT c, (SELECT id FROM divisions WHERE slug = 'therapy'), 'Bench'
           FROM unnest($1::bigint[]) WITH ORDINALITY AS x(c, n) ORDER BY n
           RETURNING id""", client_ids)]


async def run(node_urls: list[str], clients: list[tuple[int, str]], threads: list[int],
              therapist_token: str, rate: float, therapist_writes: bool) -> dict:
    count = len(clients)
    if therapist_writes:
        sockets = await open_sockets(node_urls, [token for _, token in clients])
    else:  # the therapist's one socket, on the last node: across nodes when there are two
        sockets = await open_sockets(node_urls[-1:], [therapist_token])
    # Each thread gets one message; the recipients' event carries the notice (the author's
    # own tabs get one without).
    arrivals = Arrivals(sockets, count, lambda m: m["payload"]["thread_id"]
                        if m.get("kind") == "message.new" and "title" in m["payload"] else None)
    sent: dict[int, float] = {}
    failed = 0
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=node_urls[0], timeout=TIMEOUT, limits=limits) as http:

        async def post(index: int) -> None:
            nonlocal failed
            token = therapist_token if therapist_writes else clients[index][1]
            sent[threads[index]] = time.perf_counter()
            response = await http.post(
                f"/api/threads/{threads[index]}/messages", json={"body": f"Bench {index}"},
                headers={"Cookie": f"{COOKIE}={token}", "X-CSRF-Token": "bench"})
            if response.status_code != 201:
                failed += 1

        posts = []
        async for index in paced(count, rate):
            posts.append(asyncio.create_task(post(index)))
        await asyncio.gather(*posts)
    assert failed == 0, f"{failed} posts failed"
    return await arrivals.finish(sent)


async def main(count: int, rate: float) -> None:
    async with Database() as url, nodes(url) as urls:
        conn = await asyncpg.connect(url)
        # Always answering: no automatic replies in the measurement.
        await conn.execute("UPDATE message_settings SET days = '{0,1,2,3,4,5,6}', "
                           "opens = '00:00', closes = '23:59:59.999999'")
        therapist = (await session_for(conn, "therapist", "Bench Therapist"))["token"]

        async def measure(node_urls: list[str], clients: int, therapist_writes: bool) -> dict:
            # Fresh clients and threads each time: every thread starts the same.
            made = await make_clients(conn, clients)
            threads = await make_threads(conn, [c for c, _ in made])
            return await run(node_urls, made, threads, therapist, rate, therapist_writes)

        for therapist_writes in (True, False):  # warm both nodes up; not measured
            await measure(urls, WARM_UP, therapist_writes)
        print(HEADER)
        floor = await floor_run(count, rate)
        print(row("floor: bare WebSocket push", count, floor, floor), flush=True)
        for name, node_urls in (("one node", urls[:1]), ("two nodes", urls)):
            for therapist_writes in (True, False):
                result = await measure(node_urls, count, therapist_writes)
                direction = "therapist -> clients" if therapist_writes \
                    else "clients -> therapist"
                print(row(f"message, {direction}, {name}", count, result, floor), flush=True)
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0, help="messages a second")
    args = parser.parse_args()
    print(f"{args.rate:.0f} messages a second, one per client")
    asyncio.run(main(args.clients, args.rate))
