"""Quality presets of the room's settings button, one table for the browser and the relay.

In the browser a preset becomes `RTCRtpSender.setParameters` on the video sender
(`maxBitrate`, `scaleResolutionDownBy`); "auto" removes both caps and leaves it to the
browser's congestion control. In relay mode the same preset also caps the server's encoder
towards that browser: aiortc has no public bitrate API, its VP8 encoder follows the
receiver's estimate between MIN_BITRATE and MAX_BITRATE of aiortc/codecs/vpx.py (250 kbit/s
to 1.5 Mbit/s), so the relay clamps that estimate and scales the frames itself.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    label: str
    max_bitrate: int | None  # bits per second; None: no cap
    scale_down: float  # 1.0 keeps the camera's resolution


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("auto", "Auto", None, 1.0),
    Preset("high", "High", 1_500_000, 1.0),
    Preset("medium", "Medium", 600_000, 1.5),
    Preset("low", "Low", 250_000, 2.0),
)}


def as_json() -> list[dict]:
    return [asdict(p) for p in PRESETS.values()]
