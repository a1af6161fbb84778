"""Rendering pages: the templates, the shell's context, and the login gate for portal pages.

Every area's pages use these; the pages themselves live with their area.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Awaitable, Callable
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from server import events, practice
from server.auth import sessions
from server.auth.principal import Principal
from web import TEMPLATES_DIR

templates = Jinja2Templates(directory=TEMPLATES_DIR)


def long_date(day: str | date) -> str:
    """'2026-12-14' as 'Monday, December 14, 2026'."""
    if isinstance(day, str):
        day = date.fromisoformat(day[:10])
    return f"{day:%A, %B} {day.day}, {day.year}"


def clock(iso: str) -> str:
    """The wall-clock time of an ISO moment, as '9:30 AM'."""
    return datetime.fromisoformat(iso).strftime("%-I:%M %p")


def local_datetime(iso: str, zone: str) -> str:
    moment = datetime.fromisoformat(iso).astimezone(ZoneInfo(zone))
    return f"{moment:%Y-%m-%d %H:%M %Z}"


templates.env.filters["longdate"] = long_date
templates.env.filters["datetime"] = local_datetime
templates.env.filters["clock"] = clock

CLIENT_NAV = [("home", "Home"), ("calendar", "Calendar"), ("messages", "Messages"),
              ("billing", "Billing"), ("notes", "Notes"), ("files", "Files"),
              ("journal", "Journal")]
THERAPIST_NAV = [("dashboard", "Dashboard"), ("calendar", "Calendar"),
                 ("messages", "Messages"), ("clients", "Clients"), ("billing", "Billing"),
                 ("practice", "Practice"), ("sent-mail", "Sent mail"), ("audit", "Audit log")]
COMING_SOON = {
    "calendar": "Calendar",
    "messages": "Messages",
    "billing": "Billing",
    "notes": "Notes",
    "files": "Files",
    "journal": "Journal",
}


async def render(request: Request, template: str, principal: Principal | None = None,
                 status: int = 200, **context: Any) -> Response:
    pool = request.app.state.pool
    details = await practice.get(pool)
    nav = None
    last_event_id = 0
    if principal is not None:
        nav = THERAPIST_NAV if principal.is_therapist else CLIENT_NAV
        # The page's socket resumes from here, so nothing after this render is missed.
        last_event_id = await events.latest_id(pool)
    return templates.TemplateResponse(
        request, template,
        {"practice": details, "me": principal, "nav": nav, "last_event_id": last_event_id,
         "csrf_token": principal.csrf_token if principal else "", **context},
        status_code=status,
    )


def error_page(request: Request, status: int) -> Response:
    title = "Page not found" if status == 404 else "Something went wrong"
    return templates.TemplateResponse(
        request, "error.html",
        {"practice": {"name": "Client Portal", "crisis_numbers": []}, "me": None, "nav": None,
         "csrf_token": "", "title": title, "status": status},
        status_code=status,
    )


async def current(request: Request) -> Principal | None:
    return await sessions.load(request.app.state.pool, request, request.app.state.settings)


def home_of(principal: Principal) -> str:
    return "/dashboard" if principal.is_therapist else "/home"


PageHandler = Callable[[Request, Principal], Awaitable[Response]]


def portal_page(role: str | None = None) -> Callable[[PageHandler], Callable]:
    """A page behind the login; the wrong role is sent to its own home."""
    def wrap(handler: PageHandler) -> Callable[[Request], Awaitable[Response]]:
        async def page(request: Request) -> Response:
            principal = await current(request)
            if principal is None:
                return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
            if role is not None and principal.role != role:
                return RedirectResponse(home_of(principal), status_code=303)
            return await handler(request, principal)
        return page
    return wrap
