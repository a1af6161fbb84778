"""Relay mode on the room's socket: a browser's offer to the practice's server peer, its
quality choice, and its leaving. media/relay.py carries each to the node hosting the room.

  {"type": "video.relay.offer",   "appointment_id", "peer_id", "sdp"}
      -> {"type": "video.relay.answer", "appointment_id", "peer_id", "sdp"}
  {"type": "video.relay.quality", "appointment_id", "peer_id", "preset"}
      -> {"type": "video.relay.quality", "appointment_id", "preset"}
"""
from __future__ import annotations

import logging
from typing import Any

from starlette.websockets import WebSocket

from media import quality, relay
from server.auth.principal import Principal
from server.errors import ApiError
from signaling.protocol import (MAX_SIGNAL_BYTES, BadMessage, appointment_of, leave_hooks,
                                peer_of, register, reply, room_member)

log = logging.getLogger(__name__)


async def in_room(websocket: WebSocket, principal: Principal, message: dict) -> tuple[int, str]:
    appointment_id = appointment_of(message)
    peer_id = peer_of(message)
    if websocket.app.state.settings.video_relay == "off":
        raise ApiError(409, "relay_off", "This practice does not relay video through its server.")
    async with websocket.app.state.pool.acquire() as conn:
        if await room_member(conn, appointment_id, peer_id, principal.user_id) is None:
            raise ApiError(409, "not_in_room", "Join the room first.")
    return appointment_id, peer_id


async def on_relay_offer(websocket: WebSocket, principal: Principal, message: dict) -> None:
    """Relay mode: this browser's offer to the practice's server peer; the answer comes back."""
    sdp = message.get("sdp")
    if not isinstance(sdp, str) or not 10 <= len(sdp) <= MAX_SIGNAL_BYTES:
        raise BadMessage("sdp must be a session description.", "sdp")
    appointment_id, peer_id = await in_room(websocket, principal, message)
    try:
        answer = await websocket.app.state.relay.request(
            appointment_id, peer_id, principal.user_id, "offer", sdp)
    except relay.RelayError as exc:
        raise ApiError(503, "relay_failed", f"The practice's server could not relay: {exc}.")
    reply(websocket, {"type": "video.relay.answer", "appointment_id": appointment_id,
                      "peer_id": peer_id, "sdp": answer})


async def on_relay_quality(websocket: WebSocket, principal: Principal, message: dict) -> None:
    preset = message.get("preset")
    if preset not in quality.PRESETS:
        raise BadMessage("preset must be auto, high, medium or low.", "preset")
    appointment_id, peer_id = await in_room(websocket, principal, message)
    await websocket.app.state.relay.request(appointment_id, peer_id, principal.user_id,
                                            "quality", preset)
    reply(websocket, {"type": "video.relay.quality", "appointment_id": appointment_id,
                      "preset": preset})


async def relay_leave(app: Any, appointment_id: int, peer_id: str, user_id: int) -> None:
    relay_service = getattr(app.state, "relay", None)
    if relay_service is not None:
        try:
            await relay_service.request(appointment_id, peer_id, user_id, "leave", "")
        except relay.RelayError as exc:
            log.warning("relay leave failed: %s", exc)


register("video.relay.offer", on_relay_offer)
register("video.relay.quality", on_relay_quality)
leave_hooks.append(relay_leave)
