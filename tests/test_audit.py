"""The audit log: written by the server, readable by the right people, never editable."""
from __future__ import annotations

import asyncpg
import pytest

from tests.support import assert_error, log_in


async def test_logins_are_audited_with_who_when_and_where(client, make_user, conn):
    user = await make_user()
    await client.post("/api/session", json={"email": user["email"], "password": "wrong"})
    await log_in(client, user["email"], user["password"])
    rows = await conn.fetch("SELECT * FROM audit_log WHERE subject_user_id = $1 ORDER BY id",
                            user["id"])
    assert [r["action"] for r in rows] == ["login_failed", "login"]
    assert rows[1]["actor_id"] == user["id"] and str(rows[1]["ip"]) == "127.0.0.1"
    assert rows[1]["user_agent"].startswith("python-httpx")


async def test_a_client_reads_only_entries_about_themselves(client, make_user):
    me = await make_user()
    other = await make_user()
    await log_in(client, other["email"], other["password"])
    await client.delete("/api/session")
    await log_in(client, me["email"], me["password"])
    entries = (await client.get("/api/audit")).json()["entries"]
    assert entries, "the client's own login is listed"
    assert all(me["id"] in (e["subject_user_id"], e["actor_id"]) for e in entries)
    assert all(e["subject_email"] != other["email"] for e in entries)


async def test_the_therapist_reads_everyone(client, make_user):
    someone = await make_user()
    await log_in(client, someone["email"], someone["password"])
    await client.delete("/api/session")
    therapist = await make_user("therapist")
    await log_in(client, therapist["email"], therapist["password"])
    entries = (await client.get("/api/audit", params={"limit": 500})).json()["entries"]
    assert any(e["subject_user_id"] == someone["id"] and e["action"] == "login" for e in entries)
    assert_error(await client.get("/api/audit", params={"limit": "lots"}), 422, field="limit")


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET action = 'nothing'",
    "DELETE FROM audit_log",
    "TRUNCATE audit_log",
])
async def test_nothing_can_edit_the_log(conn, client, statement):
    before = await conn.fetchval("SELECT count(*) FROM audit_log")
    assert before > 0
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute(statement)
    assert await conn.fetchval("SELECT count(*) FROM audit_log") == before
    assert_error(await client.delete("/api/audit"), 405)
