"""The `portal` command as `make run` uses it: a real process serving within a minute."""
from __future__ import annotations

import asyncio
import os

import asyncpg
import httpx

from tests.support import PORTAL, start_portal, stop, wait_until_serving


async def test_portal_run_demo_serves_and_the_demo_client_logs_in(new_database):
    url = await new_database()
    for attempt in (1, 2):  # the second start finds everything in place
        process, base = await start_portal(url, "--demo")
        try:
            await wait_until_serving(base)
            async with httpx.AsyncClient(base_url=base) as http:
                assert "Riverside Counseling" in (await http.get("/")).text
                login = await http.post("/api/session", json={"email": "client@demo.test",
                                                              "password": "demo-client"})
                assert login.status_code == 200
                assert [d["name"] for d in login.json()["user"]["divisions"]] == ["Therapy"]
        finally:
            output = await stop(process)
        assert "client@demo.test / demo-client" in output
        assert ("Demo practice created." in output) == (attempt == 1)
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM users") == 3
    finally:
        await conn.close()


async def test_without_demo_mode_no_demo_accounts_exist(new_database):
    url = await new_database()
    process, base = await start_portal(url)
    try:
        await wait_until_serving(base)
        async with httpx.AsyncClient(base_url=base) as http:
            login = await http.post("/api/session", json={"email": "client@demo.test",
                                                          "password": "demo-client"})
            assert login.status_code == 401
    finally:
        output = await stop(process)
    assert "demo-client" not in output
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM users") == 0
    finally:
        await conn.close()


async def test_create_therapist_then_log_in(new_database):
    url = await new_database()
    env = {**os.environ, "DATABASE_URL": url}
    made = await asyncio.create_subprocess_exec(
        str(PORTAL), "create-therapist", "--email", "dr@example.test", "--name", "Dr. Who",
        "--password-stdin", env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await made.communicate(b"a strong passphrase\n")
    assert made.returncode == 0, output
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow("SELECT role, password_hash FROM users WHERE email = $1",
                                  "dr@example.test")
        assert row["role"] == "therapist" and row["password_hash"].startswith("$argon2id$")
        assert await conn.fetchval("SELECT count(*) FROM memberships") == 2
    finally:
        await conn.close()
