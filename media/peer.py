"""Making aiortc peers the same way everywhere: with the practice's ICE servers, never aiortc's
default (a public STUN server the practice did not choose), and with the whole offer or
answer gathered, because aiortc does not trickle its own candidates."""
from __future__ import annotations

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription


def configuration(ice_servers: list[dict]) -> RTCConfiguration:
    servers = [RTCIceServer(urls=s["urls"], username=s.get("username"),
                            credential=s.get("credential")) for s in ice_servers]
    return RTCConfiguration(iceServers=servers)


def new_peer(ice_servers: list[dict] | None = None) -> RTCPeerConnection:
    return RTCPeerConnection(configuration(ice_servers or []))


async def answer(pc: RTCPeerConnection, offer_sdp: str) -> str:
    """Apply a remote offer and return the complete local answer (candidates included)."""
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    return pc.localDescription.sdp


async def offer(pc: RTCPeerConnection) -> str:
    await pc.setLocalDescription(await pc.createOffer())
    return pc.localDescription.sdp
