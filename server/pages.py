"""Server-rendered pages: the public area, the login forms, and the portal shell.

Pages only read; every change goes through the JSON API (web/static/js/forms.js).
"""
from __future__ import annotations

from typing import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from scheduling import calendar, time_off
from server import accounts, audit, mail
from server.auth import tokens
from server.auth.csrf import url_is_local
from server.auth.principal import Principal
from server.rendering import COMING_SOON, current, home_of, portal_page, render


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
    upcoming = await calendar.list_for(request.app.state.pool, me.user_id, False, None)
    return await render(request, "portal/home.html", me, upcoming=upcoming)


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
    """The shell's own pages; areas bring theirs (see server/app.py)."""
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
    ]


def placeholder_routes() -> list[Route]:
    """Pages that later work fills; an area's own route, listed before these, takes over."""
    return [Route(f"/{slug}", coming_soon(slug, title)) for slug, title in COMING_SOON.items()]
