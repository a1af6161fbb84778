"""Helpers the tests share: a real SMTP server, an in-process portal, and API calls."""
from __future__ import annotations

import asyncio
import email
import itertools
import os
import re
import sys
import time
import threading
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

import httpx
import uvicorn
from aiosmtpd.controller import Controller

from server.app import create_app
from server.local_mail import free_port
from server.settings import Settings


@dataclass
class Mailbox:
    """What a real aiosmtpd server on loopback received."""

    messages: list[Message] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        with self.changed:
            self.messages.append(email.message_from_bytes(envelope.content))
            self.changed.notify_all()
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]

    async def wait_for(self, address: str, count: int = 1, timeout: float = 10) -> list[Message]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.to(address)) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no mail to {address} within {timeout} s")
            await asyncio.sleep(0.05)
        return self.to(address)


def start_smtp(mailbox: Mailbox) -> Controller:
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller

ROOT = Path(__file__).resolve().parent.parent
PORTAL = Path(sys.executable).parent / "portal"


def text_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    raise AssertionError("no text part")


def link_in(message: Message) -> str:
    found = re.search(r"https?://\S+", text_of(message))
    assert found, "no link in the mail"
    return found.group(0)


async def start_portal(database_url: str, *args: str, **settings: str,
                       ) -> tuple[asyncio.subprocess.Process, str]:
    """`portal run` as a separate process (another node); `settings` are extra environment
    variables. Its output is kept for `stop`, so keep it short (a node logs warnings only)."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "PORT": str(port), "MAIL_WORKER": "false",
           **settings}
    env.pop("PORTAL_DEMO", None)
    process = await asyncio.create_subprocess_exec(
        str(PORTAL), "run", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}"


async def wait_until_serving(url: str, within: float = 60) -> float:
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url) as http:
        while time.monotonic() - started < within:
            try:
                if (await http.get("/")).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"{url} did not serve the Welcome page within {within} s")


async def stop(process: asyncio.subprocess.Process) -> str:
    process.terminate()
    output, _ = await asyncio.wait_for(process.communicate(), 30)
    return output.decode()


class RunningPortal:
    """The real app under uvicorn on a loopback port, in the test's event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.server = uvicorn.Server(uvicorn.Config(
            self.app, host="127.0.0.1", port=settings.port, log_level="warning",
            ws_per_message_deflate=False, lifespan="on"))
        self.task: asyncio.Task | None = None

    @property
    def url(self) -> str:
        return self.settings.public_url

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task:
            await self.task


_unique = itertools.count(1)


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}{next(_unique)}-{id(_unique) % 10_000}@example.test"


async def log_in(client: httpx.AsyncClient, email_addr: str, password: str) -> dict:
    """Log in through the API; later changes made with `client` carry the CSRF token."""
    response = await client.post("/api/session", json={"email": email_addr, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    client.headers["X-CSRF-Token"] = body["csrf_token"]
    return body


def assert_error(response: httpx.Response, status: int, code: str | None = None,
                 field: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    error = response.json()["error"]
    assert set(error) == {"code", "message", "field"}
    assert error["message"]
    if code is not None:
        assert error["code"] == code, error
    if field is not None:
        assert error["field"] == field, error
    return error


async def open_socket(base_url: str, client: httpx.AsyncClient, last_id: int | None = None,
                      origin: str | None = None):
    """A WebSocket to /ws with the client's session cookie, as a browser on that page opens."""
    import websockets

    from server.auth.sessions import COOKIE

    url = base_url.replace("http://", "ws://") + "/ws"
    if last_id is not None:
        url += f"?last_id={last_id}"
    headers = {"Origin": origin or base_url}
    cookie = client.cookies.get(COOKIE)
    if cookie:
        headers["Cookie"] = f"{COOKIE}={cookie}"
    return await websockets.connect(url, additional_headers=headers, compression=None)


async def next_message(socket, kind: str | None = None, timeout: float = 10) -> dict:
    """The next JSON message (of `kind`, skipping others) within `timeout` seconds."""
    import json

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise AssertionError(f"no {kind or 'message'} within {timeout} s")
        message = json.loads(await asyncio.wait_for(socket.recv(), remaining))
        if kind is None or message.get("type") == kind:
            return message


async def nothing_more(socket, wait: float = 0.5) -> None:
    """Assert no event arrives within `wait` seconds."""
    try:
        message = await asyncio.wait_for(socket.recv(), wait)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected message: {message}")


async def session_client(conn, base_url: str, user_id: int) -> httpx.AsyncClient:
    """An HTTP client already logged in as `user_id`: the session row is written directly,
    for tests that need many accounts at once (argon2 would dominate the run)."""
    import hashlib
    import secrets

    from server.auth.sessions import COOKIE

    token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(16)
    await conn.execute(
        "INSERT INTO web_sessions (token_hash, user_id, csrf_token, expires_at, division_id) "
        "VALUES ($1, $2, $3, now() + interval '1 hour', "
        "(SELECT min(division_id) FROM memberships WHERE user_id = $2))",
        hashlib.sha256(token.encode()).digest(), user_id, csrf_token)
    return httpx.AsyncClient(base_url=base_url, cookies={COOKIE: token}, timeout=60,
                             headers={"X-CSRF-Token": csrf_token})


async def eventually(condition, timeout: float = 5.0, interval: float = 0.05) -> None:
    """Wait until `condition()` holds, or `timeout` seconds pass; the caller asserts after."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(interval)
