"""TURN credentials as coturn's use-auth-secret expects, and a coturn configuration that
refuses to relay into private and loopback networks."""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
from pathlib import Path

from media.checks import verdict
from server.settings import Settings
from signaling.ice import ice_servers, turn_credential

CONF = Path(__file__).resolve().parent.parent / "deploy" / "coturn.conf"


def test_credentials_expire_and_verify_with_the_shared_secret():
    username, password = turn_credential("s3cret", 42, 3600, now=1_800_000_000)
    assert username == "1800003600:42"
    expected = hmac.new(b"s3cret", username.encode(), hashlib.sha1).digest()
    assert base64.b64decode(password) == expected


def test_ice_servers_come_from_the_settings():
    assert ice_servers(Settings(), 7) == []
    settings = Settings.from_env({"VIDEO_STUN_URLS": "stun:turn.example.org:3478",
                                  "VIDEO_TURN_URLS": "turn:turn.example.org:3478?transport=udp",
                                  "VIDEO_TURN_SECRET": "x"})
    stun, turn = ice_servers(settings, 7)
    assert stun == {"urls": ["stun:turn.example.org:3478"]}
    assert turn["username"].endswith(":7") and turn["credential"]


def test_coturn_refuses_private_and_loopback_peers():
    text = CONF.read_text()
    assert "use-auth-secret" in text.split("\n")
    ranges = []
    for start, end in re.findall(r"^denied-peer-ip=([0-9a-f:.]+)(?:-([0-9a-f:.]+))?$", text,
                                 re.MULTILINE):
        first = ipaddress.ip_address(start)
        ranges.append((first, ipaddress.ip_address(end) if end else first))
    for address in ("127.0.0.1", "10.1.2.3", "172.20.0.1", "192.168.1.10", "169.254.169.254",
                    "100.64.0.1", "0.0.0.0", "::1", "fd00::1", "fe80::1", "::ffff:10.0.0.1"):
        ip = ipaddress.ip_address(address)
        assert any(a.version == ip.version and a <= ip <= b for a, b in ranges), address
    public = ipaddress.ip_address("8.8.8.8")
    assert not any(a.version == 4 and a <= public <= b for a, b in ranges)


def test_the_verdict_follows_the_published_scale():
    good = dict(download_kbps=5000, upload_kbps=2000, rtt_ms=40, jitter_ms=5, loss_pct=0)
    assert verdict(**good)[0] == "good"
    assert verdict(**{**good, "upload_kbps": 900})[0] == "fair"
    assert verdict(**{**good, "rtt_ms": 350})[0] == "fair"
    assert verdict(**{**good, "jitter_ms": 45})[0] == "fair"
    assert verdict(**{**good, "loss_pct": 12})[0] == "poor"
    assert verdict(**{**good, "download_kbps": 500})[0] == "poor"
    grade, advice = verdict(**{**good, "rtt_ms": 700})
    assert grade == "poor" and any("lag" in line for line in advice)


def test_rates_past_what_the_data_channel_measures_are_kept_as_at_least():
    from media.checks import at_least
    from media.precheck import MEASURABLE_KBPS
    from media.rates import best_rate_kbps

    assert at_least(2500, False) == (2500, False)
    assert at_least(MEASURABLE_KBPS + 4000, False) == (MEASURABLE_KBPS, True)
    assert at_least(None, False) == (None, False)
    steady = [(i / 100, 10_000) for i in range(200)]  # 1 MB/s (8 Mbit/s) for two seconds
    assert 7_800 <= best_rate_kbps(steady) <= 8_200
    burst = [(2.0 + i / 400, 10_000) for i in range(200)]  # then 32 Mbit/s for half a second
    assert 31_000 <= best_rate_kbps(steady + burst) <= 33_000
    assert best_rate_kbps([(0.0, 1000), (0.1, 1000)]) == 80
