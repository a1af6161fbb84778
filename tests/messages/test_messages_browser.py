"""Messages in Chromium: a client on a phone and the therapist on a desktop, both live."""
from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect

from tests.conftest import DESKTOP, PHONE


async def open_logged_in(browser: Browser, portal, device: dict, user: dict, lands_on: str,
                         problems: list[str]) -> Page:
    """A page of its own browser context, logged in through the form; script errors and CSP
    violations end up in `problems`."""
    context = await browser.new_context(**device, base_url=portal.url)
    page = await context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    await page.goto("/login")
    await page.get_by_label("Email").fill(user["email"])
    await page.get_by_label("Password").fill(user["password"])
    await page.get_by_role("button", name="Log In", exact=True).click()
    await page.wait_for_url(f"**{lands_on}")
    await expect(page.locator("html")).to_have_attribute("data-live", "connected")
    return page


async def mark_loaded(page: Page) -> None:
    """A flag that a reload would wipe: its survival proves the page was updated in place."""
    await page.evaluate("window.__sameLoad = true")


async def same_load(page: Page) -> bool:
    return await page.evaluate("window.__sameLoad === true")


async def test_client_sends_the_inbox_updates_and_the_reply_arrives_live(browser, portal,
                                                                         room, make_user):
    client = await make_user("client", (room.slug,), name="Robin Phone")
    problems: list[str] = []
    therapist = await open_logged_in(browser, portal, DESKTOP, room.therapist, "/dashboard",
                                     problems)
    phone = await open_logged_in(browser, portal, PHONE, client, "/home", problems)
    try:
        await therapist.goto("/messages")
        await expect(therapist.get_by_text("Nobody is waiting for a reply.")).to_be_visible()
        await expect(therapist.locator("html")).to_have_attribute("data-live", "connected")
        await mark_loaded(therapist)

        # The client writes from the Messages tab on the phone; the crisis line is at hand.
        await phone.get_by_role("navigation", name="Portal").get_by_role(
            "link", name="Messages", exact=True).click()
        await phone.get_by_role("link", name="New message").click()
        compose = phone.locator("form[data-compose]")
        await expect(compose.locator(".crisis-line")).to_contain_text("988")
        await expect(compose.locator(".expectations")).to_contain_text("answered within 1")
        await phone.get_by_label("Subject").fill("Rescheduling worries")
        await phone.get_by_label("Message").fill("Could we talk about Thursday?")
        await phone.get_by_role("button", name="Send").click()
        await phone.wait_for_url(re.compile(r"/messages/\d+$"))
        await expect(phone.locator(".message.mine .message-body")).to_have_text(
            "Could we talk about Thursday?")
        await expect(phone.locator("html")).to_have_attribute("data-live", "connected")
        await mark_loaded(phone)

        # The therapist's inbox shows it without a reload, waiting, with a notice.
        waiting = therapist.get_by_role("region", name=re.compile("Waiting for a reply"))
        row = waiting.locator(".thread-row", has_text="Robin Phone")
        await expect(row).to_contain_text("Rescheduling worries")
        await expect(row).to_contain_text("Waiting under a minute")
        await expect(therapist.locator(".toast")).to_have_text("You have a new secure message")
        assert await same_load(therapist)

        # Opening the thread marks it read: the client's phone shows "Read" in place.
        await row.get_by_role("link").click()
        await expect(therapist.locator(".message .message-body")).to_have_text(
            "Could we talk about Thursday?")
        await expect(phone.locator(".message.mine .read-mark")).to_be_visible()

        await therapist.get_by_label("Your message").fill("Yes, let us find a time.")
        await therapist.get_by_role("button", name="Send").click()
        await expect(therapist.locator(".message.mine .message-body")).to_have_text(
            "Yes, let us find a time.")
        await expect(therapist.get_by_label("Your message")).to_have_value("")

        # The answer appears live on the phone.
        answer = phone.locator(".message.from-practice")
        await expect(answer.locator(".message-body")).to_have_text("Yes, let us find a time.")
        await expect(answer.locator(".author")).to_have_text("Dr. Inbox")
        assert await same_load(phone)
        # The therapist replied, so the thread no longer waits.
        await expect(therapist.locator(".thread-status")).to_contain_text("Answered")
    finally:
        await therapist.context.close()
        await phone.context.close()
    assert not problems, problems


async def test_a_prefilled_subject_and_a_too_large_file(browser, portal, room, make_user):
    client = await make_user("client", (room.slug,), name="Sam Billing")
    problems: list[str] = []
    phone = await open_logged_in(browser, portal, PHONE, client, "/home", problems)
    try:
        await phone.goto("/messages/new?subject=Ask%20for%20diagnosis%20code")
        await expect(phone.get_by_label("Subject")).to_have_value("Ask for diagnosis code")
        await phone.get_by_label("Message").fill("For my insurer, please.")
        await phone.locator("input[type=file]").set_input_files(
            [{"name": "scan.pdf", "mimeType": "application/pdf",
              "buffer": b"%PDF-" + b"0" * (10 * 1024 * 1024 + 1)}])
        error = phone.locator('[data-error-for="file"]')
        await expect(error).to_contain_text("“scan.pdf” is too large")
        await phone.get_by_role("button", name="Send").click()
        await expect(error).to_contain_text("at most 10 MB")
        assert phone.url.endswith("/messages/new?subject=Ask%20for%20diagnosis%20code")
        await phone.locator("input[type=file]").set_input_files(
            [{"name": "scan.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 small"}])
        await expect(error).to_be_empty()
        await phone.get_by_role("button", name="Send").click()
        await phone.wait_for_url(re.compile(r"/messages/\d+$"))
        await expect(phone.get_by_role("heading", level=1)).to_have_text("Ask for diagnosis code")
        await expect(phone.locator(".attachments a")).to_have_text("scan.pdf")
    finally:
        await phone.context.close()
    assert not problems, problems
