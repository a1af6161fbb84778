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
from media.rates import best_rate_kbps

PINGS = 30
PING_GAP = 0.02
TRANSFER_SECONDS = 1.2
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

        arrivals: list[tuple[float, int]] = []
        texts: asyncio.Queue[str] = asyncio.Queue()

        def on_bulk(message: str | bytes) -> None:
            if isinstance(message, str):
                texts.put_nowait(message)
            else:
                arrivals.append((time.monotonic(), len(message)))

        bulk.on("message", on_bulk)
        bulk.send(f"download:{TRANSFER_SECONDS}")
        while await asyncio.wait_for(texts.get(), 15) != "done":
            pass
        result["download_kbps"] = best_rate_kbps(arrivals)

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
        result["upload_kbps"] = int(text.split(":")[1])
        result["duration_ms"] = round((time.monotonic() - started) * 1000)
        result["connect_ms"] = round(connected * 1000)
        return result
    finally:
        await pc.close()
