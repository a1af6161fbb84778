"""Settings come from the environment, and bad values say which variable is wrong."""
from __future__ import annotations

import pytest

from server.settings import Settings, SettingsError


def test_defaults_serve_on_loopback():
    settings = Settings.from_env({})
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.session_idle_minutes == 30 and settings.session_absolute_hours == 12
    assert not settings.demo and settings.database_url is None
    assert not settings.secure_cookies


def test_host_port_and_public_url():
    settings = Settings.from_env({"HOST": "0.0.0.0", "PORT": "9000",
                                  "PUBLIC_URL": "https://portal.example/"})
    assert settings.port == 9000 and settings.public_url == "https://portal.example"
    assert settings.secure_cookies and settings.public_origin == "https://portal.example"


@pytest.mark.parametrize("env, name", [
    ({"PORT": "eighty"}, "PORT"),
    ({"SESSION_IDLE_MINUTES": "0"}, "SESSION_IDLE_MINUTES"),
    ({"PORTAL_DEMO": "maybe"}, "PORTAL_DEMO"),
    ({"PUBLIC_URL": "ftp://x"}, "PUBLIC_URL"),
])
def test_bad_values_name_the_variable(env, name):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(env)


def test_every_setting_is_documented():
    from pathlib import Path
    import re

    source = (Path(__file__).parent.parent / "server" / "settings.py").read_text()
    names = set(re.findall(r'"([A-Z][A-Z_]+)"', source))
    doc = (Path(__file__).parent.parent / "deploy" / "ENV.md").read_text()
    assert names and all(f"`{name}`" in doc for name in names), names
