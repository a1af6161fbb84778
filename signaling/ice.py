"""The ICE servers a participant's browser gets: STUN, and TURN with a short-lived credential.

TURN credentials follow coturn's `use-auth-secret` (the "TURN REST API" draft): the username
is "<expiry unix time>:<user id>" and the password is base64(HMAC-SHA1(secret, username)).
coturn recomputes the password from its copy of the secret, so nothing is stored, and a
credential copied out of a page stops working when it expires.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import time

from server.settings import Settings


def turn_credential(secret: str, user_id: int, ttl_seconds: int,
                    now: float | None = None) -> tuple[str, str]:
    """(username, password) valid for `ttl_seconds` from `now`."""
    expiry = int((time.time() if now is None else now) + ttl_seconds)
    username = f"{expiry}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(settings: Settings, user_id: int) -> list[dict]:
    """RTCIceServer dictionaries for the browser (and for aiortc through media.peer)."""
    servers: list[dict] = []
    if settings.video_stun_urls:
        servers.append({"urls": list(settings.video_stun_urls)})
    if settings.video_turn_urls and settings.video_turn_secret:
        username, credential = turn_credential(settings.video_turn_secret, user_id,
                                               settings.video_turn_ttl_minutes * 60)
        servers.append({"urls": list(settings.video_turn_urls), "username": username,
                        "credential": credential})
    return servers
