"""Fixtures: a fresh database on a real PostgreSQL, a real SMTP server, the running portal,
and Debian's Chromium through Playwright."""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import AsyncIterator

import asyncpg
import httpx
import pytest
import pytest_asyncio

from server import db
from server.auth.passwords import hash_password
from server.settings import Settings
from tests.support import Mailbox, RunningPortal, free_port, start_smtp, unique_email

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
PASSWORD = "correct horse battery"


def server_url() -> str:
    """The PostgreSQL server to test on: DATABASE_URL's, or the embedded one in var/."""
    return os.environ.get("DATABASE_URL") or db.start_embedded(ROOT / "var", "postgres")


@pytest.fixture(scope="session")
def pg_server() -> str:
    return server_url()


@pytest_asyncio.fixture(scope="session")
async def new_database(pg_server: str):
    """A factory of empty databases on the test server, all dropped at the end."""
    created: list[str] = []
    admin = await asyncpg.connect(pg_server)

    async def make() -> str:
        name = f"portal_test_{uuid.uuid4().hex[:12]}"
        await admin.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return db.with_database(pg_server, name)

    yield make
    for name in created:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(scope="session")
def mailbox() -> Mailbox:
    box = Mailbox()
    controller = start_smtp(box)
    box.port = controller.port  # type: ignore[attr-defined]
    yield box
    controller.stop()


@pytest_asyncio.fixture(scope="session")
async def database_url(new_database) -> str:
    return await new_database()


@pytest_asyncio.fixture(scope="session")
async def portal(database_url: str, mailbox: Mailbox) -> AsyncIterator[RunningPortal]:
    port = free_port()
    settings = Settings(
        port=port, public_url=f"http://127.0.0.1:{port}", database_url=database_url,
        demo=True, smtp_host="127.0.0.1", smtp_port=mailbox.port, mail_poll_seconds=0.2,
        mail_from="portal@example.test",
        # Every test logs in from 127.0.0.1; the per-address test inserts this many itself.
        login_address_failures=200,
    )
    running = RunningPortal(settings)
    await running.start()
    yield running
    await running.stop()


@pytest_asyncio.fixture
async def client(portal: RunningPortal) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=portal.url, timeout=20) as http:
        yield http


@pytest_asyncio.fixture(scope="session")
async def conn(portal: RunningPortal, database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection for asserting what the database holds."""
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


@pytest_asyncio.fixture(scope="session")
async def password_hash() -> str:
    return await hash_password(PASSWORD)


@pytest_asyncio.fixture
async def make_user(conn: asyncpg.Connection, password_hash: str):
    """Create an account directly: make_user("client", ["therapy"]) -> {"id", "email", ...}."""
    async def make(role: str = "client", divisions: tuple[str, ...] = ("therapy",),
                   name: str = "Test Person") -> dict:
        email_addr = unique_email(role)
        user_id = await conn.fetchval(
            "INSERT INTO users (email, name, role, password_hash) VALUES ($1, $2, $3, $4) "
            "RETURNING id", email_addr, name, role, password_hash)
        for slug in divisions:
            await conn.execute(
                "INSERT INTO memberships SELECT $1, id FROM divisions WHERE slug = $2",
                user_id, slug)
        return {"id": user_id, "email": email_addr, "password": PASSWORD, "role": role}
    return make


@pytest_asyncio.fixture(scope="session")
async def browser():
    """Debian's Chromium under Playwright. Required under CI; skipped locally if absent."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the browser tests: /usr/bin/chromium is missing")
        pytest.skip("Debian's chromium is not installed")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM,
                                                    args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


# The browsers sit in the demo practice's zone, as most of its clients do.
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True, "timezone_id": "America/New_York"}
DESKTOP = {"viewport": {"width": 1280, "height": 800}, "timezone_id": "America/New_York"}
