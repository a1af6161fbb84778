"""From "Continue" to the first remote frame, peer to peer and relayed, in two Chromiums.

The therapist is already in the room; the client presses "Continue" and the page times, with
performance.now(), the click and the first remote frame presented (requestVideoFrameCallback).
Loopback only, so this is the portal's own share: signaling through PostgreSQL, ICE, DTLS and
the first key frame (and in relay mode the server's decode and encode).

    .venv/bin/python bench/video_first_frame.py [--runs 5]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg  # noqa: E402
from common import Database, start_portal, stop, wait_until_serving  # noqa: E402
from video_common import video_room  # noqa: E402

from server.auth.sessions import COOKIE  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE  # noqa: E402


async def enter(page, url: str) -> None:
    await page.goto(url)
    await page.wait_for_selector('#video-page[data-precheck="done"]', timeout=30_000)


async def until(page, expression: str, timeout: float = 30) -> None:
    """Poll `expression` in the page (the page's CSP forbids wait_for_function's eval)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await page.evaluate(expression):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(expression)
        await asyncio.sleep(0.02)


async def one_run(browser, base: str, conn: asyncpg.Connection) -> float:
    appointment_id, client, clinician = await video_room(conn)
    contexts = []
    pages = []
    for user, device in ((clinician, DESKTOP), (client, PHONE)):
        context = await browser.new_context(**device, base_url=base)
        await context.add_cookies([{"name": COOKIE, "value": user["token"], "url": base}])
        contexts.append(context)
        pages.append(await context.new_page())
    therapist, client_page = pages
    try:
        url = f"/sessions/{appointment_id}/video"
        await asyncio.gather(enter(therapist, url), enter(client_page, url))
        await therapist.click("#continue")
        await until(therapist, "document.documentElement.dataset.live === 'connected'")
        await asyncio.sleep(0.5)  # the therapist's join has landed
        await client_page.click("#continue")
        await until(client_page, "window.portalVideo.firstFrameAt !== null")
        return await client_page.evaluate(
            "window.portalVideo.firstFrameAt - window.portalVideo.continuedAt")
    finally:
        for context in contexts:
            await context.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.async_api import async_playwright

    async with Database() as url, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        conn = await asyncpg.connect(url)
        try:
            for mode in ("off", "always"):
                os.environ["VIDEO_RELAY"] = mode
                process, base = await start_portal(url)
                try:
                    await wait_until_serving(base)
                    times = [await one_run(browser, base, conn) for _ in range(args.runs)]
                finally:
                    await stop(process)
                label = "peer to peer" if mode == "off" else "relayed"
                print(f"Continue -> first remote frame, {label:>12}: median {statistics.median(times):.0f} ms, "
                      f"min {min(times):.0f} ms, max {max(times):.0f} ms (n={len(times)})", flush=True)
        finally:
            os.environ.pop("VIDEO_RELAY", None)
            await conn.close()
            await browser.close()


if __name__ == "__main__":
    asyncio.run(main())
