"""Screenshots of the main pages for the docs: `python -m web.screenshots` (`make screenshots`).

Starts the portal with the demo practice on a throwaway database (on DATABASE_URL's server, or
the embedded PostgreSQL in var/), photographs it in Debian's Chromium at a 390 x 844 phone
viewport (the therapist's dashboard at a 1280 x 800 desktop one too), writes the PNGs to
docs/screenshots/ and drops the database again.
"""
from __future__ import annotations

import argparse
import asyncio
import uuid
from pathlib import Path

import asyncpg
from playwright.async_api import Browser, Page, async_playwright

from server import db
from server.demo import CLIENT, THERAPIST
from server.settings import Settings
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, server_url
from tests.support import RunningPortal, free_port

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "docs" / "screenshots"


async def log_in(page: Page, email_addr: str, password: str, lands_on: str) -> None:
    await page.goto("/login")
    await page.get_by_label("Email").fill(email_addr)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log In", exact=True).click()
    await page.wait_for_url(f"**{lands_on}")


async def shoot(browser: Browser, base_url: str, out_dir: Path,
                full_page: bool = False) -> list[Path]:
    """Photograph every page; return the files written."""
    written: list[Path] = []

    async def save(page: Page, name: str) -> None:
        await page.wait_for_load_state("networkidle")
        path = out_dir / name
        await page.screenshot(path=str(path), full_page=full_page)
        written.append(path)
        print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", flush=True)

    async def new_page(device: dict) -> Page:
        context = await browser.new_context(base_url=base_url, **device)
        return await context.new_page()

    phone = await new_page(PHONE)
    for url, name in (("/", "welcome.png"), ("/crisis", "crisis.png"), ("/login", "login.png")):
        await phone.goto(url)
        await save(phone, name)
    await log_in(phone, CLIENT[0], CLIENT[1], "/home")
    await save(phone, "client-home.png")
    await phone.goto("/calendar")
    await phone.locator("button.time").first.wait_for()
    await save(phone, "client-calendar.png")
    await phone.goto("/waitlist")
    await save(phone, "client-waitlist.png")
    await phone.context.close()

    phone = await new_page(PHONE)
    await log_in(phone, THERAPIST[0], THERAPIST[1], "/dashboard")
    await save(phone, "therapist-dashboard.png")
    await phone.context.close()

    desktop = await new_page(DESKTOP)
    await log_in(desktop, THERAPIST[0], THERAPIST[1], "/dashboard")
    await save(desktop, "therapist-dashboard-desktop.png")
    await desktop.goto("/calendar")
    await save(desktop, "therapist-calendar-desktop.png")
    await desktop.context.close()
    return written


async def main(out_dir: Path, full_page: bool) -> None:
    server = await asyncio.to_thread(server_url)
    name = f"portal_screenshots_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        port = free_port()
        portal = RunningPortal(Settings(
            port=port, public_url=f"http://127.0.0.1:{port}",
            database_url=db.with_database(server, name), demo=True, mail_worker=False))
        await portal.start()
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM,
                                                           args=CHROMIUM_ARGS)
                try:
                    await shoot(browser, portal.url, out_dir, full_page)
                finally:
                    await browser.close()
        finally:
            await portal.stop()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder for the PNGs")
    parser.add_argument("--full-page", action="store_true",
                        help="the whole page instead of what the first screen shows")
    args = parser.parse_args()
    asyncio.run(main(args.out.resolve(), args.full_page))
