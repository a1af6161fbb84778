// The video room: pre-check first, then the call. Signaling goes over the page's /ws socket
// (events.js); the protocol is in signaling/protocol.py. Peer to peer by default, with the
// "perfect negotiation" pattern (the participant with the smaller peer id is polite, and
// rolls back its own offer when offers cross); relayed through the practice's server when
// the practice chose that, or as a fallback when no direct or TURN path connects.
import { api } from "../api.js";
import { onEvent, send } from "../events.js";
import { describe, fillChoices, openMedia } from "./devices.js";
import { measureNetwork } from "./precheck.js";
import { progress, showCheck, showClientCheck } from "./check_view.js";

const FALLBACK_AFTER_MS = 15000;
const ARRIVAL_GRACE_MS = 1500;
const page = document.getElementById("video-page");
const $ = (id) => document.getElementById(id);
const appointmentId = Number(page.dataset.appointmentId);
const relaySetting = page.dataset.relay;
const iceServers = JSON.parse(page.dataset.iceServers || "[]");
const presets = Object.fromEntries(JSON.parse(page.dataset.presets).map((p) => [p.name, p]));
const peerId = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");

const state = {
  stream: null, camera: false, microphone: false, inRoom: false, joined: false,
  pc: null, remote: null, polite: false, makingOffer: false, ignoreOffer: false,
  relay: relaySetting === "always", preset: "auto", fallbackTimer: null, chain: Promise.resolve(),
};
const remoteVideo = $("remote");
const ding = $("ding");

// What the page exposes for its tests and for support: counters and live statistics.
// continuedAt/firstFrameAt (performance.now()) time "Continue" to the first remote frame.
// fallBack() is what a failed direct connection calls (also for tests and support).
window.portalVideo = { peerId, state, dings: 0, reloads: 0, stats, continuedAt: null, firstFrameAt: null,
                       fallBack: () => fallBack() };

// ---------------------------------------------------------------------------- pre-check

async function useDevices(choice) {
  const opened = await openMedia(choice);
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  Object.assign(state, { stream: opened.stream, camera: opened.camera, microphone: opened.microphone });
  $("preview").srcObject = opened.stream;
  $("self").srcObject = opened.stream;
  $("device-status").textContent = describe(opened);
  await fillChoices($("camera-select"), $("mic-select"), opened.stream);
  await fillChoices($("room-camera-select"), $("room-mic-select"), opened.stream);
  if (state.pc) {
    for (const sender of state.pc.getSenders()) {
      const track = opened.stream.getTracks().find((t) => t.kind === sender.track?.kind);
      if (track) await sender.replaceTrack(track);
    }
  }
}

async function precheck() {
  $("continue").disabled = true;
  $("recheck").hidden = true;
  page.dataset.precheck = "running";
  progress(5, "Checking your camera and microphone…");
  if (!state.stream) await useDevices();
  let measured;
  try {
    measured = await measureNetwork(appointmentId, iceServers, progress);
  } catch (error) {
    measured = { duration_ms: 0 };
    $("check-step").textContent = `The network check could not finish (${error.message}). You can still continue.`;
  }
  try {
    const check = await api("POST", `/api/appointments/${appointmentId}/video/checks`,
                            { camera: state.camera, microphone: state.microphone, ...measured });
    showCheck(check);
    if (measured.download_kbps !== undefined) progress(100, "The check is done.");
  } catch (error) {
    $("check-step").textContent = error.message;
  }
  page.dataset.precheck = "done";
  $("continue").disabled = false;
  $("recheck").hidden = false;
}

// ----------------------------------------------------------------------------- the room

function notice(text) {
  const line = document.createElement("p");
  line.textContent = text;
  $("room-notice").append(line);
  setTimeout(() => line.remove(), 6000);
}

function playDing() {
  ding.currentTime = 0;
  ding.play().catch(() => {});
}
ding.addEventListener("play", () => {
  window.portalVideo.dings += 1;
  page.dataset.dings = String(window.portalVideo.dings);
});

function message(type, extra = {}) {
  return { type, appointment_id: appointmentId, peer_id: peerId, ...extra };
}

function signal(data) {
  if (state.remote && state.remote !== "relay") send(message("video.signal", { to: state.remote, data }));
}

function closePeer() {
  clearTimeout(state.fallbackTimer);
  if (state.pc) {
    state.pc.onnegotiationneeded = state.pc.onicecandidate = state.pc.ontrack = null;
    state.pc.onconnectionstatechange = null;
    state.pc.close();
  }
  state.pc = null;
}

function watch(pc) {
  page.dataset.connection = "new";
  pc.onconnectionstatechange = () => {
    page.dataset.connection = pc.connectionState;
    if (pc.connectionState === "connected") {
      clearTimeout(state.fallbackTimer);
      applyQuality();
    } else if (pc.connectionState === "failed") {
      fallBack();
    }
  };
  const remoteStream = new MediaStream();
  pc.ontrack = ({ track }) => {
    remoteStream.addTrack(track);
    remoteVideo.srcObject = remoteStream;
  };
  for (const track of state.stream.getTracks()) pc.addTrack(track, state.stream);
}

function newPeer(remotePeerId) {
  closePeer();
  const pc = new RTCPeerConnection({ iceServers });
  Object.assign(state, { pc, remote: remotePeerId, polite: peerId < remotePeerId, makingOffer: false, ignoreOffer: false });
  watch(pc);
  pc.onicecandidate = ({ candidate }) => { if (candidate) signal({ kind: "candidate", candidate: candidate.toJSON() }); };
  pc.onnegotiationneeded = async () => {
    try {
      state.makingOffer = true;
      await pc.setLocalDescription();
      signal({ kind: "offer", sdp: pc.localDescription.sdp });
    } catch (error) {
      console.warn("offer failed", error);
    } finally {
      state.makingOffer = false;
    }
  };
  if (relaySetting === "fallback") state.fallbackTimer = setTimeout(fallBack, FALLBACK_AFTER_MS);
  return pc;
}

async function onSignal({ from, data }) {
  if (state.relay) return;
  if (data.kind === "mode" && data.mode === "relay") { await useRelay(); return; }
  if (!state.pc || from !== state.remote) {
    if (data.kind !== "offer") return;
    newPeer(from);
  }
  const pc = state.pc;
  if (data.kind === "offer" || data.kind === "answer") {
    const collision = data.kind === "offer" && (state.makingOffer || pc.signalingState !== "stable");
    state.ignoreOffer = !state.polite && collision;
    if (state.ignoreOffer) return;
    await pc.setRemoteDescription({ type: data.kind, sdp: data.sdp });
    if (data.kind === "offer") {
      await pc.setLocalDescription();
      signal({ kind: "answer", sdp: pc.localDescription.sdp });
    }
  } else if (data.kind === "candidate") {
    try {
      await pc.addIceCandidate(data.candidate);
    } catch (error) {
      if (!state.ignoreOffer) console.warn("candidate refused", error);
    }
  }
}

function gathered(pc, ms) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return Promise.race([new Promise((r) => setTimeout(r, ms)), new Promise((resolve) => {
    pc.addEventListener("icegatheringstatechange", () => { if (pc.iceGatheringState === "complete") resolve(); });
  })]);
}

async function useRelay() {
  state.relay = true;
  $("relay-note").hidden = false;
  closePeer();
  const pc = new RTCPeerConnection({ iceServers });
  Object.assign(state, { pc, remote: "relay" });
  watch(pc);
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc, 2000);
  send(message("video.relay.offer", { sdp: pc.localDescription.sdp }));
}

function fallBack() {
  if (relaySetting !== "fallback" || state.relay) return;
  notice("Connecting through the practice's server…");
  signal({ kind: "mode", mode: "relay" });
  useRelay();
}

async function applyQuality() {
  const preset = presets[state.preset];
  const sender = state.pc?.getSenders().find((s) => s.track && s.track.kind === "video");
  if (sender) {
    const params = sender.getParameters();
    if (!params.encodings || !params.encodings.length) params.encodings = [{}];
    for (const encoding of params.encodings) {
      if (preset.max_bitrate) encoding.maxBitrate = preset.max_bitrate;
      else delete encoding.maxBitrate;
      encoding.scaleResolutionDownBy = preset.scale_down;
    }
    try { await sender.setParameters(params); } catch (error) { console.warn("quality not applied", error); }
  }
  if (state.relay) send(message("video.relay.quality", { preset: state.preset }));
  page.dataset.quality = state.preset;
}

async function reload() {
  window.portalVideo.reloads += 1;
  notice("Reconnecting the video…");
  remoteVideo.srcObject = null;
  if (state.relay) { await useRelay(); return; }
  send(message("video.reload"));
  if (state.remote) newPeer(state.remote);
}

function join() {
  if (state.inRoom) send(message("video.join"));
}

onEvent("hello", join);  // also after the socket reconnects: joining again is harmless

onEvent("video.joined", (msg) => {
  if (msg.appointment_id !== appointmentId) return;
  const first = !state.joined;
  state.joined = true;
  if (state.relay) { if (first || !state.pc) useRelay(); return; }
  const other = msg.peers[msg.peers.length - 1];
  if (other && (first || other.peer_id !== state.remote)) newPeer(other.peer_id);
});

onEvent("video.relay.answer", async (msg) => {
  if (msg.appointment_id !== appointmentId || !state.pc || state.remote !== "relay") return;
  await state.pc.setRemoteDescription({ type: "answer", sdp: msg.sdp });
});

onEvent("video.error", (msg) => {
  if (msg.appointment_id !== appointmentId) return;
  notice(msg.message);
  if (msg.request === "video.join") { state.inRoom = false; page.dataset.refused = msg.code; }
});

onEvent("video.presence", ({ payload }) => {
  if (payload.appointment_id !== appointmentId || !state.inRoom) return;
  if (payload.state === "arrived") {
    if (payload.peer_id === state.remote && state.pc) return;  // their socket came back
    playDing();
    notice(`${payload.name} has joined.`);
    if (payload.role === "client") showClientCheck(appointmentId);
    if (state.relay) return;
    // The newcomer offers. Only if both joined at once (neither saw the other) does no offer
    // come; then this side offers too, and perfect negotiation settles the crossing offers.
    setTimeout(() => {
      if (state.inRoom && !state.relay && (!state.pc || state.remote !== payload.peer_id)) newPeer(payload.peer_id);
    }, ARRIVAL_GRACE_MS);
  } else if (payload.state === "left") {
    if (!state.relay && payload.peer_id !== state.remote) return;
    playDing();
    notice(`${payload.name} has left.`);
    $("waiting").hidden = false;
    if (!state.relay) { closePeer(); state.remote = null; }
  } else if (payload.state === "reloading" && payload.peer_id === state.remote && !state.relay) {
    closePeer();  // their new offer follows
  }
});

onEvent("video.signal", ({ payload }) => {
  if (payload.appointment_id !== appointmentId || payload.to !== peerId) return;
  state.chain = state.chain.then(() => onSignal(payload)).catch((error) => console.warn(error));
});

remoteVideo.addEventListener("playing", () => { $("waiting").hidden = true; });

async function stats() {
  const out = { framesDecoded: 0, maxBitrate: null, connection: state.pc ? state.pc.connectionState : "none",
                relay: state.relay, dings: window.portalVideo.dings };
  if (!state.pc) return out;
  (await state.pc.getStats()).forEach((report) => {
    if (report.type === "inbound-rtp" && report.kind === "video") out.framesDecoded += report.framesDecoded || 0;
  });
  const sender = state.pc.getSenders().find((s) => s.track && s.track.kind === "video");
  const encoding = sender && sender.getParameters().encodings && sender.getParameters().encodings[0];
  out.maxBitrate = encoding && encoding.maxBitrate !== undefined ? encoding.maxBitrate : null;
  return out;
}

// ------------------------------------------------------------------------------ controls

function toggle(button, kind, onText, offText) {
  const track = state.stream && state.stream.getTracks().find((t) => t.kind === kind);
  if (!track) return;
  track.enabled = !track.enabled;
  button.setAttribute("aria-pressed", String(!track.enabled));
  button.textContent = track.enabled ? onText : offText;
}

function watchFirstFrame() {
  const seen = () => { window.portalVideo.firstFrameAt ??= performance.now(); };
  if ("requestVideoFrameCallback" in remoteVideo) remoteVideo.requestVideoFrameCallback(seen);
  else remoteVideo.addEventListener("playing", seen, { once: true });
}

$("continue").addEventListener("click", () => {
  window.portalVideo.continuedAt = performance.now();
  watchFirstFrame();
  $("precheck").hidden = true;
  $("room").hidden = false;
  $("self").srcObject = state.stream;
  if (state.relay) $("relay-note").hidden = false;
  state.inRoom = true;
  page.dataset.stage = "room";
  join();
});
$("recheck").addEventListener("click", precheck);
for (const [select, kind] of [["camera-select", "camera"], ["mic-select", "mic"],
                              ["room-camera-select", "camera"], ["room-mic-select", "mic"]]) {
  $(select).addEventListener("change", (event) => {
    const choice = { cameraId: $(kind === "camera" ? select : select.replace("mic", "camera")).value,
                     micId: $(kind === "mic" ? select : select.replace("camera", "mic")).value };
    useDevices(choice);
  });
}
$("mute").addEventListener("click", (e) => toggle(e.currentTarget, "audio", "Mute", "Unmute"));
$("camera-off").addEventListener("click", (e) => toggle(e.currentTarget, "video", "Camera off", "Camera on"));
$("reload").addEventListener("click", reload);
$("settings").addEventListener("click", () => $("settings-dialog").showModal());
document.querySelectorAll('input[name="quality"]').forEach((input) => {
  input.addEventListener("change", () => { state.preset = input.value; applyQuality(); });
});
$("leave").addEventListener("click", () => {
  send(message("video.leave"));
  state.inRoom = false;
  closePeer();
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  location.assign(`/sessions/${appointmentId}`);
});
window.addEventListener("pagehide", () => { if (state.inRoom) send(message("video.leave")); });

showClientCheck(appointmentId);
precheck();
