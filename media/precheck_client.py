"""The pre-check's browser side in Python (web/static/js/video/precheck.js does the same), so
tests and bench/video_precheck.py can measure a link without a browser.

`exchange(offer_sdp) -> answer_sdp` is how the offer reaches the server's peer: the portal's
API in tests, a plain socket between network namespaces in the benchmark.
"""
from __future__ import annotations

import asyncio
import statistics
import time
from typing import Awaitable, Callable

from aiortc import RTCSessionDescription

from media import peer

PINGS = 30
PING_GAP = 0.02
TRANSFER_SECONDS = 1.5
CHUNK = b"\x00" * 8192
HIGH_WATER = 256 * 1024


async def measure(exchange: Callable[[str], Awaitable[str]],
                  ice_servers: list[dict] | None = None) -> dict:
    started = time.monotonic()
    pc = peer.new_peer(ice_servers)
    try:
        probe = pc.createDataChannel("probe", ordered=False, maxRetransmits=0)
        bulk = pc.createDataChannel("bulk")
        opened = [asyncio.Event(), asyncio.Event()]
        probe.on("open", opened[0].set)
        bulk.on("open", opened[1].set)
        answer = await exchange(await peer.offer(pc))
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in opened)), 10)
        connected = time.monotonic() - started

        rtts: list[float] = []
        probe.on("message", lambda m: rtts.append(
            time.monotonic() * 1000 - float(m.split(":")[2])))
        for n in range(PINGS):
            probe.send(f"p:{n}:{time.monotonic() * 1000}")
            await asyncio.sleep(PING_GAP)
        await asyncio.sleep(0.3)
        jitters = [abs(b - a) for a, b in zip(rtts, rtts[1:])]
        result = {"rtt_ms": round(statistics.median(rtts)) if rtts else None,
                  "jitter_ms": round(statistics.mean(jitters)) if jitters else None,
                  "loss_pct": round((PINGS - len(rtts)) / PINGS * 100, 1)}

        received = {"bytes": 0, "first": None, "last": None}
        texts: asyncio.Queue[str] = asyncio.Queue()

        def on_bulk(message: str | bytes) -> None:
            if isinstance(message, str):
                texts.put_nowait(message)
                return
            now = time.monotonic()
            received["first"] = received["first"] or now
            received["last"] = now
            received["bytes"] += len(message)

        bulk.on("message", on_bulk)
        bulk.send(f"download:{TRANSFER_SECONDS}")
        while await asyncio.wait_for(texts.get(), 15) != "done":
            pass
        span = (received["last"] or 0) - (received["first"] or 0)
        result["download_kbps"] = round(received["bytes"] * 8 / span / 1000) if span else 0

        bulk.send("upload")
        drained = asyncio.Event()
        bulk.bufferedAmountLowThreshold = HIGH_WATER // 2
        bulk.on("bufferedamountlow", drained.set)
        end = time.monotonic() + TRANSFER_SECONDS
        while time.monotonic() < end:
            if bulk.bufferedAmount > HIGH_WATER:
                drained.clear()
                try:
                    await asyncio.wait_for(drained.wait(), 0.05)
                except TimeoutError:
                    pass
                continue
            bulk.send(CHUNK)
            await asyncio.sleep(0)
        bulk.send("upload-end")
        while not (text := await asyncio.wait_for(texts.get(), 15)).startswith("uploaded:"):
            pass
        _, up_bytes, up_ms = text.split(":")
        result["upload_kbps"] = round(int(up_bytes) * 8 / float(up_ms)) if float(up_ms) else 0
        result["duration_ms"] = round((time.monotonic() - started) * 1000)
        result["connect_ms"] = round(connected * 1000)
        return result
    finally:
        await pc.close()
