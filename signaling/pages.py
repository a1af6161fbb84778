"""The video room's page and API: may I join now, and the room itself (pre-check first).

The "Start Video Session" button on scheduling's session detail page leads here.
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from media import quality
from server.api import Api, Call
from server.auth.principal import Principal
from server.errors import NotFound
from server.rendering import portal_page, render
from signaling import access, ice

api = Api()


async def status(pool, settings, appointment_id: int, user_id: int) -> dict:
    room = await access.participant_room(pool, appointment_id, user_id, settings)
    refused = await access.refusal(pool, room)
    appointment = room.appointment
    other_id = appointment.clinician_id if user_id == appointment.client_id \
        else appointment.client_id
    other = await pool.fetchrow("SELECT name FROM users WHERE id = $1", other_id)
    return {
        "appointment_id": appointment.id,
        "session_type": appointment.session_type,
        "status": appointment.status,
        "starts_at": appointment.starts_at.isoformat(),
        "ends_at": appointment.ends_at.isoformat(),
        "opens_at": room.opens_at.isoformat(),
        "role": "client" if user_id == appointment.client_id else "clinician",
        "other_name": other["name"] if other else "",
        "can_join": refused is None,
        "refusal": None if refused is None else {"code": refused.code,
                                                 "message": refused.message},
        "relay": settings.video_relay,
        "ice_servers": ice.ice_servers(settings, user_id) if refused is None else [],
        "quality_presets": quality.as_json(),
    }


@api.route("GET", "/api/appointments/{id:int}/video")
async def video_status(call: Call) -> dict:
    """Whether the caller may enter this appointment's video room now, and if not, why."""
    return await status(call.pool, call.settings, call.path_id(), call.user.user_id)


def _appointment_id(request: Request) -> int:
    value = request.path_params["id"]
    if not 0 < value < 2**63:
        raise NotFound("That session")
    return value


async def _page_status(request: Request, me: Principal) -> dict | None:
    try:
        return await status(request.app.state.pool, request.app.state.settings,
                            _appointment_id(request), me.user_id)
    except NotFound:
        return None


@portal_page()
async def room_page(request: Request, me: Principal) -> Response:
    info = await _page_status(request, me)
    if info is None:
        return await render(request, "video/unavailable.html", me, status=404,
                            message="That session was not found.", appointment_id=None)
    if not info["can_join"]:
        return await render(request, "video/unavailable.html", me, status=409,
                            message=info["refusal"]["message"],
                            appointment_id=info["appointment_id"])
    return await render(request, "video/room.html", me, info=info,
                        presets=quality.as_json())


def page_routes() -> list[Route]:
    return [Route("/sessions/{id:int}/video", room_page)]
