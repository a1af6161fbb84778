"""CSRF defence: a synchronizer token per session, and the Origin check as a second line."""
from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection, Request

from server.auth.principal import Principal
from server.errors import ApiError
from server.settings import Settings

HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def check_origin(request: HTTPConnection, settings: Settings) -> None:
    """Refuse a browser request sent from another site.

    Browsers send Origin on every cross-site POST/PUT/DELETE; clients that are not browsers
    send none, and for them the token alone decides.
    """
    origin = request.headers.get("origin")
    if origin is not None:
        scheme = {"ws": "http", "wss": "https"}.get(request.url.scheme, request.url.scheme)
        own = f"{scheme}://{request.headers.get('host', '')}"
        if origin.rstrip("/") not in {settings.public_origin, own}:
            raise ApiError(403, "csrf_failed", "This request came from another site.")
        return
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise ApiError(403, "csrf_failed", "This request came from another site.")


def check_token(request: Request, principal: Principal) -> None:
    sent = request.headers.get(HEADER, "")
    if not sent or not hmac.compare_digest(sent.encode(), principal.csrf_token.encode()):
        raise ApiError(403, "csrf_failed",
                       "The security token is missing or wrong. Reload the page and try again.")


def url_is_local(target: str) -> bool:
    """True for a path on this site, so a `next` parameter cannot send people elsewhere."""
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and target.startswith("/") \
        and not target.startswith("//")
