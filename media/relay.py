"""The relay fallback: both browsers connect to this node's aiortc peer, which forwards each
one's audio and video to the other.

It is off unless the practice chooses it (VIDEO_RELAY), because the server then sees the
media: aiortc decodes what it receives and encodes again for the other browser, so every
relayed session also costs this node CPU (bench/video_relay_cpu.py measures how much).

One room per appointment, on one node: `video_relays` names the node (claimed by the first
offer, kept by a heartbeat, taken over when the heartbeat stops). A browser whose socket is
on another node has its offer, quality change or leave written to `video_relay_requests`;
the hosting node polls that table while it hosts a room and writes the answer back, which the
other node is polling for. No node keeps a room another node would need to know about.

Each forwarded track has its own small queue (newest frames win) and its own timestamps, so a
browser reloading on the other side does not upset the stream towards this one. The quality
preset caps the encoder's bitrate (aiortc's VP8 encoder follows the receiver's estimate
between MIN_BITRATE and MAX_BITRATE of aiortc/codecs/vpx.py; `CappedVp8Encoder` clamps it)
and scales the frames down before encoding.
"""
from __future__ import annotations

import asyncio
import fractions
import logging
import time
import uuid

import asyncpg
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from media import peer
from media.quality import PRESETS, Preset

log = logging.getLogger(__name__)

VIDEO_CLOCK = 90_000
QUEUE_DEPTH = {"video": 2, "audio": 12}
POLL_SECONDS = 0.1
HEARTBEAT_SECONDS = 5.0
STALE_SECONDS = 20  # a hosting node silent this long is taken over
ANSWER_TIMEOUT = 15.0


class RelayError(Exception):
    """The relay could not take this browser's offer."""


class CappedVp8Encoder(Vp8Encoder):
    """aiortc's VP8 encoder whose bitrate target never passes `cap` (bits per second)."""

    cap: int | None = None

    @property  # type: ignore[override]
    def target_bitrate(self) -> int:
        value = Vp8Encoder.target_bitrate.fget(self)  # type: ignore[attr-defined]
        return min(value, self.cap) if self.cap else value

    @target_bitrate.setter
    def target_bitrate(self, bitrate: int) -> None:
        Vp8Encoder.target_bitrate.fset(self, bitrate)  # type: ignore[attr-defined]


class ForwardTrack(MediaStreamTrack):
    """What one browser receives of one kind: the other browser's frames, restamped."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.queue: asyncio.Queue = asyncio.Queue()
        self.preset: Preset = PRESETS["auto"]
        self.started: float | None = None
        self.samples = 0
        self.forwarded = 0

    def offer(self, frame: AudioFrame | VideoFrame) -> None:
        if self.readyState != "live":
            return
        while self.queue.qsize() >= QUEUE_DEPTH[self.kind]:
            self.queue.get_nowait()  # late frames are worth less than current ones
        self.queue.put_nowait(frame)

    async def recv(self) -> AudioFrame | VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self.queue.get()
        self.forwarded += 1
        if self.kind == "audio":
            frame.pts = self.samples
            frame.time_base = fractions.Fraction(1, frame.sample_rate)
            self.samples += frame.samples
            return frame
        now = time.monotonic()
        if self.started is None:
            self.started = now
        scale = self.preset.scale_down
        if scale > 1:
            width = max(2, int(frame.width / scale) // 2 * 2)
            height = max(2, int(frame.height / scale) // 2 * 2)
            frame = frame.reformat(width=width, height=height)
        frame.pts = int((now - self.started) * VIDEO_CLOCK)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        return frame


class RelayPeer:
    """One browser's connection to the relay."""

    def __init__(self, room: "RelayRoom", peer_id: str, user_id: int,
                 pc: RTCPeerConnection) -> None:
        self.room, self.peer_id, self.user_id, self.pc = room, peer_id, user_id, pc
        self.outbound = {"audio": ForwardTrack("audio"), "video": ForwardTrack("video")}
        self.encoder = CappedVp8Encoder()
        self.pumps: list[asyncio.Task] = []
        self.received = {"audio": 0, "video": 0}
        pc.on("track", self.on_track)
        pc.on("connectionstatechange", self.on_state)

    def on_track(self, track: MediaStreamTrack) -> None:
        self.pumps.append(asyncio.ensure_future(self.pump(track)))

    async def pump(self, track: MediaStreamTrack) -> None:
        """Read every received frame (else aiortc queues them) and hand it to the others."""
        try:
            while True:
                frame = await track.recv()
                self.received[track.kind] += 1
                for other in self.room.others(self.peer_id):
                    other.outbound[track.kind].offer(frame)
        except MediaStreamError:
            pass

    async def on_state(self) -> None:
        if self.pc.connectionState in ("failed", "closed"):
            await self.room.drop(self.peer_id, self)

    def set_quality(self, preset: Preset) -> None:
        self.outbound["video"].preset = preset
        self.encoder.cap = preset.max_bitrate

    async def close(self) -> None:
        for track in self.outbound.values():
            track.stop()
        for task in self.pumps:
            task.cancel()
        await self.pc.close()


class RelayRoom:
    def __init__(self, appointment_id: int) -> None:
        self.appointment_id = appointment_id
        self.peers: dict[str, RelayPeer] = {}

    def others(self, peer_id: str) -> list[RelayPeer]:
        return [p for pid, p in self.peers.items() if pid != peer_id]

    async def connect(self, peer_id: str, user_id: int, offer_sdp: str,
                      ice_servers: list[dict]) -> str:
        old = self.peers.pop(peer_id, None)
        if old is not None:  # the browser reloaded: a new connection replaces the old one
            await old.close()
        pc = peer.new_peer(ice_servers)
        relay_peer = RelayPeer(self, peer_id, user_id, pc)
        self.peers[peer_id] = relay_peer
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        vp8 = [c for c in RTCRtpSender.getCapabilities("video").codecs
               if c.mimeType in ("video/VP8", "video/rtx")]
        for transceiver in pc.getTransceivers():
            if transceiver.kind == "video":
                transceiver.setCodecPreferences(vp8)
        for kind in ("audio", "video"):
            sender = pc.addTrack(relay_peer.outbound[kind])
            if kind == "video":
                # The sender makes its encoder on the first frame unless one is there.
                sender._RTCRtpSender__encoder = relay_peer.encoder  # type: ignore[attr-defined]
        await pc.setLocalDescription(await pc.createAnswer())
        return pc.localDescription.sdp

    async def drop(self, peer_id: str, only: RelayPeer | None = None) -> None:
        relay_peer = self.peers.get(peer_id)
        if relay_peer is None or (only is not None and relay_peer is not only):
            return
        del self.peers[peer_id]
        await relay_peer.close()


class RelayService:
    """This node's relay rooms and its part in routing requests between nodes."""

    def __init__(self, pool: asyncpg.Pool, ice_servers: list[dict] | None = None) -> None:
        self.pool = pool
        self.ice_servers = ice_servers or []
        self.node_id = uuid.uuid4().hex
        self.rooms: dict[int, RelayRoom] = {}
        self.poller: asyncio.Task | None = None

    # -- requests from this node's sockets -------------------------------------------------

    async def request(self, appointment_id: int, peer_id: str, user_id: int, kind: str,
                      body: str) -> str:
        """Carry out `kind` (offer, quality, leave) where the room is hosted; the answer."""
        host = await self.host_of(appointment_id, claim=kind == "offer")
        if host is None:
            return ""
        if host == self.node_id:
            return await self.handle(appointment_id, peer_id, user_id, kind, body)
        async with self.pool.acquire() as conn:
            request_id = await conn.fetchval(
                """INSERT INTO video_relay_requests (appointment_id, node_id, peer_id, user_id,
                       kind, body) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
                appointment_id, host, peer_id, user_id, kind, body)
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while time.monotonic() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            row = await self.pool.fetchrow(
                "SELECT answer, error FROM video_relay_requests WHERE id = $1", request_id)
            if row["error"]:
                raise RelayError(row["error"])
            if row["answer"] is not None:
                await self.pool.execute("DELETE FROM video_relay_requests WHERE id = $1",
                                        request_id)
                return row["answer"]
        raise RelayError("the node hosting the relay did not answer")

    async def host_of(self, appointment_id: int, claim: bool) -> str | None:
        if not claim:
            return await self.pool.fetchval(
                "SELECT node_id FROM video_relays WHERE appointment_id = $1", appointment_id)
        return await self.pool.fetchval(
            """INSERT INTO video_relays (appointment_id, node_id) VALUES ($1, $2)
               ON CONFLICT (appointment_id) DO UPDATE
                   SET node_id = CASE WHEN video_relays.heartbeat_at
                                          < now() - make_interval(secs => $3)
                                      THEN excluded.node_id ELSE video_relays.node_id END,
                       heartbeat_at = CASE WHEN video_relays.heartbeat_at
                                              < now() - make_interval(secs => $3)
                                          THEN now() ELSE video_relays.heartbeat_at END
               RETURNING node_id""", appointment_id, self.node_id, STALE_SECONDS)

    # -- the rooms this node hosts ---------------------------------------------------------

    async def handle(self, appointment_id: int, peer_id: str, user_id: int, kind: str,
                     body: str) -> str:
        room = self.rooms.get(appointment_id)
        if kind == "offer":
            if room is None:
                room = self.rooms[appointment_id] = RelayRoom(appointment_id)
                self.ensure_polling()
            try:
                return await asyncio.wait_for(
                    room.connect(peer_id, user_id, body, self.ice_servers), 10)
            except (ValueError, TimeoutError) as exc:
                await room.drop(peer_id)
                raise RelayError(f"unusable offer: {exc}") from None
        if room is None:
            return ""
        if kind == "quality":
            relay_peer = room.peers.get(peer_id)
            if relay_peer is not None:
                relay_peer.set_quality(PRESETS.get(body, PRESETS["auto"]))
            return "ok"
        if kind == "leave":
            await room.drop(peer_id)
            if not room.peers:
                await self.forget(appointment_id)
        return "ok"

    async def forget(self, appointment_id: int) -> None:
        self.rooms.pop(appointment_id, None)
        await self.pool.execute(
            "DELETE FROM video_relays WHERE appointment_id = $1 AND node_id = $2",
            appointment_id, self.node_id)

    def ensure_polling(self) -> None:
        if self.poller is None or self.poller.done():
            self.poller = asyncio.create_task(self.poll())

    async def poll(self) -> None:
        """While this node hosts rooms: answer other nodes' requests, keep the claim fresh."""
        beat = 0.0
        while self.rooms:
            try:
                if time.monotonic() - beat > HEARTBEAT_SECONDS:
                    beat = time.monotonic()
                    await self.pool.execute(
                        "UPDATE video_relays SET heartbeat_at = now() "
                        "WHERE node_id = $1 AND appointment_id = ANY($2::bigint[])",
                        self.node_id, list(self.rooms))
                rows = await self.pool.fetch(
                    """SELECT * FROM video_relay_requests WHERE node_id = $1
                       AND answer IS NULL AND error IS NULL ORDER BY id""", self.node_id)
                for row in rows:
                    try:
                        answer = await self.handle(row["appointment_id"], row["peer_id"],
                                                   row["user_id"], row["kind"], row["body"])
                        await self.pool.execute(
                            "UPDATE video_relay_requests SET answer = $2 WHERE id = $1",
                            row["id"], answer)
                    except RelayError as exc:
                        await self.pool.execute(
                            "UPDATE video_relay_requests SET error = $2 WHERE id = $1",
                            row["id"], str(exc))
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("relay polling failed: %s", exc)
            await asyncio.sleep(POLL_SECONDS)

    async def stop(self) -> None:
        if self.poller is not None:
            self.poller.cancel()
        for appointment_id, room in list(self.rooms.items()):
            for peer_id in list(room.peers):
                await room.drop(peer_id)
        self.rooms.clear()
        try:
            await self.pool.execute("DELETE FROM video_relays WHERE node_id = $1", self.node_id)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            pass
