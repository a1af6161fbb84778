"""GET /ws: the one WebSocket a page keeps open, for events now and video signaling later.

Protocol (JSON text frames):
  client -> {"type": "ping"}                 every 25 s; answered {"type": "pong"}
  server -> {"type": "hello", "last_id": N}  once; N is where live delivery starts
  server -> {"type": "event", "id", "kind", "payload", "created_at"}
Connect with ?last_id=N to resume: every event after N comes first, in order, once.
Other message types are routed to the handlers that areas register (signaling); a handler
answers its own socket through `websocket.state.socket.push`, and `closers` run when a socket
ends (the video room announces that its participant left).
"""
from __future__ import annotations

import logging
from typing import Awaitable, Callable

from starlette.websockets import WebSocket, WebSocketDisconnect

from server.auth import csrf, sessions
from server.auth.principal import Principal
from server.errors import ApiError
from server.hub import Hub, Socket

log = logging.getLogger(__name__)

LOGGED_OUT = 4401  # close code: the session ended; the page sends the person to Log In
MessageHandler = Callable[[WebSocket, Principal, dict], Awaitable[None]]
handlers: dict[str, MessageHandler] = {}
Closer = Callable[[WebSocket, Principal], Awaitable[None]]
closers: list[Closer] = []


def _resume_point(websocket: WebSocket) -> int | None:
    raw = websocket.query_params.get("last_id", "")
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


async def endpoint(websocket: WebSocket) -> None:
    app = websocket.app
    try:
        csrf.check_origin(websocket, app.state.settings)
    except ApiError:
        await websocket.close(code=1008)
        return
    principal = await sessions.load(app.state.pool, websocket, app.state.settings, touch=False)
    if principal is None:
        await websocket.close(code=LOGGED_OUT)
        return
    await websocket.accept()
    hub: Hub = app.state.hub
    socket = Socket(websocket, principal.user_id)
    websocket.state.socket = socket
    resume_after = _resume_point(websocket)
    socket.push({"type": "hello", "user_id": principal.user_id,
                 "last_id": resume_after if resume_after is not None else hub.cursor})
    hub.attach(socket, resume_after)
    try:
        while True:
            message = await websocket.receive_json()
            if not isinstance(message, dict):
                continue
            kind = message.get("type")
            if kind == "ping":
                # The heartbeat also notices a session that ended (logout, timeout elsewhere).
                if await sessions.load(app.state.pool, websocket, app.state.settings,
                                       touch=False) is None:
                    await websocket.close(code=LOGGED_OUT)
                    break
                socket.push({"type": "pong"})
            elif isinstance(kind, str) and kind in handlers:
                await handlers[kind](websocket, principal, message)
    except (WebSocketDisconnect, ValueError, KeyError, RuntimeError):
        pass
    finally:
        hub.detach(socket)
        for closer in closers:
            try:
                await closer(websocket, principal)
            except Exception:  # one area's clean-up must not stop another's
                log.exception("closing a socket failed in %s", closer.__qualname__)
        await socket.close()
