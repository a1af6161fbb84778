"""The page's live connection in a real browser: toast and badge, and no loss on reconnect."""
from __future__ import annotations

from playwright.async_api import expect

from server import events
from tests.conftest import PHONE


async def publish(portal, user_id: int, title: str) -> None:
    async with portal.app.state.pool.acquire() as conn, conn.transaction():
        await events.publish(conn, [user_id], "test.notice", {"title": title, "url": "/home"})


async def test_a_live_event_shows_a_toast_and_counts_in_the_badge(browser, portal, make_user):
    user = await make_user()
    context = await browser.new_context(**PHONE, base_url=portal.url)
    page = await context.new_page()
    try:
        await page.goto("/login")
        await page.get_by_label("Email").fill(user["email"])
        await page.get_by_label("Password").fill(user["password"])
        await page.get_by_role("button", name="Log In").click()
        await page.wait_for_url("**/home")
        await expect(page.locator("html")).to_have_attribute("data-live", "connected")
        await publish(portal, user["id"], "You have a new secure message")
        await expect(page.locator(".toast")).to_have_text("You have a new secure message")
        await expect(page.locator("[data-unread-badge]")).to_have_text("1")

        # The connection drops (a server restarting, a phone in a tunnel) and an event is
        # published before the page can reconnect: it arrives when the page resumes.
        hub = portal.app.state.hub
        [before] = hub.sockets[user["id"]]
        await before.websocket.close(code=1012)
        await publish(portal, user["id"], "Your appointment was moved")
        await expect(page.locator("[data-unread-badge]")).to_have_text("2", timeout=20_000)
        await expect(page.locator(".toast").last).to_have_text("Your appointment was moved")
        [after] = hub.sockets[user["id"]]
        assert after is not before
    finally:
        await context.close()
