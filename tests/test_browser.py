"""What a person sees in a real browser: Debian's Chromium through Playwright.

The demo accounts are shared by the whole test session, so these tests never change their
passwords and never type a wrong password for them (five failures lock an account).
"""
from __future__ import annotations

import re
from typing import AsyncIterator
from urllib.parse import urldefrag, urlsplit

import asyncpg
import pytest_asyncio
from playwright.async_api import Browser, ConsoleMessage, Page, expect

from scheduling import time_off
from server import practice
from server.demo import CLIENT, STUDENT, THERAPIST
from server.rendering import long_date
from tests.conftest import DESKTOP, PHONE
from tests.support import RunningPortal


async def open_page(browser: Browser, portal: RunningPortal, device: dict
                    ) -> AsyncIterator[Page]:
    """A fresh context (no cookies) whose page fails the test on a script error or a CSP
    violation; the 4xx answers the API is expected to give are not errors."""
    context = await browser.new_context(base_url=portal.url, **device)
    page = await context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    try:
        yield page
    finally:
        await context.close()
    assert not problems, problems


@pytest_asyncio.fixture
async def phone(browser: Browser, portal: RunningPortal) -> AsyncIterator[Page]:
    async for page in open_page(browser, portal, PHONE):
        yield page


@pytest_asyncio.fixture
async def desktop(browser: Browser, portal: RunningPortal) -> AsyncIterator[Page]:
    async for page in open_page(browser, portal, DESKTOP):
        yield page


async def log_in(page: Page, email_addr: str, password: str) -> None:
    """Fill the Log In form the way a person does (the page must show it already)."""
    await expect(page.get_by_role("heading", name="Log In")).to_be_visible()
    await page.get_by_label("Email").fill(email_addr)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log In", exact=True).click()


def at_path(path: str) -> re.Pattern[str]:
    """Any URL of the portal whose path is `path`, whatever its query."""
    return re.compile(r"^https?://[^/]+" + re.escape(path) + r"(\?.*)?$")


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


async def test_client_logs_in_from_schedule_on_a_phone(phone: Page):
    await phone.goto("/schedule")
    await expect(phone).to_have_url(at_path("/login"))
    await log_in(phone, CLIENT[0], CLIENT[1])

    await expect(phone).to_have_url(at_path("/home"))
    await expect(phone.get_by_role("heading", level=1)).to_have_text("Hello, Jordan")
    nav = phone.get_by_role("navigation", name="Portal")
    for label in ("Home", "Calendar", "Messages", "Billing", "Notes", "Files", "Journal"):
        link = nav.get_by_role("link", name=label, exact=True)
        await expect(link).to_be_visible()
        await expect(link).to_be_in_viewport(ratio=1)
    await expect(nav.get_by_role("link", name="Home", exact=True)).to_have_attribute(
        "aria-current", "page")
    # Nothing new yet: the badge of new notices is not shown (no empty red pill in the bar).
    await expect(phone.locator("[data-unread-badge]")).to_be_hidden()

    # Scrolled to the end, the last line of the page sits above the fixed bottom navigation.
    await phone.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    footer = phone.get_by_role("link", name="In a crisis?")
    await expect(footer).to_be_in_viewport(ratio=1)
    footer_box, nav_box = await footer.bounding_box(), await nav.bounding_box()
    assert footer_box and nav_box
    assert footer_box["y"] + footer_box["height"] <= nav_box["y"]


async def test_wrong_password_shows_the_error_and_stays_on_login(phone: Page, make_user):
    user = await make_user("client", ("therapy",), name="Wrong Password")
    await phone.goto("/login")
    await log_in(phone, user["email"], user["password"] + " typo")

    await expect(phone.get_by_role("alert")).to_have_text("The email or password is wrong.")
    assert path_of(phone) == "/login"
    await expect(phone.get_by_role("heading", name="Log In")).to_be_visible()
    await expect(phone.get_by_role("button", name="Log In", exact=True)).to_be_enabled()


async def test_therapist_switches_division_on_the_dashboard(desktop: Page):
    await desktop.goto("/login")
    await log_in(desktop, THERAPIST[0], THERAPIST[1])
    await expect(desktop).to_have_url(at_path("/dashboard"))

    main = desktop.locator("main")
    division = desktop.get_by_label("Division")
    await expect(division.locator("option:checked")).to_have_text("Therapy")
    await expect(main).to_contain_text("Therapy division")
    await expect(main.get_by_text(CLIENT[2])).to_be_visible()
    await expect(main).not_to_contain_text(STUDENT[2])

    await division.select_option(label="Education")  # submits itself and reloads the page

    await expect(main).to_contain_text("Education division")
    await expect(main.get_by_text(STUDENT[2])).to_be_visible()
    await expect(main).not_to_contain_text(CLIENT[2])
    await expect(desktop.get_by_label("Division").locator("option:checked")).to_have_text(
        "Education")
    assert path_of(desktop) == "/dashboard"


async def test_welcome_page_shows_time_off_and_the_portal_link(phone: Page,
                                                              conn: asyncpg.Connection):
    row = await conn.fetchrow(
        "SELECT * FROM time_off WHERE public AND note LIKE 'Out of the office for a training%'")
    assert row is not None, "the demo seed's public time off is missing"
    entry = time_off.as_json(row, practice.zone(await practice.get(conn)))

    await phone.goto("/")
    away = phone.get_by_role("region", name="Out of the office")
    await expect(away).to_contain_text(
        f"{long_date(entry['first_day'])} – {long_date(entry['last_day'])}")
    await expect(away).to_contain_text(row["note"])
    portal_link = phone.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Client Portal")
    await expect(portal_link).to_be_visible()
    await expect(portal_link).to_be_in_viewport(ratio=1)

    await portal_link.click()
    await expect(phone.get_by_role("heading", name="Log In")).to_be_visible()


async def test_crisis_page_shows_988_and_911(phone: Page):
    await phone.goto("/crisis")
    await expect(phone.get_by_role("heading", level=1)).to_have_text("In a crisis")
    for number in ("988", "911"):
        call = phone.locator("main").get_by_role("link", name=number, exact=True)
        await expect(call).to_be_visible()
        await expect(call).to_have_attribute("href", f"tel:{number}")


async def test_education_student_never_sees_the_therapy_client(phone: Page, portal):
    await phone.goto("/schedule")
    await log_in(phone, STUDENT[0], STUDENT[1])
    await expect(phone.get_by_role("heading", level=1)).to_have_text("Hello, Sam")

    # Every page a link leads to, plus the therapist's pages typed into the address bar.
    to_visit = ["/home", "/dashboard", "/clients", "/practice", "/audit",
                "/api/clients", "/api/clients?division_id=1"]
    seen: set[str] = set()
    while to_visit:
        target = to_visit.pop(0)
        if target in seen:
            continue
        seen.add(target)
        response = await phone.goto(target)
        assert response is not None and response.status < 500, (target, response)
        assert path_of(phone) not in {"/login", "/dashboard", "/clients", "/practice"}, target
        assert CLIENT[2] not in await phone.content(), target
        assert CLIENT[2] not in await phone.locator("body").inner_text(), target
        for href in await phone.locator("a[href]").evaluate_all("els => els.map(a => a.href)"):
            url, _ = urldefrag(href)
            parts = urlsplit(url)
            if url.startswith(portal.url) and not parts.path.startswith("/static/"):
                local = parts.path + (f"?{parts.query}" if parts.query else "")
                if local not in seen:
                    to_visit.append(local)
    assert {"/home", "/calendar", "/messages", "/billing", "/notes", "/files", "/journal",
            "/crisis", "/audit"} <= seen
