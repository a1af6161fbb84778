"""Pre-check results: the verdict, the advice, and the API that keeps and shows them.

The verdict follows Daily's published scale for its peer-to-peer call quality test
(docs.daily.co, "testPeerToPeerCallQuality()", "Meaning of result"):
  good  loss < 5 %,    round trip < 300 ms,     rate >= 1,100 kbit/s
  fair  loss 5-10 %,   round trip 300-600 ms,   rate 700-1,100 kbit/s  (Daily's "warning")
  poor  loss >= 10 %,  round trip >= 600 ms,    rate < 700 kbit/s      (Daily's "bad")
and, for jitter, Twilio's Preflight API report ("optimal" jitter under 30 ms): more than
that makes a good result fair. The rate judged is the smaller of download and upload, since
a session sends as much as it receives. The worst measure decides.
"""
from __future__ import annotations

from datetime import datetime

import asyncpg
from pydantic import BaseModel, Field

from media.precheck import MEASURABLE_KBPS, PrecheckService
from server.api import Api, Call
from server.errors import ApiError
from signaling import access

api = Api()

RANK = {"good": 0, "fair": 1, "poor": 2}
ADVICE = {
    "rate": "Your connection is slow for video. Move closer to the Wi-Fi router or use a wired "
            "connection, and pause downloads, streaming or other video calls on your network.",
    "rtt": "Sound and picture may lag. A wired connection or a different network helps; "
           "avoid VPNs during the session.",
    "loss": "Some of the data is lost on the way, so video may freeze. Move closer to the "
            "Wi-Fi router, or switch between Wi-Fi and mobile data.",
    "jitter": "Your connection is uneven, so sound may break up. Pause other uses of the "
              "network during the session.",
    "devices": "The camera or microphone is not available: allow access in the browser's "
               "site settings, or choose another device.",
}
GOOD_ADVICE = "Your connection is ready for video."


def _grade(value: float | None, fair_at: float, poor_at: float) -> str:
    """For measures where more is worse; an unmeasured one does not count."""
    if value is None:
        return "good"
    if value >= poor_at:
        return "poor"
    return "fair" if value >= fair_at else "good"


def verdict(*, download_kbps: int | None, upload_kbps: int | None, rtt_ms: float | None,
            jitter_ms: float | None, loss_pct: float | None, camera: bool = True,
            microphone: bool = True) -> tuple[str, list[str]]:
    """("good" | "fair" | "poor", advice lines) for one pre-check."""
    rates = [r for r in (download_kbps, upload_kbps) if r is not None]
    rate = min(rates) if rates else 0  # no rate at all: the network check failed
    grades = {
        "rate": "poor" if rate < 700 else "fair" if rate < 1100 else "good",
        "rtt": _grade(rtt_ms, 300, 600),
        "loss": _grade(loss_pct, 5, 10),
        "jitter": "fair" if jitter_ms is not None and jitter_ms > 30 else "good",
        "devices": "good" if camera and microphone else "fair",
    }
    worst = max(grades.values(), key=RANK.__getitem__)
    advice = [ADVICE[k] for k, g in grades.items() if g != "good"]
    return worst, advice or [GOOD_ADVICE]


class CheckReport(BaseModel):
    """What the browser measured (the upload rate as the server's peer counted it)."""

    camera: bool
    microphone: bool
    download_kbps: int | None = Field(default=None, ge=0, le=10_000_000)
    download_at_least: bool = False
    upload_kbps: int | None = Field(default=None, ge=0, le=10_000_000)
    upload_at_least: bool = False
    rtt_ms: int | None = Field(default=None, ge=0, le=60_000)
    jitter_ms: int | None = Field(default=None, ge=0, le=60_000)
    loss_pct: float | None = Field(default=None, ge=0, le=100)
    duration_ms: int = Field(ge=0, le=600_000)


class Offer(BaseModel):
    sdp: str = Field(min_length=10, max_length=20_000)


def as_json(row: asyncpg.Record) -> dict:
    found = dict(row)
    checked: datetime = found.pop("checked_at")
    return {**found, "checked_at": checked.isoformat(),
            "advice": [line for line in found["advice"].split("\n") if line]}


def at_least(kbps: int | None, said_at_least: bool) -> tuple[int | None, bool]:
    if kbps is None or (kbps < MEASURABLE_KBPS and not said_at_least):
        return kbps, False
    return min(kbps, MEASURABLE_KBPS), True


async def record(conn: asyncpg.Connection | asyncpg.Pool, appointment_id: int, user_id: int,
                 report: CheckReport) -> dict:
    # Past what the data channel can measure, a rate is kept as "at least" the ceiling.
    download, down_least = at_least(report.download_kbps, report.download_at_least)
    upload, up_least = at_least(report.upload_kbps, report.upload_at_least)
    grade, advice = verdict(download_kbps=download, upload_kbps=upload, rtt_ms=report.rtt_ms,
                            jitter_ms=report.jitter_ms, loss_pct=report.loss_pct,
                            camera=report.camera, microphone=report.microphone)
    row = await conn.fetchrow(
        """INSERT INTO video_checks (appointment_id, user_id, camera, microphone, download_kbps,
               download_at_least, upload_kbps, upload_at_least, rtt_ms, jitter_ms, loss_pct,
               duration_ms, verdict, advice)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
           RETURNING *""",
        appointment_id, user_id, report.camera, report.microphone, download, down_least,
        upload, up_least, report.rtt_ms, report.jitter_ms, report.loss_pct, report.duration_ms,
        grade, "\n".join(advice))
    return as_json(row)


async def last_checks(conn: asyncpg.Connection | asyncpg.Pool, appointment_id: int,
                      user_ids: list[int]) -> list[dict]:
    """The newest check of each of these users for this appointment."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (c.user_id) c.*, u.name FROM video_checks c
           JOIN users u ON u.id = c.user_id
           WHERE c.appointment_id = $1 AND c.user_id = ANY($2::bigint[])
           ORDER BY c.user_id, c.checked_at DESC""", appointment_id, user_ids)
    return [as_json(r) for r in rows]


def service(call: Call) -> PrecheckService:
    return call.request.app.state.precheck


@api.route("POST", "/api/appointments/{id:int}/video/precheck", body=Offer)
async def precheck_offer(call: Call) -> dict:
    """Answer the pre-check's WebRTC offer with the server's measuring peer."""
    await access.joinable_room(call.pool, call.path_id(), call.user.user_id, call.settings)
    try:
        sdp = await service(call).answer(call.body.sdp)
    except (ValueError, TimeoutError):
        raise ApiError(422, "invalid", "That is not a usable session description.",
                       field="sdp") from None
    return {"type": "answer", "sdp": sdp}


@api.route("POST", "/api/appointments/{id:int}/video/checks", body=CheckReport, status=201)
async def post_check(call: Call) -> dict:
    """Keep a pre-check's measurements; the answer carries the verdict and advice."""
    room = await access.participant_room(call.pool, call.path_id(), call.user.user_id,
                                         call.settings)
    return await record(call.pool, room.id, call.user.user_id, call.body)


@api.route("GET", "/api/appointments/{id:int}/video/checks")
async def get_checks(call: Call) -> dict:
    """The last pre-check of each participant: all for the clinician, one's own for a client."""
    room = await access.participant_room(call.pool, call.path_id(), call.user.user_id,
                                         call.settings)
    appointment = room.appointment
    users = [call.user.user_id] if call.user.user_id == appointment.client_id \
        else [appointment.client_id, appointment.clinician_id]
    found = await last_checks(call.pool, room.id, users)
    for check in found:
        check["role"] = "client" if check["user_id"] == appointment.client_id else "clinician"
    return {"checks": found}
