"""The outbox worker against a real SMTP server: retries, no duplicates, permanent failures."""
from __future__ import annotations

import asyncio
from collections import Counter

import asyncpg
import pytest_asyncio
from aiosmtpd.controller import Controller

from server import db, mail
from server.local_mail import free_port
from server.settings import Settings
from tests.support import Mailbox, log_in


@pytest_asyncio.fixture
async def outbox_db(new_database):
    """A database of its own, so that the running portal's worker does not take these rows."""
    url = await new_database()
    pool = await db.create_pool(url)
    async with pool.acquire() as conn:
        await db.migrate(conn)
    yield pool
    await pool.close()


async def queue(pool: asyncpg.Pool, count: int) -> list[str]:
    addresses = [f"person{n}@example.test" for n in range(count)]
    async with pool.acquire() as conn, conn.transaction():
        for address in addresses:
            await mail.enqueue(conn, address, "Reset your portal password", "password_reset",
                               name="Person", practice_name="Practice", link="http://x/reset/t")
    return addresses


def worker(pool: asyncpg.Pool, port: int) -> mail.OutboxWorker:
    return mail.OutboxWorker(pool, Settings(smtp_host="127.0.0.1", smtp_port=port,
                                            mail_retry_seconds=0.1, mail_poll_seconds=0.05))


async def run_until(condition, workers, timeout: float = 30) -> None:
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            assert asyncio.get_running_loop().time() < deadline, "timed out"
            await asyncio.sleep(0.05)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_smtp_down_then_up_delivers_all_fifty_once(outbox_db):
    addresses = await queue(outbox_db, 50)
    port = free_port()  # nothing listens here yet: SMTP is down
    down = worker(outbox_db, port)
    for _ in range(40):  # until every row has failed at least twice
        await down.send_due()
        if await outbox_db.fetchval("SELECT min(attempts) FROM outbox") >= 2:
            break
        await asyncio.sleep(0.1)
    state = await outbox_db.fetchrow(
        "SELECT count(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL) AS waiting,"
        " min(attempts) AS attempts, bool_and(last_error IS NOT NULL) AS errors FROM outbox")
    assert state["waiting"] == 50 and state["attempts"] >= 2 and state["errors"]

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        await run_until(lambda: len(box.messages) >= 50, [down])
        await asyncio.sleep(0.3)  # room for a duplicate to show up, were there one
    finally:
        controller.stop()
    assert sorted(m["To"] for m in box.messages) == sorted(addresses)
    assert len({m["Message-ID"] for m in box.messages}) == 50
    assert await outbox_db.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0


async def test_two_workers_at_once_never_send_a_row_twice(new_database):
    url = await new_database()
    pools = [await db.create_pool(url) for _ in range(2)]
    async with pools[0].acquire() as conn:
        await db.migrate(conn)
    await queue(pools[0], 50)
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        workers = [worker(pool, controller.port) for pool in pools]
        await run_until(lambda: len(box.messages) >= 50, workers)
        await asyncio.sleep(0.3)
    finally:
        controller.stop()
        for pool in pools:
            await pool.close()
    counts = Counter(m["To"] for m in box.messages)
    assert len(counts) == 50 and set(counts.values()) == {1}


class Refuses:
    async def handle_DATA(self, server, session, envelope):
        return "550 5.1.1 Mailbox unavailable"


async def test_a_permanent_refusal_is_marked_and_not_retried(outbox_db):
    await queue(outbox_db, 1)
    controller = Controller(Refuses(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        w = worker(outbox_db, controller.port)
        assert await w.send_due() == 1
        await asyncio.sleep(0.3)
        assert await w.send_due() == 0
    finally:
        controller.stop()
    row = await outbox_db.fetchrow("SELECT * FROM outbox")
    assert row["failed_at"] is not None and row["sent_at"] is None and row["attempts"] == 1
    assert row["last_error"].startswith("550")


def test_backoff_doubles_and_is_capped():
    assert [mail.backoff_seconds(n) for n in (1, 2, 3)] == [30, 60, 120]
    assert mail.backoff_seconds(20) == mail.BACKOFF_CAP_SECONDS


async def test_mail_carries_a_link_and_no_more(client, make_user, mailbox):
    user = await make_user()
    await client.post("/api/password-reset", json={"email": user["email"]})
    [message] = await mailbox.wait_for(user["email"])
    assert message["Message-ID"] and message["From"] == "portal@example.test"
    kinds = {part.get_content_type() for part in message.walk()}
    assert {"text/plain", "text/html"} <= kinds


async def test_the_therapist_reads_sent_mail_and_a_client_cannot(client, make_user, mailbox):
    someone = await make_user()
    await client.post("/api/password-reset", json={"email": someone["email"]})
    await mailbox.wait_for(someone["email"])
    therapist = await make_user("therapist")
    await log_in(client, therapist["email"], therapist["password"])
    page = await client.get("/sent-mail")
    assert page.status_code == 200
    assert f"to {someone['email']}" in page.text and "Reset your portal password" in page.text
    await client.delete("/api/session")
    await log_in(client, someone["email"], someone["password"])
    response = await client.get("/sent-mail", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/home"
