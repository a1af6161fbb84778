"""Reminders: one email per session, before it, never twice, with no clinical content."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from scheduling import reminders
from tests.scheduling.conftest import local
from tests.support import text_of


async def test_one_reminder_per_session_even_with_two_nodes(clinic, conn, portal, mailbox):
    client, http = await clinic.new_client(name="Riley Remind")
    booked = (await http.post("/api/appointments", json={
        "start": local(3, 10).isoformat(), "session_type": "office", "length": 45})).json()
    later = (await http.post("/api/appointments", json={
        "start": local(9, 10).isoformat(), "session_type": "video", "length": 45})).json()
    # the first session comes within the reminder time (24 hours)
    soon = (await conn.fetchval("SELECT now()")) + timedelta(hours=20)
    await conn.execute(
        "UPDATE appointments SET starts_at = $2::timestamptz, "
        "ends_at = $2::timestamptz + interval '45 minutes', "
        "blocked_until = $2::timestamptz + interval '45 minutes' WHERE id = $1",
        booked["id"], soon)
    pool = portal.app.state.pool
    await asyncio.gather(reminders.send_due(pool, portal.settings),
                         reminders.send_due(pool, portal.settings))
    await reminders.send_due(pool, portal.settings)
    [message] = await mailbox.wait_for(client["email"])
    text = text_of(message)
    assert f"/sessions/{booked['id']}" in text and "office" not in text.lower()
    await asyncio.sleep(0.5)
    assert len(mailbox.to(client["email"])) == 1
    assert await conn.fetchval("SELECT reminder_sent_at IS NULL FROM appointments WHERE id = $1",
                               later["id"])
