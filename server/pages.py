"""Server-rendered pages: the public area, the login forms, and the portal shell.

Pages only read; every change goes through the JSON API (web/static/js/forms.js).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Awaitable, Callable
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from scheduling import time_off
from server import accounts, audit, events, mail, practice
from server.auth import sessions, tokens
from server.auth.csrf import url_is_local
from server.auth.principal import Principal
from web import TEMPLATES_DIR

templates = Jinja2Templates(directory=TEMPLATES_DIR)


def long_date(iso_day: str) -> str:
    """'2026-12-14' as 'Monday, December 14, 2026'."""
    day = date.fromisoformat(iso_day)
    return f"{day:%A, %B} {day.day}, {day.year}"


def local_datetime(iso: str, zone: str) -> str:
    moment = datetime.fromisoformat(iso).astimezone(ZoneInfo(zone))
    return f"{moment:%Y-%m-%d %H:%M %Z}"


templates.env.filters["longdate"] = long_date
templates.env.filters["datetime"] = local_datetime

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


async def welcome(request: Request) -> Response:
    away = await time_off.public_upcoming(request.app.state.pool)
    return await render(request, "public/welcome.html", await current(request), away=away)


async def crisis(request: Request) -> Response:
    return await render(request, "public/crisis.html", await current(request))


async def schedule(request: Request) -> Response:
    principal = await current(request)
    return RedirectResponse(home_of(principal) if principal else "/login", status_code=303)


async def login(request: Request) -> Response:
    principal = await current(request)
    target = request.query_params.get("next", "")
    if not url_is_local(target):
        target = ""
    if principal is not None:
        return RedirectResponse(target or home_of(principal), status_code=303)
    return await render(request, "public/login.html", next=target)


async def forgot(request: Request) -> Response:
    return await render(request, "public/forgot.html")


async def set_password(request: Request) -> Response:
    token = request.path_params["token"]
    async with request.app.state.pool.acquire() as conn:
        live = await tokens.peek(conn, token)
    return await render(request, "public/set_password.html", token=token, live=live,
                        invite=request.url.path.startswith("/invite/"),
                        status=200 if live else 410)


@portal_page("client")
async def home(request: Request, me: Principal) -> Response:
    return await render(request, "portal/home.html", me)


@portal_page("therapist")
async def dashboard(request: Request, me: Principal) -> Response:
    away = await time_off.public_upcoming(request.app.state.pool)
    return await render(request, "portal/dashboard.html", me, away=away,
                        clients=await accounts.clients_in_division(request.app.state.pool,
                                                                   me.division_id))


@portal_page("therapist")
async def clients(request: Request, me: Principal) -> Response:
    return await render(request, "portal/clients.html", me,
                        clients=await accounts.clients_in_division(request.app.state.pool,
                                                                   me.division_id))


@portal_page("therapist")
async def practice_settings(request: Request, me: Principal) -> Response:
    return await render(request, "portal/practice.html", me,
                        time_off=await time_off.upcoming_for(request.app.state.pool, me.user_id))


@portal_page("therapist")
async def sent_mail(request: Request, me: Principal) -> Response:
    return await render(request, "portal/sent_mail.html", me,
                        mails=await mail.recent(request.app.state.pool))


@portal_page()
async def audit_page(request: Request, me: Principal) -> Response:
    entries = await audit.entries(request.app.state.pool, me, limit=200)
    return await render(request, "portal/audit.html", me, entries=entries)


def coming_soon(slug: str, title: str) -> Callable[[Request], Awaitable[Response]]:
    @portal_page()
    async def page(request: Request, me: Principal) -> Response:
        return await render(request, "portal/coming_soon.html", me, title=title, slug=slug)
    return page


def routes() -> list[Route]:
    return [
        Route("/", welcome),
        Route("/crisis", crisis),
        Route("/schedule", schedule),
        Route("/login", login),
        Route("/forgot", forgot),
        Route("/reset/{token}", set_password),
        Route("/invite/{token}", set_password),
        Route("/home", home),
        Route("/dashboard", dashboard),
        Route("/clients", clients),
        Route("/practice", practice_settings),
        Route("/sent-mail", sent_mail),
        Route("/audit", audit_page),
        *[Route(f"/{slug}", coming_soon(slug, title)) for slug, title in COMING_SOON.items()],
    ]
