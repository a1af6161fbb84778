"""App assembly: routes, error handlers, security headers and the background workers."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from types import ModuleType
from typing import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scheduling import (availability, booking, calendar, changes, openings, reminders, time_off,
                        waitlist)
from scheduling import pages as scheduling_pages, rules as scheduling_rules
from server import (accounts, audit, db, demo, housekeeping, local_mail, mail, pages, practice,
                    rendering, ws)
from server.api import Api
from server import messages
from server.hub import Hub
from server.errors import ApiError, error_response, handle_api_error, handle_http_error
from server.settings import Settings
from media import checks as video_checks
from signaling import lifecycle as video, pages as video_pages
from web import STATIC_DIR

log = logging.getLogger(__name__)

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
     b"connect-src 'self' ws: wss:; style-src 'self'; script-src 'self'; "
     b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    (b"permissions-policy", b"camera=(self), microphone=(self), geolocation=()"),
]


class SecurityHeaders:
    """Adds the headers every response needs (no framing, a strict CSP)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + SECURITY_HEADERS
                if scope["path"].startswith("/api/"):
                    message["headers"].append((b"cache-control", b"no-store"))
            await send(message)

        await self.app(scope, receive, send_with_headers)


# Each area brings its API (`api`) and, when it has pages, `page_routes()`.
AREAS: list[ModuleType] = [accounts, practice, audit, time_off, scheduling_rules, availability,
                           booking, changes, calendar, waitlist, scheduling_pages, video_pages,
                           video_checks, messages]


def build_api() -> Api:
    api = Api()
    for area in AREAS:
        if hasattr(area, "api"):
            api.include(area.api)
    return api


def page_routes() -> list[BaseRoute]:
    found: list[BaseRoute] = list(pages.routes())
    for area in AREAS:
        if hasattr(area, "page_routes"):
            found += area.page_routes()
    return found + pages.placeholder_routes()


async def handle_server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if request.url.path.startswith("/api/"):
        return error_response(500, "server_error", "Something went wrong on our side.")
    return rendering.error_page(request, 500)


async def open_database(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return await asyncio.to_thread(db.start_embedded, settings.data_dir)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    api = build_api()
    openapi = api.openapi()

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(openapi)

    async def health(request: Request) -> Response:
        await request.app.state.pool.fetchval("SELECT 1")
        return JSONResponse({"ok": True})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        url = await open_database(settings)
        pool = await db.create_pool(url)
        async with pool.acquire() as conn:
            await db.migrate(conn)
            if settings.demo and await demo.seed(conn):
                print("Demo practice created.", flush=True)
            if settings.demo:
                await demo.ensure_video_session(conn)
        app.state.pool = pool
        app.state.database_url = url
        app.state.hub = Hub(pool, url)
        smtp = None
        if settings.mail_worker:
            if settings.local_mail and not settings.smtp_host:
                smtp = local_mail.start()
                settings.smtp_host, settings.smtp_port = smtp.hostname, smtp.port
            app.state.mail_worker = mail.OutboxWorker(pool, settings)
            # mail queued on any node wakes this node's worker at once
            app.state.hub.wake_ups[mail.CHANNEL] = app.state.mail_worker.wake.set
        await app.state.hub.start()
        tasks = [asyncio.create_task(housekeeping.run(pool, settings)), *video.start(app)]
        tasks.append(asyncio.create_task(reminders.run(pool, settings)))
        tasks.append(asyncio.create_task(openings.run(pool, settings)))
        tasks.append(asyncio.create_task(messages.alerts.run(pool, settings)))
        if settings.mail_worker:
            tasks.append(asyncio.create_task(app.state.mail_worker.run()))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await video.stop(app)
            await app.state.hub.stop()
            if smtp is not None:
                smtp.stop()
            await pool.close()

    app = Starlette(
        routes=[
            Route("/api/openapi.json", openapi_json),
            Route("/healthz", health),
            WebSocketRoute("/ws", ws.endpoint),
            *api.routes(),
            *page_routes(),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        exception_handlers={
            ApiError: handle_api_error,
            HTTPException: handle_http_error,
            Exception: handle_server_error,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(SecurityHeaders)
    return app
