"""Push latency: from an event's commit to its arrival on the recipient's socket.

N clients (default 100 and 1,000) hold a socket each; one event is published to each, one
transaction after another at a steady rate (default 500 a second), and the time from COMMIT
to the client's receipt is recorded.
Runs on one node, then with the clients split across two nodes (separate processes on one
PostgreSQL), beside the floor measured in the same run: a bare WebSocket server on loopback
pushing one frame per client on command, at the same rate.

    .venv/bin/python bench/push_bench.py [--clients 100 1000] [--rate 500]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Callable, Hashable

import asyncpg
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Database, free_port, make_clients, nodes, summary  # noqa: E402

from server import events  # noqa: E402
from server.auth.sessions import COOKIE  # noqa: E402

TIMEOUT = 60.0


async def paced(count: int, rate: float):
    """0 .. count-1 at `rate` a second; if the caller falls behind, it simply runs late."""
    start = time.perf_counter()
    for index in range(count):
        delay = start + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        yield index


async def connect_all(targets: list[tuple[str, dict]]) -> list:
    """One socket per (url, headers), connected in waves of 100 as a real crowd would."""
    sockets = []
    for start in range(0, len(targets), 100):
        sockets += await asyncio.gather(*[
            websockets.connect(url, additional_headers=headers, compression=None,
                               max_queue=None, open_timeout=30)
            for url, headers in targets[start:start + 100]])
    return sockets


class Arrivals:
    """Reads every socket and notes when each awaited message arrives, by key.

    `key_of(message)` names a message the run waits for (None for the others); the run is over
    when `count` keys have arrived or TIMEOUT passes.
    """

    def __init__(self, sockets: list, count: int, key_of: Callable[[dict], Hashable | None]
                 ) -> None:
        self.sockets = sockets
        self.count = count
        self.key_of = key_of
        self.at: dict[Hashable, float] = {}
        self.done = asyncio.Event()
        self.readers = [asyncio.create_task(self._read(s)) for s in sockets]

    async def _read(self, socket) -> None:
        async for frame in socket:
            key = self.key_of(json.loads(frame))
            if key is not None and key not in self.at:
                self.at[key] = time.perf_counter()
                if len(self.at) == self.count:
                    self.done.set()

    async def finish(self, started: dict[Hashable, float]) -> dict:
        """Wait for the rest, close the sockets; latencies from `started` (key: clock)."""
        try:
            await asyncio.wait_for(self.done.wait(), TIMEOUT)
        except TimeoutError:
            pass
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*[s.close() for s in self.sockets], return_exceptions=True)
        latencies = [(self.at[k] - t) * 1000 for k, t in started.items() if k in self.at]
        return {**summary(latencies), "lost": self.count - len(latencies)}


async def open_sockets(node_urls: list[str], tokens: list[str]) -> list:
    """One /ws socket per session token, spread over the nodes, each past its hello."""
    ws_urls = [u.replace("http://", "ws://") + "/ws" for u in node_urls]
    sockets = await connect_all([
        (ws_urls[i % len(ws_urls)],
         {"Cookie": f"{COOKIE}={token}", "Origin": node_urls[i % len(node_urls)]})
        for i, token in enumerate(tokens)])
    for socket in sockets:
        assert json.loads(await socket.recv())["type"] == "hello"
    return sockets


async def portal_run(database_url: str, node_urls: list[str], count: int, rate: float) -> dict:
    conn = await asyncpg.connect(database_url)
    clients = await make_clients(conn, count)
    sockets = await open_sockets(node_urls, [token for _, token in clients])
    arrivals = Arrivals(sockets, count,
                        lambda message: message["id"] if message["type"] == "event" else None)
    committed: dict[int, float] = {}
    async for index in paced(count, rate):
        user_id = clients[index][0]
        transaction = conn.transaction()
        await transaction.start()
        [event_id] = await events.publish(conn, [user_id], "bench.push", {})
        committed[event_id] = time.perf_counter()
        await transaction.commit()
    result = await arrivals.finish(committed)
    await conn.close()
    return result


async def floor_run(count: int, rate: float) -> dict:
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("ws_floor.py")), str(port),
        stdout=asyncio.subprocess.PIPE)
    assert (await server.stdout.readline()).strip() == b"ready"
    base = f"ws://127.0.0.1:{port}"
    sockets = await connect_all([(f"{base}/client/{i}", {}) for i in range(count)])
    control = await websockets.connect(f"{base}/control", compression=None)
    await asyncio.sleep(0.2)  # the server has registered every client
    arrived: dict[int, float] = {}
    done = asyncio.Event()

    async def receive(index: int, socket) -> None:
        async for _ in socket:
            arrived[index] = time.perf_counter()
            if len(arrived) == count:
                done.set()

    readers = [asyncio.create_task(receive(i, s)) for i, s in enumerate(sockets)]
    sent: dict[int, float] = {}
    async for index in paced(count, rate):
        sent[index] = time.perf_counter()
        await control.send(str(index))
    try:
        await asyncio.wait_for(done.wait(), TIMEOUT)
    except TimeoutError:
        pass
    for task in readers:
        task.cancel()
    await asyncio.gather(control.close(), *[s.close() for s in sockets],
                         return_exceptions=True)
    server.terminate()
    await server.wait()
    latencies = [(arrived[i] - t) * 1000 for i, t in sent.items() if i in arrived]
    return {**summary(latencies), "lost": count - len(latencies)}


HEADER = ("| scenario | clients | p50 ms | p99 ms | p50 vs floor | p99 vs floor | lost |\n"
          "| --- | --- | --- | --- | --- | --- | --- |")


def row(name: str, count: int, result: dict, floor: dict) -> str:
    return (f"| {name} | {count} | {result['p50']:.2f} | {result['p99']:.2f} | "
            f"{result['p50'] / floor['p50']:.1f}x | {result['p99'] / floor['p99']:.1f}x | "
            f"{result['lost']} |")


async def main(counts: list[int], rate: float) -> None:
    async with Database() as url, nodes(url) as urls:
        print(HEADER)
        for count in counts:
            floor = await floor_run(count, rate)
            print(row("floor: bare WebSocket push", count, floor, floor), flush=True)
            one = await portal_run(url, urls[:1], count, rate)
            print(row("portal, one node", count, one, floor), flush=True)
            two = await portal_run(url, urls, count, rate)
            print(row("portal, two nodes", count, two, floor), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--rate", type=float, default=500.0, help="events a second")
    args = parser.parse_args()
    print(f"{args.rate:.0f} events a second, one per client")
    asyncio.run(main(args.clients, args.rate))
