"""The scheduling pages: the client's Calendar, session details, the therapist's calendar."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from scheduling import availability, booking, calendar, rules as booking_rules, time_off, waitlist
from media import checks as video_checks
from scheduling.schedule import rows_for, utcnow
from signaling import pages as video_pages
from server import accounts, practice
from server.auth.principal import Principal
from server.rendering import portal_page, render

SESSION_TYPE_NAMES = {"video": "Video", "phone": "Phone", "office": "Office"}


@portal_page()
async def calendar_page(request: Request, me: Principal) -> Response:
    pool = request.app.state.pool
    rules = await booking_rules.load(pool)
    details = await practice.get(pool)
    if not me.is_therapist:
        client_zone = await booking.client_timezone(pool, me.user_id, practice.zone(details))
        return await render(request, "scheduling/client_calendar.html", me, rules=rules,
                            session_types=SESSION_TYPE_NAMES, client_zone=str(client_zone),
                            wanted_type=request.query_params.get("session_type", "video"),
                            wanted_length=request.query_params.get("length", ""),
                            wanted_start=request.query_params.get("start", ""))
    zone = practice.zone(details)
    try:
        first = date.fromisoformat(request.query_params.get("start", ""))
    except ValueError:
        first = utcnow().astimezone(zone).date()
    one_day = request.query_params.get("view") == "day"
    span = 1 if one_day else 7
    if not one_day:
        first -= timedelta(days=first.weekday())  # weeks start on Monday
    since = datetime.combine(first, datetime.min.time(), zone)
    rows = await calendar.list_for(pool, me.user_id, True, me.division_id, since=since,
                                   until=since + timedelta(days=span))
    windows = [availability.as_json(r) for r in await rows_for(pool, me.user_id)]
    away = await time_off.upcoming_for(pool, me.user_id)
    days = []
    for offset in range(span):
        day = first + timedelta(days=offset)
        iso = day.isoformat()
        days.append({
            "date": day,
            "appointments": [a for a in rows if a["start"][:10] == iso],
            "windows": [w for w in windows if w["weekday"] == day.weekday()],
            "time_off": [t for t in away if t["first_day"] <= iso <= t["last_day"]],
        })
    clients = await accounts.clients_in_division(pool, me.division_id) if me.division_id else []
    return await render(request, "scheduling/therapist_calendar.html", me, days=days,
                        first=first, previous=first - timedelta(days=span),
                        next=first + timedelta(days=span), one_day=one_day, clients=clients,
                        rules=rules,
                        session_types=SESSION_TYPE_NAMES)


@portal_page("therapist")
async def settings_page(request: Request, me: Principal) -> Response:
    pool = request.app.state.pool
    return await render(request, "scheduling/settings.html", me,
                        rules=(await booking_rules.load(pool)).as_json(),
                        windows=[availability.as_json(r)
                                 for r in await rows_for(pool, me.user_id)],
                        weekdays=availability.WEEKDAYS, session_types=SESSION_TYPE_NAMES)


@portal_page()
async def session_page(request: Request, me: Principal) -> Response:
    try:
        appointment_id = int(request.path_params["id"])
        session = await booking.describe(request.app.state.pool, appointment_id, me.user_id,
                                         me.is_therapist)
    except (ValueError, booking.NotFound):
        return RedirectResponse("/calendar" if me.is_therapist else "/home", status_code=303)
    pool = request.app.state.pool
    rules = await booking_rules.load(pool)
    video = checks = None
    if session["session_type"] == "video" and session["upcoming"]:
        video = await video_pages.status(pool, request.app.state.settings, session["id"],
                                         me.user_id)
        if me.is_therapist:  # the client's last pre-check, beside the session
            checks = await video_checks.last_checks(pool, session["id"],
                                                    [session["client"]["id"]])
    return await render(request, "scheduling/session.html", me, session=session, rules=rules,
                        session_types=SESSION_TYPE_NAMES, video=video,
                        last_check=checks[0] if checks else None)


@portal_page()
async def waitlist_page(request: Request, me: Principal) -> Response:
    pool = request.app.state.pool
    if me.is_therapist:
        entries = await waitlist.active_for(pool, division_id=me.division_id)
    else:
        entries = await waitlist.active_for(pool, client_id=me.user_id)
    return await render(request, "scheduling/waitlist.html", me, entries=entries,
                        rules=await booking_rules.load(pool), keep_for=waitlist.KEEP_FOR,
                        session_types=SESSION_TYPE_NAMES,
                        wanted_type=request.query_params.get("session_type", "video"),
                        wanted_length=request.query_params.get("length", ""))


def page_routes() -> list[Route]:
    return [Route("/calendar", calendar_page), Route("/calendar/settings", settings_page),
            Route("/waitlist", waitlist_page),
            Route("/sessions/{id:int}", session_page), *calendar.feed_routes()]
