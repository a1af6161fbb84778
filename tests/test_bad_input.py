"""Every endpoint, fed bad input, answers 4xx with the error body and changes nothing.

The endpoints come from the OpenAPI document, so a new endpoint is walked as soon as it exists;
one with a body needs a valid example below, from which the bad variants are made.
"""
from __future__ import annotations

import pytest

from tests.support import assert_error, log_in

# A valid body per endpoint; each test varies one thing.
EXAMPLES = {
    ("post", "/api/session"): {"email": "someone@example.test", "password": "secret secret"},
    ("post", "/api/password-reset"): {"email": "someone@example.test"},
    ("post", "/api/password"): {"token": "abc", "password": "a long enough password"},
    ("put", "/api/session/division"): {"division_id": 1},
    ("post", "/api/clients"): {"email": "new@example.test", "name": "N", "division_ids": [1]},
    ("put", "/api/practice"): {"name": "P", "welcome_title": "W", "welcome_text": "",
                               "crisis_text": "", "timezone": "UTC",
                               "crisis_numbers": [{"label": "L", "number": "1"}]},
    ("post", "/api/time-off"): {"first_day": "2031-01-01", "last_day": "2031-01-02"},
    ("post", "/api/appointments/{id}/video/precheck"): {"sdp": "v=0 an offer"},
    ("post", "/api/appointments/{id}/video/checks"): {
        "camera": True, "microphone": True, "download_kbps": 4000, "upload_kbps": 2000,
        "rtt_ms": 40, "jitter_ms": 3, "loss_pct": 0, "duration_ms": 4200},
    ("put", "/api/booking-rules"): {
        "window_days": 21, "slot_step_minutes": 15, "buffer_minutes": 0,
        "lengths": [15, 30, 45, 60], "cancel_cutoff_hours": 24, "max_upcoming": 4,
        "reminder_hours": 24, "session_types": {
            t: {"notice_hours": 24, "same_day": False} for t in ("phone", "video", "office")}},
    ("post", "/api/availability"): {"weekday": 0, "starts": "09:00", "ends": "12:00",
                                    "session_types": ["video"], "division_ids": [1]},
    ("post", "/api/appointments"): {"start": "2031-01-06T10:00:00-05:00",
                                    "session_type": "video", "length": 60},
    ("post", "/api/appointments/{id}/cancel"): {"late": False},
    ("post", "/api/appointments/{id}/move"): {"start": "2031-01-06T10:00:00-05:00"},
    ("post", "/api/appointments/{id}/status"): {"status": "attended"},
    ("post", "/api/waitlist"): {"session_type": "video", "length": 60, "keep_for": "2w"},
    ("post", "/api/waitlist/{id}/extend"): {"keep_for": "1m"},
    ("post", "/api/threads"): {"subject": "A question", "body": "Hello"},
    ("post", "/api/threads/{id}/messages"): {"body": "Hello"},
    ("put", "/api/message-settings"): {"days": [0, 1], "opens": "09:00", "closes": "17:00",
                                       "reply_within_days": 1},
    ("put", "/api/message-alerts"): {"digest_hours": 4, "quiet_from": "19:00",
                                     "quiet_until": "08:00"},
}
# Tables whose content must not change; sessions, login failures and the audit log record the
# attempts themselves.
WATCHED = ["practice", "divisions", "users", "memberships", "account_tokens", "outbox",
           "time_off", "booking_rules", "session_type_rules", "availability", "appointments",
           "calendar_feeds", "events", "waitlist_entries", "waitlist_notices",
           "message_threads", "messages", "message_reads", "message_attachments",
           "message_settings", "message_alert_prefs", "message_alerts_sent"]
UNKNOWN_IDS = ["0", "987654321", str(2**63 + 7), "abc", "-1"]


async def snapshot(conn) -> dict:
    return {t: await conn.fetchval(
        f"SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM {t} x")
        for t in WATCHED}


@pytest.fixture
async def as_role(client, make_user):
    """Log the client in with the role an endpoint needs."""
    async def login(auth_description: str | None) -> None:
        if auth_description is None:
            return
        role = "therapist" if "therapist" in auth_description else "client"
        user = await make_user(role, ("therapy", "education"))
        await log_in(client, user["email"], user["password"])
    return login


async def endpoints(client):
    doc = (await client.get("/api/openapi.json")).json()
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            yield path, method, op, doc


def schema_of(op: dict, doc: dict) -> dict:
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]]


def fill_path(path: str, value: str = "1") -> str:
    return path.replace("{id}", value)


async def test_every_body_endpoint_has_an_example(client):
    missing = [(m, p) async for p, m, op, _ in endpoints(client)
               if "requestBody" in op and (m, p) not in EXAMPLES]
    assert missing == []


async def test_malformed_and_missing_bodies(client, conn, as_role):
    async for path, method, op, doc in endpoints(client):
        if "requestBody" not in op:
            continue
        await as_role(op.get("description"))
        before = await snapshot(conn)
        url = fill_path(path)
        for raw in (b"{not json", b"[1, 2]", b"\xff\xfe", b'"text"'):
            response = await client.request(method, url, content=raw,
                                            headers={"Content-Type": "application/json"})
            assert_error(response, 400, "malformed_json")
        assert_error(await client.request(method, url, content=b"{" + b" " * 70_000 + b"}"), 413)
        example = EXAMPLES[(method, path)]
        for name in schema_of(op, doc).get("required", []):
            body = {k: v for k, v in example.items() if k != name}
            assert_error(await client.request(method, url, json=body), 422, "missing", name)
        assert await snapshot(conn) == before, (method, path)
        await client.delete("/api/session")


async def test_wrong_types_and_over_long_strings(client, conn, as_role):
    async for path, method, op, doc in endpoints(client):
        if "requestBody" not in op:
            continue
        await as_role(op.get("description"))
        before = await snapshot(conn)
        url = fill_path(path)
        example = EXAMPLES[(method, path)]
        properties = schema_of(op, doc)["properties"]
        for name, prop in properties.items():
            for wrong in ({"nested": True}, [[1]]):
                response = await client.request(method, url, json={**example, name: wrong})
                error = assert_error(response, 422, "invalid")
                assert error["field"].split(".")[0] == name, (method, path, error)
            limit = prop.get("maxLength")
            if limit:
                response = await client.request(method, url,
                                                json={**example, name: "x" * (limit + 1)})
                error = assert_error(response, 422)
                assert error["field"] == name, (method, path, error)
        assert await snapshot(conn) == before, (method, path)
        await client.delete("/api/session")


async def test_unknown_ids(client, conn, as_role):
    walked = 0
    async for path, method, op, doc in endpoints(client):
        if "{id}" not in path:
            continue
        await as_role(op.get("description"))
        before = await snapshot(conn)
        body = EXAMPLES.get((method, path))
        for value in UNKNOWN_IDS:
            response = await client.request(method, fill_path(path, value), json=body)
            assert_error(response, 404, "not_found")
        assert await snapshot(conn) == before
        walked += 1
        await client.delete("/api/session")
    assert walked > 0


async def test_endpoints_refuse_callers_who_are_not_logged_in(client, conn):
    before = await snapshot(conn)
    async for path, method, op, doc in endpoints(client):
        if "security" not in op:
            continue
        body = EXAMPLES.get((method, path))
        assert_error(await client.request(method, fill_path(path), json=body), 401,
                     "not_logged_in")
    assert await snapshot(conn) == before
