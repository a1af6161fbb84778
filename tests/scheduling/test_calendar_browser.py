"""The Calendar on a phone: book, two-step cancel, and out-of-office notes inside the days."""
from __future__ import annotations

from playwright.async_api import expect

from scheduling.time_off import day_bounds
from tests.conftest import PHONE
from tests.scheduling.conftest import ZONE, local


async def log_in(page, user) -> None:
    await page.goto("/login")
    await page.get_by_label("Email").fill(user["email"])
    await page.get_by_label("Password").fill(user["password"])
    await page.get_by_role("button", name="Log In").click()
    await page.wait_for_url("**/home")


async def test_book_cancel_in_two_steps_and_see_time_off(browser, portal, clinic, conn):
    client, _ = await clinic.new_client(name="Pat Phone")
    away_day = local(5, 0).date()
    starts, ends = day_bounds(away_day, away_day, ZONE)
    await conn.execute(
        "INSERT INTO time_off (clinician_id, starts_at, ends_at, note, public) "
        "VALUES ($1, $2, $3, 'At a training, back Monday', true)",
        clinic.therapist["id"], starts, ends)
    context = await browser.new_context(**PHONE, base_url=portal.url)
    page = await context.new_page()
    try:
        await log_in(page, client)
        await page.get_by_role("link", name="Calendar", exact=True).click()
        await page.get_by_label("Session Type").select_option("video")
        await page.get_by_label("Session Length").select_option("60")
        # the out-of-office day is inside the calendar, with its note and no times
        away = page.locator(f'[data-day="{away_day.isoformat()}"]')
        await expect(away.locator(".time-off-note")).to_have_text(
            "Out of office: At a training, back Monday")
        await expect(away.locator("button.time")).to_have_count(0)

        first_time = page.locator("button.time").first
        await expect(first_time).to_be_visible()
        await first_time.click()
        await expect(page.locator("#confirm-text")).to_contain_text("60-minute video session")
        await page.get_by_role("button", name="Book", exact=True).click()
        await page.wait_for_url("**/sessions/*")
        appointment_id = int(page.url.rsplit("/", 1)[1])
        await expect(page.get_by_role("heading", name="Video session")).to_be_visible()
        # days ahead, the room is not open yet, and the page says when it opens
        await expect(page.locator(".video-closed")).to_contain_text("opens")
        await expect(page.get_by_role("link", name="Start Video Session")).to_have_count(0)

        # step one of two, then the page is closed: still booked
        await page.get_by_role("button", name="Cancel", exact=True).click()
        await expect(page.get_by_role("button", name="Yes, cancel the session")).to_be_visible()
        await page.close()
        assert await conn.fetchval("SELECT status FROM appointments WHERE id = $1",
                                   appointment_id) == "booked"

        page = await context.new_page()
        await page.goto(f"/sessions/{appointment_id}")
        await page.get_by_role("button", name="Cancel", exact=True).click()
        await page.get_by_role("button", name="Keep it").click()
        await expect(page.get_by_role("button", name="Yes, cancel the session")).to_be_hidden()
        await page.get_by_role("button", name="Cancel", exact=True).click()
        await page.get_by_role("button", name="Yes, cancel the session").click()
        await expect(page.locator(".status")).to_have_text("cancelled")
        assert await conn.fetchval("SELECT status FROM appointments WHERE id = $1",
                                   appointment_id) == "cancelled"
        await page.goto("/home")
        await expect(page.get_by_text("No upcoming sessions.")).to_be_visible()
    finally:
        await context.close()


async def test_nothing_open_says_why_and_offers_the_wait_list(browser, portal, clinic, conn):
    client, _ = await clinic.new_client()
    await conn.execute("DELETE FROM availability WHERE clinician_id = $1",
                       clinic.therapist["id"])
    context = await browser.new_context(**PHONE, base_url=portal.url)
    page = await context.new_page()
    try:
        await log_in(page, client)
        await page.goto("/calendar")
        await page.get_by_label("Session Type").select_option("office")
        await expect(page.get_by_text("No office sessions are offered in your division.")) \
            .to_be_visible()
        await expect(page.locator("#slots").get_by_role("link", name="Wait List")).to_have_attribute(
            "href", "/waitlist?session_type=office&length=60")
    finally:
        await context.close()


async def test_wait_list_form_with_each_duration_on_a_phone(browser, portal, clinic):
    from datetime import timedelta

    from server.rendering import long_date

    client, _ = await clinic.new_client()
    context = await browser.new_context(**PHONE, base_url=portal.url)
    page = await context.new_page()
    durations = [("1 week", 7), ("2 weeks", 14), ("3 weeks", 21), ("1 month", 30),
                 ("up to 6 months", 182)]
    try:
        await log_in(page, client)
        await page.goto("/calendar")
        await page.get_by_role("link", name="Wait List", exact=True).first.click()
        await page.wait_for_url("**/waitlist")
        for label, days in durations:
            await page.get_by_label("Session Type").select_option("phone")
            await page.get_by_label("Session Length").select_option("45")
            await page.get_by_label("Length of Time to Be Kept on the Wait List") \
                .select_option(label=label)
            await page.get_by_role("button", name="Join the Wait List").click()
            entry = page.locator(".waitlist-entries li")
            await expect(entry).to_have_count(1)
            await expect(entry).to_contain_text("Phone, 45 minutes")
            until = local(days, 0).date()
            # an entry made late in the day may end on the next calendar day
            expected = {long_date(until), long_date(until + timedelta(days=1))}
            text = await entry.locator(".muted").inner_text()
            assert text.removeprefix("until ") in expected, (label, text)
            await entry.get_by_role("button", name="Leave").click()
            await expect(page.get_by_text("You are not on the Wait List.")).to_be_visible()
    finally:
        await context.close()


async def test_times_show_in_the_clients_zone_with_the_practices_beside(browser, portal, clinic):
    client, _ = await clinic.new_client()
    context = await browser.new_context(**{**PHONE, "timezone_id": "America/Los_Angeles"},
                                        base_url=portal.url)
    page = await context.new_page()
    try:
        await log_in(page, client)
        await page.goto("/calendar?session_type=video&length=60")
        await expect(page.locator("#zone-note")).to_contain_text("America/Los_Angeles")
        day = local(3, 0).date().isoformat()
        nine = page.locator(f'[data-day="{day}"] button.time[data-start="{local(3, 9).isoformat()}"]')
        # 9:00 at the practice in New York is 6:00 in Los Angeles
        await expect(nine).to_contain_text("6:00 AM")
        await expect(nine.locator(".practice-time")).to_have_text("9:00 AM EST")
    finally:
        await context.close()
