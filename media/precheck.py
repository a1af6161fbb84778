"""The pre-check's server side: an aiortc peer the browser measures its network against.

The browser opens two data channels to this peer (protocol below), measures, then posts what
it found to /api/appointments/{id}/video/checks, where the verdict is made and kept. Phases
run one after the other so they do not disturb each other: pings, download, upload.

  "probe" (unordered, no retransmits): the browser sends "p:<n>:<ms>", the peer echoes it.
      Round trip = median, jitter = mean change between successive round trips (RFC 3550
      style), loss = pings never answered.
  "bulk" (reliable): "download:<s>" -> the peer sends 8 KiB binary messages for s seconds
      then "done"; the browser times first to last byte. "upload" then binary messages then
      "upload-end" -> the peer answers "uploaded:<kbit/s>".
  Rates are the best over any half second of the transfer (`best_rate_kbps`): congestion
  control saws below a bottleneck and its peaks show the capacity better than its average.

aiortc's data channels (pure-Python SCTP) top out near 10-20 Mbit/s on an idle core and
lower on a busy one (bench/video_precheck.py: 19 Mbit/s through a 20 Mbit/s link on a quiet
machine, 5-10 Mbit/s unshaped while the machine was loaded), so a rate at or above
MEASURABLE_KBPS is reported as "at least" that much rather than as a wrong number. Video
needs about 1.1 Mbit/s for "good", far below it.
"""
from __future__ import annotations

import asyncio
import logging
import time

from aiortc import RTCDataChannel, RTCPeerConnection

from media import peer
from media.rates import best_rate_kbps

log = logging.getLogger(__name__)

CHUNK = b"\x00" * 8192
HIGH_WATER = 32 * 1024  # bytes queued in aiortc before the sender waits
MAX_SECONDS = 3.0
PEER_LIFETIME = 20.0  # a pre-check peer is closed after this long whatever happens
MAX_PEERS = 16  # per node; more waiting browsers get "busy"
MEASURABLE_KBPS = 6000


class PrecheckPeer:
    """One browser's measurement peer: answers its offer, serves both channels, then goes."""

    def __init__(self, pc: RTCPeerConnection, done: "set[PrecheckPeer]") -> None:
        self.pc = pc
        self.done = done
        self.arrivals: list[tuple[float, int]] = []  # (when, bytes) of the upload
        self.tasks: set[asyncio.Task] = set()
        pc.on("datachannel", self.on_channel)
        pc.on("connectionstatechange", self.on_state)
        self.expiry = asyncio.get_running_loop().call_later(
            PEER_LIFETIME, lambda: self.spawn(self.close()))

    def spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def on_state(self) -> None:
        if self.pc.connectionState in ("failed", "closed"):
            await self.close()

    def on_channel(self, channel: RTCDataChannel) -> None:
        if channel.label == "probe":
            channel.on("message", lambda m: channel.send(m) if isinstance(m, str) else None)
        elif channel.label == "bulk":
            channel.on("message", lambda m: self.on_bulk(channel, m))

    def on_bulk(self, channel: RTCDataChannel, message: str | bytes) -> None:
        if isinstance(message, bytes):
            self.arrivals.append((time.monotonic(), len(message)))
        elif message.startswith("download:"):
            try:
                seconds = min(float(message.split(":", 1)[1]), MAX_SECONDS)
            except ValueError:
                return
            self.spawn(self.flood(channel, seconds))
        elif message == "upload":
            self.arrivals = []
        elif message == "upload-end":
            channel.send(f"uploaded:{best_rate_kbps(self.arrivals)}")
            self.arrivals = []

    async def flood(self, channel: RTCDataChannel, seconds: float) -> None:
        drained = asyncio.Event()
        channel.bufferedAmountLowThreshold = HIGH_WATER // 2
        channel.on("bufferedamountlow", drained.set)
        end = time.monotonic() + seconds
        while time.monotonic() < end and channel.readyState == "open":
            if channel.bufferedAmount > HIGH_WATER:
                drained.clear()
                try:
                    await asyncio.wait_for(drained.wait(), max(0.01, end - time.monotonic()))
                except TimeoutError:
                    break
                continue
            channel.send(CHUNK)
            await asyncio.sleep(0)
        if channel.readyState == "open":
            channel.send("done")

    async def close(self) -> None:
        self.expiry.cancel()
        self.done.discard(self)
        await self.pc.close()


class PrecheckService:
    """The node's pre-check peers (bounded), closed when the node stops."""

    def __init__(self, ice_servers: list[dict] | None = None) -> None:
        self.peers: set[PrecheckPeer] = set()
        self.ice_servers = ice_servers or []

    async def answer(self, offer_sdp: str) -> str:
        if len(self.peers) >= MAX_PEERS:
            from server.errors import ApiError

            raise ApiError(503, "busy", "Many checks are running; try again in a moment.",
                           headers={"Retry-After": "5"})
        pc = peer.new_peer(self.ice_servers)
        checker = PrecheckPeer(pc, self.peers)
        self.peers.add(checker)
        try:
            return await asyncio.wait_for(peer.answer(pc, offer_sdp), 10)
        except Exception:
            await checker.close()
            raise

    async def stop(self) -> None:
        await asyncio.gather(*(p.close() for p in list(self.peers)), return_exceptions=True)
