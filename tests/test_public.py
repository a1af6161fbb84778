"""The public area: Welcome with out-of-office dates, Crisis, /schedule, the API document."""
from __future__ import annotations

from tests.support import assert_error, log_in


async def test_welcome_shows_public_time_off_only(client, make_user):
    therapist = await make_user("therapist")
    await log_in(client, therapist["email"], therapist["password"])
    public = await client.post("/api/time-off", json={
        "first_day": "2031-03-10", "last_day": "2031-03-12", "note": "At a conference",
        "public": True})
    private = await client.post("/api/time-off", json={
        "first_day": "2031-04-01", "last_day": "2031-04-01", "note": "Dentist",
        "public": False})
    assert public.status_code == private.status_code == 201
    assert public.json()["first_day"] == "2031-03-10" and public.json()["last_day"] == "2031-03-12"
    await client.delete("/api/session")
    page = (await client.get("/")).text
    assert "Monday, March 10, 2031 – Wednesday, March 12, 2031" in page
    assert "At a conference" in page
    assert "Dentist" not in page and "April 1, 2031" not in page


async def test_time_off_is_removed_only_by_its_owner(client, make_user, conn):
    owner = await make_user("therapist")
    other = await make_user("therapist")
    await log_in(client, owner["email"], owner["password"])
    entry = (await client.post("/api/time-off", json={
        "first_day": "2031-05-04", "last_day": "2031-05-04", "public": True})).json()
    await client.delete("/api/session")
    await log_in(client, other["email"], other["password"])
    assert_error(await client.delete(f"/api/time-off/{entry['id']}"), 404, "not_found")
    assert await conn.fetchval("SELECT count(*) FROM time_off WHERE id = $1", entry["id"]) == 1
    await client.delete("/api/session")
    await log_in(client, owner["email"], owner["password"])
    assert (await client.delete(f"/api/time-off/{entry['id']}")).status_code == 200
    assert "May 4, 2031" not in (await client.get("/")).text


async def test_crisis_page_has_the_numbers(client):
    page = await client.get("/crisis")
    assert page.status_code == 200
    assert 'href="tel:988"' in page.text and 'href="tel:911"' in page.text


async def test_therapist_edits_the_public_texts(client, make_user, conn):
    therapist = await make_user("therapist")
    await log_in(client, therapist["email"], therapist["password"])
    original = (await client.get("/api/practice")).json()
    try:
        changed = {**original, "welcome_title": "Hello from the practice",
                   "crisis_numbers": [{"label": "County crisis team", "number": "555-0199"}]}
        response = await client.put("/api/practice", json=changed)
        assert response.status_code == 200, response.text
        assert "Hello from the practice" in (await client.get("/")).text
        crisis = (await client.get("/crisis")).text
        assert "County crisis team" in crisis and 'tel:555-0199' in crisis
        assert_error(await client.put("/api/practice", json={**changed, "timezone": "Mars/Base"}),
                     422, field="timezone")
        assert_error(await client.put("/api/practice", json={**changed, "crisis_numbers": []}),
                     422, field="crisis_numbers")
    finally:
        assert (await client.put("/api/practice", json=original)).status_code == 200


async def test_a_client_cannot_edit_public_texts(client, make_user):
    user = await make_user()
    await log_in(client, user["email"], user["password"])
    practice = (await client.get("/api/practice")).json()
    assert_error(await client.put("/api/practice", json={**practice, "name": "Hijacked"}),
                 403, "forbidden")
    assert "Hijacked" not in (await client.get("/")).text


async def test_schedule_leads_to_login_or_home(client, make_user):
    response = await client.get("/schedule", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    login = await client.get("/login")
    assert "<h1>Log In</h1>" in login.text
    user = await make_user()
    await log_in(client, user["email"], user["password"])
    response = await client.get("/schedule", follow_redirects=False)
    assert response.headers["location"] == "/home"


async def test_portal_pages_need_a_login(client, make_user):
    for path in ("/home", "/calendar", "/messages", "/billing", "/notes", "/files", "/journal",
                 "/dashboard", "/audit"):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    user = await make_user()
    await log_in(client, user["email"], user["password"])
    home = await client.get("/home")
    for label in ("Home", "Calendar", "Messages", "Billing", "Notes", "Files", "Journal"):
        assert f">{label}</a>" in home.text
    # A client is sent away from the therapist's pages.
    response = await client.get("/dashboard", follow_redirects=False)
    assert response.headers["location"] == "/home"


async def test_login_page_does_not_redirect_off_site(client, make_user):
    user = await make_user()
    await log_in(client, user["email"], user["password"])
    response = await client.get("/login", params={"next": "//evil.example/x"},
                                follow_redirects=False)
    assert response.headers["location"] == "/home"
    response = await client.get("/login", params={"next": "/billing"}, follow_redirects=False)
    assert response.headers["location"] == "/billing"


async def test_openapi_document_lists_the_api(client):
    doc = (await client.get("/api/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    for path, method in [("/api/session", "post"), ("/api/session", "delete"),
                         ("/api/me", "get"), ("/api/clients", "post"),
                         ("/api/time-off/{id}", "delete")]:
        assert method in doc["paths"][path]
    login = doc["paths"]["/api/session"]["post"]["requestBody"]
    assert login["content"]["application/json"]["schema"]["$ref"].endswith("/Credentials")
    assert "X-CSRF-Token" in doc["info"]["description"]


async def test_security_headers_and_unknown_pages(client):
    response = await client.get("/")
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert (await client.get("/no-such-page")).status_code == 404
    assert_error(await client.get("/api/no-such-thing"), 404, "not_found")
