"""The arrival ding: a soft two-note chime (A5 then E6 with a gentle decay), written as WAV.

`python -m media.ding` writes web/static/sounds/ding.wav; the small file is committed so the
portal needs no build step.
"""
from __future__ import annotations

import array
import math
import wave
from pathlib import Path

RATE = 22_050
NOTES = [(880.0, 0.0), (1318.5, 0.14)]  # (Hz, start in seconds)
LENGTH = 0.75
TARGET = Path(__file__).resolve().parent.parent / "web" / "static" / "sounds" / "ding.wav"


def samples() -> array.array:
    out = array.array("h")
    for i in range(int(RATE * LENGTH)):
        t = i / RATE
        value = 0.0
        for hz, start in NOTES:
            if t >= start:
                age = t - start
                attack = min(1.0, age / 0.005)  # no click at the start of a note
                value += attack * math.exp(-age * 6) * (math.sin(2 * math.pi * hz * age)
                                                        + 0.25 * math.sin(4 * math.pi * hz * age))
        fade = min(1.0, (LENGTH - t) / 0.05)
        out.append(int(max(-1.0, min(1.0, 0.3 * value * fade)) * 32767))
    return out


def write(path: Path = TARGET) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples().tobytes())
    return path


if __name__ == "__main__":
    print(write())
