"""CPU per relayed session: pairs of aiortc participants (640x360, 30 fps) meet through one
portal node in relay mode; the node's CPU is read from /proc while the media flows.

    .venv/bin/python bench/video_relay_cpu.py [--sessions 1 2 3] [--seconds 15]

The participants run in this process on the same two cores, so the node is measured while
sharing the machine with them; the figure per session is the node's own CPU time.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from common import Database, start_portal, stop, wait_until_serving  # noqa: E402
from video_common import video_room  # noqa: E402

from media.participant import Participant  # noqa: E402
from server.auth.sessions import COOKIE  # noqa: E402
from tests.support import next_message, open_socket  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


async def participant(base: str, user: dict, appointment_id: int) -> Participant:
    http = httpx.AsyncClient(base_url=base)
    http.cookies.set(COOKIE, user["token"])
    socket = await open_socket(base, http)
    await next_message(socket, "hello")
    person = Participant(socket, appointment_id)
    await person.join()
    return person


async def measure(base: str, pid: int, conn: asyncpg.Connection, sessions: int,
                  seconds: float) -> tuple[float, float, float]:
    people: list[Participant] = []
    try:
        for _ in range(sessions):
            appointment_id, client, clinician = await video_room(conn)
            pair = [await participant(base, client, appointment_id),
                    await participant(base, clinician, appointment_id)]
            for person in pair:
                answer = await person.relay()
                assert answer["type"] == "video.relay.answer", answer
            people += pair
        await asyncio.gather(*(p.wait_frames(30, timeout=60) for p in people))
        await asyncio.sleep(3)  # past the start-up
        frames = sum(p.frames["video"] for p in people)
        node, own, wall = cpu_seconds(pid), time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        wall = time.monotonic() - wall
        node_cpu = (cpu_seconds(pid) - node) / wall * 100
        own_cpu = (time.process_time() - own) / wall * 100
        fps = (sum(p.frames["video"] for p in people) - frames) / wall / len(people)
        return node_cpu, own_cpu, fps
    finally:
        for person in people:
            await person.leave()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    os.environ["VIDEO_RELAY"] = "always"
    async with Database() as url:
        conn = await asyncpg.connect(url)
        process, base = await start_portal(url)
        try:
            await wait_until_serving(base)
            idle = cpu_seconds(process.pid)
            await asyncio.sleep(5)
            idle = (cpu_seconds(process.pid) - idle) / 5 * 100
            print(f"relay node idle: {idle:.1f}% of one core; 640x360 at 30 fps, VP8 both ways")
            cores = os.cpu_count() or 1
            for count in args.sessions:
                node, own, fps = await measure(base, process.pid, conn, count, args.seconds)
                # Each session forwards two streams; the cost per forwarded frame (decode +
                # scale + encode) gives what a full-rate session costs however busy we were.
                per_frame_ms = node / 100 * 1000 / (fps * 2 * count) if fps else float("nan")
                full_rate = per_frame_ms * 2 * 30 / 10  # % of one core at 30 fps both ways
                print(f"{count} relayed session(s): node {node:.0f}% of one core "
                      f"({node / count:.0f}% per session), participants {own:.0f}%, "
                      f"{fps:.1f} fps received per participant; {per_frame_ms:.1f} ms of CPU "
                      f"per forwarded frame = {full_rate:.0f}% of a core per session at 30 fps, "
                      f"about {cores * 100 / full_rate:.1f} sessions on {cores} cores", flush=True)
                await asyncio.sleep(2)
        finally:
            await stop(process)
            await conn.close()
            os.environ.pop("VIDEO_RELAY", None)


if __name__ == "__main__":
    asyncio.run(main())
