"""The Messages pages: a client's threads, the therapist's inbox, a thread, a new message,
and the therapist's response hours and alerts.

Pages read; sending goes through the JSON API (web/static/js/messages.js), and the same
script swaps in a fresh server rendering of the list when a message.new event arrives, so
the markup of a message lives in one template only.

Other pages start a message with a prefilled subject by linking to
`/messages/new?subject=…` (for instance "Ask for diagnosis code" on Billing).
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scheduling.schedule import utcnow
from server import accounts, practice
from server.auth.principal import Principal
from server.messages import attachments, delivery, expectations, threads
from server.messages.threads import Scope
from server.rendering import portal_page, render

# What the file picker and its hint need to know.
ATTACH_LIMITS = {"accept": ",".join(f".{e}" for e in attachments.TYPES),
                 "max_bytes": attachments.MAX_BYTES,
                 "max_text": attachments.size_text(attachments.MAX_BYTES)}


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name, "")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 2**31 else None


def short_when(iso: str, zone: ZoneInfo, now: datetime) -> str:
    """'9:05 AM' today, 'Mar 3, 9:05 AM' this year, 'Mar 3, 2025' before."""
    moment = datetime.fromisoformat(iso).astimezone(zone)
    today = now.astimezone(zone)
    clock = f"{moment:%-I:%M %p}"
    if moment.date() == today.date():
        return clock
    if moment.year == today.year:
        return f"{moment:%b} {moment.day}, {clock}"
    return f"{moment:%b} {moment.day}, {moment.year}"


def _with_times(items: list[dict], key: str, zone: ZoneInfo) -> list[dict]:
    now = utcnow()
    return [{**item, "when": short_when(item[key], zone, now)} for item in items]


async def _clients_of(request: Request, division_ids: list[int]) -> list[dict]:
    pool = request.app.state.pool
    found: dict[int, dict] = {}
    for division_id in division_ids:
        for client in await accounts.clients_in_division(pool, division_id):
            found.setdefault(client["id"], client)
    return sorted(found.values(), key=lambda c: (c["name"].lower(), c["id"]))


async def _inbox(request: Request, me: Principal) -> Response:
    pool = request.app.state.pool
    zone = practice.zone(await practice.get(pool))
    division_id = _int_param(request, "division")
    if division_id is not None and not me.in_division(division_id):
        division_id = None
    division_ids = [division_id] if division_id else [d.id for d in me.divisions]
    clients = await _clients_of(request, division_ids)
    client_id = _int_param(request, "client")
    if client_id not in {c["id"] for c in clients}:
        client_id = None
    query = request.query_params.get("q", "").strip()[:200]
    scope = Scope.of(me)
    async with pool.acquire() as conn:
        if query:
            found = await delivery.search(conn, request, me, query, division_ids, client_id)
            listed = []
        else:
            found = []
            listed = await threads.listing(conn, scope, division_ids, client_id)
    listed = _with_times(listed, "last_message_at", zone)
    return await render(
        request, "messages/inbox.html", me, query=query, results=found,
        waiting=[t for t in listed if t["waiting_since"]],
        others=[t for t in listed if not t["waiting_since"]],
        clients=clients, division_id=division_id, client_id=client_id,
        expect=await expectations.current(pool))


@portal_page()
async def messages_page(request: Request, me: Principal) -> Response:
    if me.is_therapist:
        return await _inbox(request, me)
    pool = request.app.state.pool
    zone = practice.zone(await practice.get(pool))
    listed = await threads.listing(pool, Scope.of(me),
                                   [me.division_id] if me.division_id else [])
    return await render(request, "messages/client_list.html", me,
                        threads=_with_times(listed, "last_message_at", zone),
                        expect=await expectations.current(pool))


@portal_page()
async def new_message_page(request: Request, me: Principal) -> Response:
    pool = request.app.state.pool
    clients = await _clients_of(request, [me.division_id]) if me.is_therapist and \
        me.division_id else []
    return await render(request, "messages/new.html", me,
                        subject=request.query_params.get("subject", "")[:200],
                        clients=clients, client_id=_int_param(request, "client"),
                        expect=await expectations.current(pool),
                        **ATTACH_LIMITS)


@portal_page()
async def thread_page(request: Request, me: Principal) -> Response:
    pool = request.app.state.pool
    thread_id = request.path_params["id"]
    scope = Scope.of(me)
    async with pool.acquire() as conn:
        thread = await threads.get(conn, scope, thread_id) if thread_id < 2**63 else None
        if thread is None:
            raise HTTPException(404)
        items, seen = await delivery.read(conn, request, me, thread)
        summary = await threads.summary(conn, scope, thread.id)
    zone = practice.zone(await practice.get(pool))
    # "Read" shows under the last of one's own messages the other side has read.
    read_mark_id = max((m["id"] for m in items if m["mine"] and m["id"] <= seen), default=None)
    return await render(request, "messages/thread.html", me, thread=summary,
                        messages=_with_times(items, "created_at", zone),
                        read_mark_id=read_mark_id,
                        expect=await expectations.current(pool),
                        **ATTACH_LIMITS)


@portal_page("therapist")
async def settings_page(request: Request, me: Principal) -> Response:
    pool = request.app.state.pool
    return await render(request, "messages/settings.html", me,
                        expect=await expectations.current(pool),
                        prefs=expectations.prefs_json(
                            await expectations.load_alert_prefs(pool, me.user_id)),
                        day_names=list(enumerate(expectations.h.DAY_NAMES)),
                        digest_choices=expectations.DIGEST_CHOICES)


def page_routes() -> list[Route]:
    return [
        Route("/messages", messages_page),
        Route("/messages/new", new_message_page),
        Route("/messages/settings", settings_page),
        Route("/messages/{id:int}", thread_page),
    ]
