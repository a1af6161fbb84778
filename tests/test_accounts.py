"""Password reset and invitations through a real SMTP server; divisions kept apart."""
from __future__ import annotations

import httpx

from tests.support import assert_error, link_in, log_in, text_of, unique_email


async def test_password_reset_by_emailed_one_time_link(client, make_user, mailbox, conn, portal):
    user = await make_user()
    await log_in(client, user["email"], user["password"])  # a session the reset must end
    response = await client.post("/api/password-reset", json={"email": user["email"]})
    assert response.status_code == 202
    [message] = await mailbox.wait_for(user["email"])
    link = link_in(message)
    assert link.startswith(f"{portal.url}/reset/")
    token = link.rsplit("/", 1)[1]

    async with httpx.AsyncClient(base_url=portal.url) as browser:
        page = await browser.get(f"/reset/{token}")
        assert page.status_code == 200 and "Choose a new password" in page.text
        assert_error(await browser.post("/api/password", json={"token": token, "password": "short"}),
                     422, "weak_password", "password")
        done = await browser.post("/api/password",
                                  json={"token": token, "password": "a brand new passphrase"})
        assert done.status_code == 200 and done.json()["user"]["email"] == user["email"]
        # The link works once.
        assert_error(await browser.post("/api/password",
                                        json={"token": token, "password": "another passphrase"}),
                     400, "invalid_link", "token")
        assert (await browser.get(f"/reset/{token}")).status_code == 410
    # The old session ended; the old password no longer works, the new one does.
    assert_error(await client.get("/api/me"), 401)
    assert_error(await client.post("/api/session", json={"email": user["email"],
                                                         "password": user["password"]}), 401)
    await log_in(client, user["email"], "a brand new passphrase")


async def test_reset_for_unknown_address_answers_the_same_and_sends_nothing(client, mailbox, conn):
    address = unique_email("ghost")
    response = await client.post("/api/password-reset", json={"email": address})
    assert response.status_code == 202
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE to_addr = $1", address) == 0


async def test_expired_reset_link_is_refused(client, make_user, mailbox, conn):
    user = await make_user()
    await client.post("/api/password-reset", json={"email": user["email"]})
    token = link_in((await mailbox.wait_for(user["email"]))[0]).rsplit("/", 1)[1]
    await conn.execute("UPDATE account_tokens SET expires_at = now() - interval '1 second' "
                       "WHERE user_id = $1", user["id"])
    assert_error(await client.post("/api/password", json={"token": token,
                                                          "password": "a brand new passphrase"}),
                 400, "invalid_link")
    hash_now = await conn.fetchval("SELECT password_hash FROM users WHERE id = $1", user["id"])
    await log_in(client, user["email"], user["password"])
    assert hash_now == await conn.fetchval("SELECT password_hash FROM users WHERE id = $1",
                                           user["id"])


async def test_reset_mails_are_limited_per_hour(client, make_user, mailbox):
    user = await make_user()
    for _ in range(5):
        assert (await client.post("/api/password-reset",
                                  json={"email": user["email"]})).status_code == 202
    await mailbox.wait_for(user["email"], 3)
    assert len(mailbox.to(user["email"])) == 3


async def test_therapist_invites_a_client_who_sets_a_password(client, make_user, mailbox, portal):
    therapist = await make_user("therapist", ("therapy", "education"))
    await log_in(client, therapist["email"], therapist["password"])
    me = (await client.get("/api/me")).json()
    education = next(d["id"] for d in me["divisions"] if d["slug"] == "education")
    address = unique_email("invitee")
    created = await client.post("/api/clients", json={
        "email": address, "name": "New Client", "division_ids": [education]})
    assert created.status_code == 201, created.text
    assert created.json()["invited"] is True and created.json()["division_ids"] == [education]
    [message] = await mailbox.wait_for(address)
    assert "invites you" in text_of(message)
    token = link_in(message).rsplit("/", 1)[1]
    async with httpx.AsyncClient(base_url=portal.url) as newcomer:
        page = await newcomer.get(f"/invite/{token}")
        assert "Welcome, New Client" in page.text
        # Before setting a password, the account cannot log in.
        assert_error(await newcomer.post("/api/session",
                                         json={"email": address, "password": "anything at all"}),
                     401)
        done = await newcomer.post("/api/password",
                                   json={"token": token, "password": "my own passphrase"})
        assert done.status_code == 200
        me = (await newcomer.get("/api/me")).json()
        assert me["role"] == "client" and [d["slug"] for d in me["divisions"]] == ["education"]


async def test_invite_refuses_duplicates_and_foreign_divisions(client, make_user, conn):
    therapist = await make_user("therapist", ("therapy",))
    other = await make_user("client", ("therapy",))
    await log_in(client, therapist["email"], therapist["password"])
    therapy, education = [await conn.fetchval("SELECT id FROM divisions WHERE slug = $1", s)
                          for s in ("therapy", "education")]
    before = await conn.fetchval("SELECT count(*) FROM users")
    assert_error(await client.post("/api/clients", json={
        "email": other["email"].upper(), "name": "Copy", "division_ids": [therapy]}),
        409, "email_taken", "email")
    assert_error(await client.post("/api/clients", json={
        "email": unique_email(), "name": "Elsewhere", "division_ids": [education]}),
        422, "invalid", "division_ids")
    assert await conn.fetchval("SELECT count(*) FROM users") == before


async def test_a_client_cannot_invite_or_list_clients(client, make_user, conn):
    user = await make_user("client", ("therapy",))
    await log_in(client, user["email"], user["password"])
    therapy = await conn.fetchval("SELECT id FROM divisions WHERE slug = 'therapy'")
    assert_error(await client.post("/api/clients", json={
        "email": unique_email(), "name": "X", "division_ids": [therapy]}), 403, "forbidden")
    assert_error(await client.get("/api/clients"), 403, "forbidden")


async def test_division_clients_stay_apart(client, make_user, conn):
    therapist = await make_user("therapist", ("therapy", "education"))
    in_therapy = await make_user("client", ("therapy",), name="Therapy Only")
    in_education = await make_user("client", ("education",), name="Education Only")
    await log_in(client, therapist["email"], therapist["password"])
    me = (await client.get("/api/me")).json()
    ids = {d["slug"]: d["id"] for d in me["divisions"]}
    therapy_list = (await client.get("/api/clients", params={"division_id": ids["therapy"]})).json()
    education_list = (await client.get("/api/clients",
                                       params={"division_id": ids["education"]})).json()
    therapy_ids = {c["id"] for c in therapy_list["clients"]}
    education_ids = {c["id"] for c in education_list["clients"]}
    assert in_therapy["id"] in therapy_ids and in_therapy["id"] not in education_ids
    assert in_education["id"] in education_ids and in_education["id"] not in therapy_ids
    # The active division decides the default list; switching changes it.
    switched = await client.put("/api/session/division", json={"division_id": ids["education"]})
    assert switched.json()["division_id"] == ids["education"]
    default = {c["id"] for c in (await client.get("/api/clients")).json()["clients"]}
    assert default == education_ids


async def test_a_client_of_one_division_never_sees_the_other(client, make_user, conn):
    student = await make_user("client", ("education",))
    await log_in(client, student["email"], student["password"])
    me = (await client.get("/api/me")).json()
    assert [d["slug"] for d in me["divisions"]] == ["education"]
    therapy = await conn.fetchval("SELECT id FROM divisions WHERE slug = 'therapy'")
    assert_error(await client.put("/api/session/division", json={"division_id": therapy}), 404)
    divisions = (await client.get("/api/divisions")).json()
    assert [d["slug"] for d in divisions["divisions"]] == ["education"]
    # A therapist limited to one division cannot list the other's clients either.
    therapist = await make_user("therapist", ("therapy",))
    await client.delete("/api/session")
    await log_in(client, therapist["email"], therapist["password"])
    education = await conn.fetchval("SELECT id FROM divisions WHERE slug = 'education'")
    assert_error(await client.get("/api/clients", params={"division_id": education}), 404)
