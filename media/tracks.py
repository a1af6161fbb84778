"""Synthetic tracks for tests and benchmarks: a moving picture (640x360 at 30 fps by default)
and a quiet tone. No numpy: the planes are built once as bytes and cycled."""
from __future__ import annotations

import array
import math

from aiortc import AudioStreamTrack, VideoStreamTrack
from av import AudioFrame, VideoFrame

CYCLE = 30  # distinct pictures; every frame differs from the one before


class MovingPicture(VideoStreamTrack):
    """A grey gradient with a white bar that moves one step a frame."""

    def __init__(self, width: int = 640, height: int = 360) -> None:
        super().__init__()
        self.width, self.height = width, height
        self.count = 0
        probe = VideoFrame(width, height, "yuv420p")
        self.strides = [plane.line_size for plane in probe.planes]
        self.lumas = [self._luma(i) for i in range(CYCLE)]
        grey = 128
        self.chroma = [bytes([grey]) * (self.strides[p] * (height // 2)) for p in (1, 2)]

    def _luma(self, step: int) -> bytes:
        stride = self.strides[0]
        row = bytearray(stride)
        for x in range(self.width):
            row[x] = 16 + (x * 200) // self.width
        bar = (step * self.width // CYCLE)
        row[bar:min(bar + 24, self.width)] = b"\xeb" * (min(bar + 24, self.width) - bar)
        return bytes(row) * self.height

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame(self.width, self.height, "yuv420p")
        frame.planes[0].update(self.lumas[self.count % CYCLE])
        frame.planes[1].update(self.chroma[0])
        frame.planes[2].update(self.chroma[1])
        self.count += 1
        frame.pts, frame.time_base = pts, time_base
        return frame


class Tone(AudioStreamTrack):
    """A 450 Hz tone (nine whole periods per 20 ms frame) at a low level, with the timing and
    sample rate of aiortc's own AudioStreamTrack (8 kHz mono)."""

    def __init__(self) -> None:
        super().__init__()
        rate, samples = 8000, 160
        wave = array.array("h", (int(3000 * math.sin(2 * math.pi * 450 * i / rate))
                                 for i in range(samples)))
        self.payload = wave.tobytes()

    async def recv(self) -> AudioFrame:
        silence = await super().recv()  # aiortc's timing and timestamps
        frame = AudioFrame(format="s16", layout="mono", samples=silence.samples)
        frame.planes[0].update(self.payload[:silence.samples * 2])
        frame.sample_rate = silence.sample_rate
        frame.pts, frame.time_base = silence.pts, silence.time_base
        return frame
