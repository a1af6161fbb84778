"""A room participant made of aiortc, speaking the room protocol as web/static/js/video/room.js
does: used by the tests (two of them meet through the real /ws signaling) and by bench/.

The newcomer offers to whoever is already in the room; in relay mode each participant offers
to the practice's server peer instead. aiortc puts all its candidates in the description, so
no separate candidate messages are needed from this side.
"""
from __future__ import annotations

import asyncio
import json
import secrets
import time

from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from media import peer
from media.tracks import MovingPicture, Tone


class Participant:
    def __init__(self, socket, appointment_id: int, *, width: int = 640,
                 height: int = 360) -> None:
        self.socket = socket
        self.appointment_id = appointment_id
        self.peer_id = secrets.token_hex(8)
        self.video = MovingPicture(width, height)
        self.audio = Tone()
        self.pc: RTCPeerConnection | None = None
        self.frames = {"video": 0, "audio": 0}
        self.first_frame_at: float | None = None
        self.frame_seen = asyncio.Event()
        self.presence: list[dict] = []
        self.errors: list[dict] = []
        self.joined: dict | None = None
        self._inbox: asyncio.Queue = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())
        self._tasks: list[asyncio.Task] = []

    async def send(self, message: dict) -> None:
        await self.socket.send(json.dumps({"appointment_id": self.appointment_id,
                                           "peer_id": self.peer_id, **message}))

    async def _read(self) -> None:
        async for raw in self.socket:
            message = json.loads(raw)
            if message.get("type") == "event":
                kind, payload = message["kind"], message["payload"]
                if payload.get("appointment_id") != self.appointment_id:
                    continue
                if kind == "video.presence":
                    self.presence.append(payload)
                elif kind == "video.signal" and payload.get("to") == self.peer_id:
                    await self._on_signal(payload)
                continue
            if message.get("type") == "video.error":
                self.errors.append(message)
            await self._inbox.put(message)

    async def expect(self, kind: str, timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            message = await asyncio.wait_for(self._inbox.get(), deadline - time.monotonic())
            if message.get("type") in (kind, "video.error"):
                return message

    async def join(self) -> dict:
        await self.send({"type": "video.join"})
        self.joined = await self.expect("video.joined")
        return self.joined

    def _new_pc(self) -> RTCPeerConnection:
        pc = peer.new_peer(self.joined.get("ice_servers") if self.joined else [])
        pc.addTrack(self.audio)
        pc.addTrack(self.video)
        pc.on("track", lambda track: self._tasks.append(asyncio.create_task(self._count(track))))
        self.pc = pc
        return pc

    async def _count(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                await track.recv()
                self.frames[track.kind] += 1
                if track.kind == "video" and self.first_frame_at is None:
                    self.first_frame_at = time.monotonic()
                    self.frame_seen.set()
        except MediaStreamError:
            pass

    async def call(self, other_peer_id: str) -> None:
        """Offer to a participant already in the room (peer to peer)."""
        pc = self._new_pc()
        sdp = await peer.offer(pc)
        await self.send({"type": "video.signal", "to": other_peer_id,
                         "data": {"kind": "offer", "sdp": sdp}})

    async def _on_signal(self, payload: dict) -> None:
        data = payload["data"]
        if data["kind"] == "offer":
            if self.pc is not None:
                await self.pc.close()
            pc = self._new_pc()
            sdp = await peer.answer(pc, data["sdp"])
            await self.send({"type": "video.signal", "to": payload["from"],
                             "data": {"kind": "answer", "sdp": sdp}})
        elif data["kind"] == "answer" and self.pc is not None:
            await self.pc.setRemoteDescription(RTCSessionDescription(data["sdp"], "answer"))

    async def relay(self) -> dict:
        """Relay mode: connect to the practice's server peer."""
        pc = self._new_pc()
        sdp = await peer.offer(pc)
        await self.send({"type": "video.relay.offer", "sdp": sdp})
        answer = await self.expect("video.relay.answer")
        if answer["type"] == "video.relay.answer":
            await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        return answer

    async def wait_frames(self, count: int = 10, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while self.frames["video"] < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {self.frames} frames within {timeout} s")
            await asyncio.sleep(0.05)

    async def leave(self) -> None:
        try:
            await self.send({"type": "video.leave"})
        except Exception:
            pass
        await self.close()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.pc is not None:
            await self.pc.close()
        self._reader.cancel()
        await self.socket.close()
