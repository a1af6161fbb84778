"""The Wait List under load: 2,000 active entries, one cancellation.

Every client holds a socket; the therapist cancels the one session that fits them all. Printed:
the time from the cancellation's commit (its HTTP answer) to the last live notice and to the
last email handed to SMTP (a real aiosmtpd on loopback), beside baselines measured in the same
run: a bare WebSocket server pushing one frame to each of 2,000 sockets, and aiosmtplib
sending 2,000 messages straight to the same SMTP server.

    .venv/bin/python bench/waitlist_bench.py [--entries 2000]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import aiosmtplib
import asyncpg
import httpx
from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (Database, free_port, make_clients, start_portal, stop,  # noqa: E402
                    wait_until_serving)
from push_bench import connect_all, floor_run  # noqa: E402

from server.auth.sessions import COOKIE  # noqa: E402


class Counter:
    def __init__(self) -> None:
        self.times: list[float] = []

    async def handle_DATA(self, server, session, envelope):
        self.times.append(time.perf_counter())
        return "250 OK"


async def smtp_baseline(port: int, count: int) -> float:
    """Seconds for aiosmtplib to hand `count` messages over one connection."""
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
    await smtp.connect()
    began = time.perf_counter()
    for n in range(count):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@x.test", f"b{n}@x.test", "s"
        message.set_content("A time you are waiting for opened up.")
        await smtp.send_message(message)
    elapsed = time.perf_counter() - began
    await smtp.quit()
    return elapsed


async def main(count: int) -> None:
    counter = Counter()
    smtp_port = free_port()
    controller = Controller(counter, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        async with Database() as url:
            conn = await asyncpg.connect(url)
            therapy = await conn.fetchval("SELECT id FROM divisions WHERE slug = 'therapy'")
            [(therapist, therapist_token)] = await make_clients(conn, 1)
            await conn.execute("UPDATE users SET role = 'therapist' WHERE id = $1", therapist)
            clients = await make_clients(conn, count + 1)
            holder = clients.pop()[0]
            await conn.executemany(
                "INSERT INTO availability (clinician_id, weekday, starts, ends, session_types, "
                "division_ids) VALUES ($1, $2, '09:00', '10:00', '{video}', $3)",
                [(therapist, d, [therapy]) for d in range(7)])
            # the session to cancel: 9:00 in two days, the practice's zone
            zone = ZoneInfo("America/New_York")
            day = datetime.now(zone).date() + timedelta(days=2)
            starts = datetime.combine(day, datetime.min.time(), zone) + timedelta(hours=9)
            session = await conn.fetchval(
                "INSERT INTO appointments (clinician_id, client_id, division_id, session_type,"
                " starts_at, ends_at, blocked_until) VALUES ($1, $2, $3, 'video', $4, $5, $5)"
                " RETURNING id", therapist, holder, therapy, starts, starts + timedelta(hours=1))
            await conn.executemany(
                "INSERT INTO waitlist_entries (client_id, division_id, session_type, length, "
                "expires_at) VALUES ($1, $2, 'video', 60, now() + interval '14 days')",
                [(c, therapy) for c, _ in clients])
            # today's roll of the booking window is done, so only the cancellation speaks
            await conn.execute("INSERT INTO waitlist_rolls VALUES (current_date), "
                               "(current_date - 1), (current_date + 1)")
            process, base = await start_portal(url, MAIL_WORKER="true", SMTP_HOST="127.0.0.1",
                                               SMTP_PORT=str(smtp_port))
            env_note = "one node, its outbox worker sending"
            try:
                await wait_until_serving(base)
                ws_url = base.replace("http://", "ws://") + "/ws"
                sockets = await connect_all([
                    (ws_url, {"Cookie": f"{COOKIE}={token}", "Origin": base})
                    for _, token in clients])
                for socket in sockets:
                    await socket.recv()  # hello
                arrived: list[float] = []
                done = asyncio.Event()

                async def listen(socket) -> None:
                    async for frame in socket:
                        if json.loads(frame).get("kind") == "waitlist.opening":
                            arrived.append(time.perf_counter())
                            if len(arrived) == count:
                                done.set()

                readers = [asyncio.create_task(listen(s)) for s in sockets]
                async with httpx.AsyncClient(base_url=base, timeout=120, cookies={
                        COOKIE: therapist_token}, headers={"X-CSRF-Token": "bench"}) as http:
                    began = time.perf_counter()
                    response = await http.post(f"/api/appointments/{session}/cancel", json={})
                    committed = time.perf_counter()
                assert response.status_code == 200, response.text
                await asyncio.wait_for(done.wait(), 120)
                deadline = time.perf_counter() + 300
                while len(counter.times) < count and time.perf_counter() < deadline:
                    await asyncio.sleep(0.05)
                for task in readers:
                    task.cancel()
                await asyncio.gather(*[s.close() for s in sockets], return_exceptions=True)
                live = max(arrived) - committed
                mail = max(counter.times) - committed
                print(f"{count} entries, {env_note}")
                print(f"cancel request (includes finding and recording every opening): "
                      f"{(committed - began) * 1000:.0f} ms")
                print(f"commit -> last live notice: {live * 1000:.0f} ms "
                      f"({len(arrived)} received)")
                print(f"commit -> last email handed to SMTP: {mail * 1000:.0f} ms "
                      f"({len(counter.times)} received)")
            finally:
                await stop(process)
                await conn.close()
        floor = await floor_run(count, 1e6)
        counter.times.clear()
        smtp_floor = await smtp_baseline(smtp_port, count)
        print(f"baseline, bare WebSocket push to {count} sockets: p99 {floor['p99']:.0f} ms "
              f"-> live notices {live * 1000 / max(floor['p99'], 0.001):.1f}x")
        print(f"baseline, aiosmtplib sending {count} mails on one connection: "
              f"{smtp_floor * 1000:.0f} ms -> outbox {mail / smtp_floor:.1f}x")
    finally:
        controller.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2000)
    asyncio.run(main(parser.parse_args().entries))
