"""Settings read once from the environment; every name is documented in deploy/ENV.md."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit


class SettingsError(ValueError):
    """An environment variable holds a value the portal cannot use."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def _urls(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> tuple[str, ...]:
    urls = tuple(u.strip() for u in (env.get(name) or "").split(",") if u.strip())
    for url in urls:
        if not url.startswith(schemes):
            raise SettingsError(f"{name} holds {url!r}; each address starts with "
                                + " or ".join(schemes))
    return urls


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = (env.get(name) or default).lower()
    if raw not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return raw


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = "http://127.0.0.1:8000"
    database_url: str | None = None
    data_dir: Path = field(default_factory=lambda: Path("var"))
    demo: bool = False
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    login_account_failures: int = 5
    login_address_failures: int = 20
    login_window_minutes: int = 15
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "portal@localhost"
    mail_worker: bool = True
    mail_poll_seconds: float = 2.0
    mail_retry_seconds: float = 30.0
    local_mail: bool = False
    events_retention_days: int = 30
    forwarded_allow_ips: str = "127.0.0.1"
    video_join_early_minutes: int = 15
    video_stun_urls: tuple[str, ...] = ()
    video_turn_urls: tuple[str, ...] = ()
    video_turn_secret: str | None = None
    video_turn_ttl_minutes: int = 240
    video_relay: str = "off"  # off | fallback | always

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        host = env.get("HOST") or "127.0.0.1"
        port = _int(env, "PORT", 8000, minimum=0)
        public_url = (env.get("PUBLIC_URL") or f"http://{host}:{port}").rstrip("/")
        if urlsplit(public_url).scheme not in {"http", "https"}:
            raise SettingsError("PUBLIC_URL must start with http:// or https://")
        if env.get("VIDEO_TURN_URLS") and not env.get("VIDEO_TURN_SECRET"):
            raise SettingsError("VIDEO_TURN_URLS needs VIDEO_TURN_SECRET (coturn's "
                                "static-auth-secret)")
        return cls(
            host=host,
            port=port,
            public_url=public_url,
            database_url=env.get("DATABASE_URL") or None,
            data_dir=Path(env.get("PORTAL_DATA_DIR") or "var"),
            demo=_bool(env, "PORTAL_DEMO", False),
            session_idle_minutes=_int(env, "SESSION_IDLE_MINUTES", 30, minimum=1),
            session_absolute_hours=_int(env, "SESSION_ABSOLUTE_HOURS", 12, minimum=1),
            login_account_failures=_int(env, "LOGIN_ACCOUNT_FAILURES", 5, minimum=1),
            login_address_failures=_int(env, "LOGIN_ADDRESS_FAILURES", 20, minimum=1),
            login_window_minutes=_int(env, "LOGIN_WINDOW_MINUTES", 15, minimum=1),
            smtp_host=env.get("SMTP_HOST") or None,
            smtp_port=_int(env, "SMTP_PORT", 25, minimum=1),
            smtp_username=env.get("SMTP_USERNAME") or None,
            smtp_password=env.get("SMTP_PASSWORD") or None,
            smtp_starttls=_bool(env, "SMTP_STARTTLS", False),
            mail_from=env.get("MAIL_FROM") or "portal@localhost",
            mail_worker=_bool(env, "MAIL_WORKER", True),
            mail_retry_seconds=_int(env, "MAIL_RETRY_SECONDS", 30, minimum=1),
            # Trying the portal (embedded database or demo) with no mail server: a loopback
            # SMTP server takes the mail, and the therapist reads it on the Sent mail page.
            local_mail=not env.get("SMTP_HOST") and (not env.get("DATABASE_URL")
                                                      or _bool(env, "PORTAL_DEMO", False)),
            events_retention_days=_int(env, "EVENTS_RETENTION_DAYS", 30, minimum=1),
            forwarded_allow_ips=env.get("FORWARDED_ALLOW_IPS") or "127.0.0.1",
            video_join_early_minutes=_int(env, "VIDEO_JOIN_EARLY_MINUTES", 15, minimum=0),
            video_stun_urls=_urls(env, "VIDEO_STUN_URLS", ("stun:",)),
            video_turn_urls=_urls(env, "VIDEO_TURN_URLS", ("turn:", "turns:")),
            video_turn_secret=env.get("VIDEO_TURN_SECRET") or None,
            video_turn_ttl_minutes=_int(env, "VIDEO_TURN_TTL_MINUTES", 240, minimum=1),
            video_relay=_choice(env, "VIDEO_RELAY", "off", ("off", "fallback", "always")),
        )

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def public_origin(self) -> str:
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"
