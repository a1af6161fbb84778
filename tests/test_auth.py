"""Logging in and out, sessions and their timeouts, CSRF and throttling, on a real PostgreSQL."""
from __future__ import annotations

import httpx

from server.auth.sessions import COOKIE
from tests.support import assert_error, log_in


async def test_login_sets_a_private_cookie_and_me_answers(client, make_user):
    user = await make_user("client", ("therapy",))
    response = await client.post("/api/session",
                                 json={"email": user["email"].upper(), "password": user["password"]})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # the test portal's public URL is http
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    me = (await client.get("/api/me")).json()
    assert me["id"] == user["id"] and me["email"] == user["email"] and me["role"] == "client"
    assert [d["slug"] for d in me["divisions"]] == ["therapy"]


async def test_wrong_password_and_unknown_account_look_the_same(client, make_user):
    user = await make_user()
    wrong = await client.post("/api/session", json={"email": user["email"], "password": "nope"})
    unknown = await client.post("/api/session",
                                json={"email": "nobody@example.test", "password": "nope"})
    assert assert_error(wrong, 401, "invalid_credentials") == \
        assert_error(unknown, 401, "invalid_credentials")
    assert COOKIE not in wrong.headers.get("set-cookie", "")
    assert_error(await client.get("/api/me"), 401, "not_logged_in")


async def test_throttling_per_account_says_when_to_try_again(client, make_user, conn):
    user = await make_user()
    for _ in range(5):
        assert_error(await client.post("/api/session",
                                       json={"email": user["email"], "password": "wrong"}), 401)
    # Even the right password is refused while the account is locked.
    refused = await client.post("/api/session",
                                json={"email": user["email"], "password": user["password"]})
    error = assert_error(refused, 429, "too_many_attempts")
    seconds = int(refused.headers["Retry-After"])
    assert 890 <= seconds <= 900
    assert f"Try again in {seconds} s." in error["message"]
    # Refused attempts are not counted, so the lock ends on time.
    assert await conn.fetchval("SELECT count(*) FROM login_failures WHERE email_key = $1",
                               user["email"]) == 5
    # Once the window has passed, the account can log in again.
    await conn.execute("UPDATE login_failures SET at = at - interval '16 minutes' "
                       "WHERE email_key = $1", user["email"])
    await log_in(client, user["email"], user["password"])


async def test_throttling_caps_failures_well_under_100_an_hour(client, make_user, conn):
    user = await make_user()
    attempts = refused = 0
    # Simulate an hour of guessing in four 15-minute windows.
    for _ in range(4):
        for _ in range(30):
            response = await client.post("/api/session",
                                         json={"email": user["email"], "password": "guess"})
            attempts += 1
            refused += response.status_code == 429
        await conn.execute("UPDATE login_failures SET at = at - interval '15 minutes' "
                           "WHERE email_key = $1", user["email"])
    counted = await conn.fetchval("SELECT count(*) FROM login_failures WHERE email_key = $1",
                                  user["email"])
    assert counted == 20 and refused == attempts - 20


async def test_throttling_per_address(client, make_user, conn, portal):
    # Failures from one address spread over many accounts lock that address out.
    await conn.execute("INSERT INTO login_failures (email_key, ip) "
                       "SELECT 'spray' || g || '@example.test', '127.0.0.9' "
                       "FROM generate_series(1, $1) g", portal.settings.login_address_failures)
    user = await make_user()
    ok = await client.post("/api/session", json={"email": user["email"],
                                                 "password": user["password"]})
    assert ok.status_code == 200  # another address is not affected
    await conn.execute("UPDATE login_failures SET ip = '127.0.0.1' WHERE ip = '127.0.0.9'")
    try:
        refused = await client.post("/api/session", json={"email": user["email"],
                                                          "password": user["password"]})
        assert_error(refused, 429, "too_many_attempts")
    finally:
        await conn.execute("DELETE FROM login_failures WHERE ip = '127.0.0.1'")


async def test_idle_session_expires(client, make_user, conn):
    user = await make_user()
    await log_in(client, user["email"], user["password"])
    assert (await client.get("/api/me")).status_code == 200
    await conn.execute("UPDATE web_sessions SET last_seen_at = now() - interval '31 minutes' "
                       "WHERE user_id = $1", user["id"])
    assert_error(await client.get("/api/me"), 401, "not_logged_in")


async def test_activity_keeps_a_session_but_not_past_its_absolute_end(client, make_user, conn):
    user = await make_user()
    await log_in(client, user["email"], user["password"])
    await conn.execute("UPDATE web_sessions SET last_seen_at = now() - interval '29 minutes' "
                       "WHERE user_id = $1", user["id"])
    assert (await client.get("/api/me")).status_code == 200
    await conn.execute("UPDATE web_sessions SET expires_at = now() - interval '1 second' "
                       "WHERE user_id = $1", user["id"])
    assert_error(await client.get("/api/me"), 401, "not_logged_in")


async def test_absolute_timeout_is_twelve_hours(client, make_user, conn):
    user = await make_user()
    await log_in(client, user["email"], user["password"])
    hours = await conn.fetchval(
        "SELECT extract(epoch FROM expires_at - created_at) / 3600 FROM web_sessions "
        "WHERE user_id = $1", user["id"])
    assert round(hours) == 12


async def test_log_out_ends_the_session_on_the_server(client, make_user, conn):
    user = await make_user()
    await log_in(client, user["email"], user["password"])
    cookie = client.cookies.get(COOKIE)
    response = await client.delete("/api/session")
    assert response.status_code == 200
    assert await conn.fetchval("SELECT count(*) FROM web_sessions WHERE user_id = $1",
                               user["id"]) == 0
    # The old cookie, replayed, no longer works.
    async with httpx.AsyncClient(base_url=str(client.base_url), cookies={COOKIE: cookie}) as other:
        assert_error(await other.get("/api/me"), 401)


async def test_change_without_csrf_token_is_refused_and_changes_nothing(client, make_user, conn):
    therapist = await make_user("therapist", ("therapy", "education"))
    await log_in(client, therapist["email"], therapist["password"])
    before = await conn.fetchval("SELECT count(*) FROM time_off")
    body = {"first_day": "2031-01-05", "last_day": "2031-01-06", "note": "x", "public": True}
    token = client.headers.pop("X-CSRF-Token")
    assert_error(await client.post("/api/time-off", json=body), 403, "csrf_failed")
    assert_error(await client.post("/api/time-off", json=body,
                                   headers={"X-CSRF-Token": token[:-2] + "xx"}), 403, "csrf_failed")
    assert await conn.fetchval("SELECT count(*) FROM time_off") == before
    # With the token it goes through.
    assert (await client.post("/api/time-off", json=body,
                              headers={"X-CSRF-Token": token})).status_code == 201


async def test_cross_site_origin_is_refused_even_with_the_token(client, make_user, conn):
    therapist = await make_user("therapist", ("therapy",))
    await log_in(client, therapist["email"], therapist["password"])
    before = await conn.fetchval("SELECT count(*) FROM time_off")
    body = {"first_day": "2031-02-05", "last_day": "2031-02-05"}
    assert_error(await client.post("/api/time-off", json=body,
                                   headers={"Origin": "https://evil.example"}), 403, "csrf_failed")
    assert_error(await client.post("/api/time-off", json=body,
                                   headers={"Sec-Fetch-Site": "cross-site"}), 403, "csrf_failed")
    # A cross-site login form (login CSRF) is refused too.
    assert_error(await client.post("/api/session", json={"email": therapist["email"],
                                                         "password": therapist["password"]},
                                   headers={"Origin": "https://evil.example"}), 403)
    assert await conn.fetchval("SELECT count(*) FROM time_off") == before


async def test_session_endpoint_gives_api_clients_their_token(client, make_user):
    user = await make_user()
    login = await log_in(client, user["email"], user["password"])
    again = (await client.get("/api/session")).json()
    assert again["csrf_token"] == login["csrf_token"]
    assert again["user"]["email"] == user["email"]


async def test_secure_cookie_when_public_url_is_https():
    from starlette.responses import Response

    from server.auth.sessions import set_cookie
    from server.settings import Settings

    response = Response()
    set_cookie(response, "token", Settings(public_url="https://portal.example"))
    assert "Secure" in response.headers["set-cookie"]


async def test_passwords_are_stored_as_argon2id(conn, client, make_user):
    user = await make_user()
    stored = await conn.fetchval("SELECT password_hash FROM users WHERE id = $1", user["id"])
    assert stored.startswith("$argon2id$")
