"""The video room in two real Chromiums with fake cameras: a client on a phone and the
therapist on a desktop, on one node and on two."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest_asyncio
from playwright.async_api import Page, expect

from tests.conftest import DESKTOP, PHONE
from tests.support import eventually, start_portal, stop, wait_until_serving


@pytest_asyncio.fixture
async def video_session(conn, make_user):
    client = await make_user("client", ("therapy",), name="Casey Client")
    therapist = await make_user("therapist", ("therapy",), name="Dr. Tess Therapist")
    starts = datetime.now(timezone.utc) + timedelta(minutes=10)
    appointment_id = await conn.fetchval(
        """INSERT INTO appointments (clinician_id, client_id, division_id, session_type,
               starts_at, ends_at, blocked_until)
           VALUES ($1, $2, (SELECT id FROM divisions WHERE slug = 'therapy'), 'video', $3, $4, $4)
           RETURNING id""", therapist["id"], client["id"], starts, starts + timedelta(minutes=50))
    return {"id": appointment_id, "client": client, "therapist": therapist}


async def logged_in_page(browser, base_url: str, user: dict, device: dict) -> Page:
    context = await browser.new_context(**device, base_url=base_url)
    page = await context.new_page()
    page.on("console", lambda m: print(user["role"], m.type, m.text))
    await page.goto("/login")
    await page.get_by_label("Email").fill(user["email"])
    await page.get_by_label("Password").fill(user["password"])
    await page.get_by_role("button", name="Log In").click()
    await page.wait_for_url("**/home" if user["role"] == "client" else "**/dashboard")
    return page


async def enter_room(page: Page) -> None:
    """The pre-check runs by itself; "Continue" enters the room."""
    await expect(page.locator("#video-page")).to_have_attribute("data-precheck", "done",
                                                               timeout=20_000)
    await expect(page.locator("#check-verdict")).to_be_visible()
    await page.get_by_role("button", name="Continue").click()
    await expect(page.locator("#room")).to_be_visible()


async def stats(page: Page) -> dict:
    return await page.evaluate("window.portalVideo.stats()")


async def frames_grow(page: Page, within: float = 20) -> int:
    """framesDecoded of the remote video grows (so frames keep arriving and decoding)."""
    deadline = asyncio.get_running_loop().time() + within
    first = None
    while asyncio.get_running_loop().time() < deadline:
        now = (await stats(page))["framesDecoded"]
        if first is None and now > 0:
            first = now
        elif first is not None and now >= first + 10:
            return now
        await asyncio.sleep(0.25)
    raise AssertionError(f"remote frames did not grow: {await stats(page)}")


async def test_client_on_a_phone_and_therapist_on_a_desktop_meet(browser, portal, video_session):
    client = await logged_in_page(browser, portal.url, video_session["client"], PHONE)
    therapist = await logged_in_page(browser, portal.url, video_session["therapist"], DESKTOP)
    try:
        # Home -> the session -> "Start Video Session"
        await client.locator(f'a[href="/sessions/{video_session["id"]}"]').first.click()
        await client.wait_for_url(f"**/sessions/{video_session['id']}")
        await client.get_by_role("link", name="Start Video Session").click()
        await client.wait_for_url(f"**/sessions/{video_session['id']}/video")
        await expect(client.locator("#check-step")).to_be_visible()
        await enter_room(client)
        await expect(client.locator("#waiting")).to_be_visible()

        await therapist.goto(f"/sessions/{video_session['id']}/video")
        # The therapist sees the client's check beside the session.
        await expect(therapist.locator("#client-check")).to_contain_text("Casey Client's last check")
        await enter_room(therapist)

        # The client hears the ding and sees the notice when the therapist arrives.
        await expect(client.locator("#video-page")).to_have_attribute("data-dings", "1")
        await expect(client.locator("#room-notice")).to_contain_text("Dr. Tess Therapist has joined")
        await asyncio.gather(frames_grow(client), frames_grow(therapist))
        await expect(client.locator("#waiting")).to_be_hidden()

        # Reload restores the call without leaving.
        await client.get_by_role("button", name="Reload the video connection").click()
        await asyncio.gather(frames_grow(client), frames_grow(therapist))

        # Low quality caps the client's sender.
        assert (await stats(client))["maxBitrate"] is None
        await client.get_by_role("button", name="Settings").click()
        await client.get_by_label("Low").check()
        await client.get_by_role("button", name="Close").click()
        await expect(client.locator("#video-page")).to_have_attribute("data-quality", "low")
        assert (await stats(client))["maxBitrate"] == 250_000

        # Leaving: the other side is told, with the ding.
        await therapist.get_by_role("button", name="Leave").click()
        await expect(client.locator("#room-notice")).to_contain_text("has left")
        await expect(client.locator("#video-page")).to_have_attribute("data-dings", "2")
    finally:
        await client.context.close()
        await therapist.context.close()


async def test_participants_on_two_nodes_see_each_other(browser, portal, database_url,
                                                       video_session):
    process, node_b = await start_portal(database_url)
    try:
        await wait_until_serving(node_b)
        client = await logged_in_page(browser, portal.url, video_session["client"], PHONE)
        therapist = await logged_in_page(browser, node_b, video_session["therapist"], DESKTOP)
        try:
            await client.goto(f"/sessions/{video_session['id']}/video")
            await therapist.goto(f"/sessions/{video_session['id']}/video")
            await enter_room(client)
            await enter_room(therapist)
            await asyncio.gather(frames_grow(client), frames_grow(therapist))
        finally:
            await client.context.close()
            await therapist.context.close()
    finally:
        await stop(process)


async def test_when_no_direct_path_works_both_are_relayed_through_the_server(browser, portal,
                                                                           video_session):
    portal.settings.video_relay = "fallback"
    client = await logged_in_page(browser, portal.url, video_session["client"], PHONE)
    therapist = await logged_in_page(browser, portal.url, video_session["therapist"], DESKTOP)
    try:
        for page in (client, therapist):
            await page.goto(f"/sessions/{video_session['id']}/video")
            await enter_room(page)
        await asyncio.gather(frames_grow(client), frames_grow(therapist))
        await expect(client.locator("#relay-note")).to_be_hidden()
        # What a failed direct connection does (ICE "failed" or nothing after 15 s):
        await client.evaluate("window.portalVideo.fallBack()")
        for page in (client, therapist):
            await expect(page.get_by_text("Relayed through the practice's server")).to_be_visible()
        await asyncio.gather(frames_grow(client), frames_grow(therapist))
        assert (await stats(client))["relay"] and (await stats(therapist))["relay"]
        room = portal.app.state.relay.rooms[video_session["id"]]
        assert len(room.peers) == 2
        # Low also caps the server's encoder towards this browser.
        await client.get_by_role("button", name="Settings").click()
        await client.get_by_label("Low").check()
        await client.get_by_role("button", name="Close").click()
        peer_id = await client.evaluate("window.portalVideo.peerId")
        await eventually(lambda: room.peers[peer_id].encoder.cap == 250_000, interval=0.1)
        assert room.peers[peer_id].encoder.cap == 250_000
        assert (await stats(client))["maxBitrate"] == 250_000
    finally:
        portal.settings.video_relay = "off"
        await client.context.close()
        await therapist.context.close()
