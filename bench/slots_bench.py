"""Slot search and booking speed.

1. The slot function alone: 21 days, each of the four lengths, with 500 booked appointments,
   beside the same search with none booked (the baseline, same run).
2. GET /api/slots through a running node with those 500 appointments, beside GET /healthz.
3. Booking throughput: clients booking distinct open starts at once through the API.

    .venv/bin/python bench/slots_bench.py [--calls 200] [--bookers 50]
"""
from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from datetime import datetime, time as clock, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (Database, make_clients, percentile, start_portal, stop,  # noqa: E402
                    wait_until_serving)

from scheduling import slots  # noqa: E402
from server.auth.sessions import COOKIE  # noqa: E402

ZONE = ZoneInfo("America/New_York")
LENGTHS = (15, 30, 45, 60)
WINDOWS = [slots.Window(d, clock(8), clock(20), frozenset({"video", "phone", "office"}),
                        frozenset({1})) for d in range(7)]


def booked_intervals(now: datetime, count: int) -> list[slots.Interval]:
    """`count` 15-minute sessions spread over the next 21 days' hours (about half of them)."""
    random.seed(7)
    starts = set()
    day0 = now.astimezone(ZONE).date()
    while len(starts) < count:
        day = day0 + timedelta(days=random.randrange(1, 22))
        starts.add(datetime.combine(day, clock(8), ZONE)
                   + timedelta(minutes=15 * random.randrange(48)))
    return [slots.Interval(s, s + timedelta(minutes=15)) for s in sorted(starts)]


def time_calls(busy: list[slots.Interval], now: datetime, calls: int) -> list[float]:
    samples = []
    for i in range(calls):
        length = LENGTHS[i % 4]
        started = time.perf_counter()
        slots.search(now=now, zone=ZONE, windows=WINDOWS, rules=slots.Rules(), busy=busy,
                     time_off=[], session_type="video", length=length, division_id=1)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def line(name: str, samples: list[float], base: list[float] | None = None) -> str:
    p50, p99 = statistics.median(samples), percentile(samples, 99)
    ratio = ""
    if base:
        ratio = f" | {p50 / statistics.median(base):.1f}x | {p99 / percentile(base, 99):.1f}x"
    else:
        ratio = " | 1.0x | 1.0x"
    return f"| {name} | {len(samples)} | {p50:.3f} | {p99:.3f}{ratio} |"


async def api_part(calls: int, bookers: int) -> None:
    async with Database() as url:
        conn = await asyncpg.connect(url)
        therapist = await conn.fetchval(
            "INSERT INTO users (email, name, role) VALUES ('t@bench.test', 'T', 'therapist') "
            "RETURNING id")
        therapy = await conn.fetchval("SELECT id FROM divisions WHERE slug = 'therapy'")
        await conn.execute("INSERT INTO memberships VALUES ($1, $2)", therapist, therapy)
        await conn.executemany(
            "INSERT INTO availability (clinician_id, weekday, starts, ends, session_types, "
            "division_ids) VALUES ($1, $2, '08:00', '20:00', '{phone,video,office}', $3)",
            [(therapist, d, [therapy]) for d in range(7)])
        clients = await make_clients(conn, 500 + bookers)
        now = datetime.now(timezone.utc)
        busy = booked_intervals(now, 500)
        await conn.executemany(
            "INSERT INTO appointments (clinician_id, client_id, division_id, session_type, "
            "starts_at, ends_at, blocked_until) VALUES ($1, $2, $3, 'video', $4, $5, $5)",
            [(therapist, clients[i][0], therapy, b.starts, b.ends) for i, b in enumerate(busy)])
        process, base = await start_portal(url)
        try:
            await wait_until_serving(base)
            async with httpx.AsyncClient(base_url=base, cookies={COOKIE: clients[0][1]}) as http:
                for _ in range(10):  # warm up
                    await http.get("/api/slots", params={"session_type": "video", "length": 60})
                health, search = [], []
                for i in range(calls):
                    started = time.perf_counter()
                    await http.get("/healthz")
                    health.append((time.perf_counter() - started) * 1000)
                    started = time.perf_counter()
                    response = await http.get("/api/slots", params={
                        "session_type": "video", "length": LENGTHS[i % 4]})
                    search.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200
                response = await http.get("/api/slots", params={"session_type": "video",
                                                                "length": 15})
                open_starts = [s["start"] for s in response.json()["slots"]]
            print(line("GET /healthz (baseline)", health))
            print(line("GET /api/slots, 500 booked", search, health))

            # booking throughput: each booker takes a different open start, all at once
            random.seed(11)
            chosen = random.sample(open_starts, bookers)
            sessions = [httpx.AsyncClient(base_url=base, cookies={COOKIE: token},
                                          headers={"X-CSRF-Token": "bench"}, timeout=60)
                        for _, token in clients[500:500 + bookers]]
            latencies = []

            async def book(http: httpx.AsyncClient, start: str) -> int:
                began = time.perf_counter()
                response = await http.post("/api/appointments", json={
                    "start": start, "session_type": "video", "length": 15})
                latencies.append((time.perf_counter() - began) * 1000)
                return response.status_code

            began = time.perf_counter()
            codes = await asyncio.gather(*[book(h, s) for h, s in zip(sessions, chosen)])
            elapsed = time.perf_counter() - began
            for http in sessions:
                await http.aclose()
            print(f"\nbooking: {bookers} clients at once, {codes.count(201)} booked, "
                  f"{codes.count(409)} just taken, "
                  f"{bookers / elapsed:.0f} bookings/s; latency p50 "
                  f"{statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 99):.1f} ms")
        finally:
            await stop(process)
            await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--bookers", type=int, default=50)
    args = parser.parse_args()
    now = datetime.now(timezone.utc)
    print("| what | calls | p50 ms | p99 ms | p50 vs baseline | p99 vs baseline |")
    print("| --- | --- | --- | --- | --- | --- |")
    empty = time_calls([], now, args.calls)
    print(line("slot function, 21 days, nothing booked (baseline)", empty))
    print(line("slot function, 21 days, 500 booked", time_calls(booked_intervals(now, 500), now,
                                                                 args.calls), empty))
    asyncio.run(api_part(args.calls, args.bookers))


if __name__ == "__main__":
    main()
