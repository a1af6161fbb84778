// The network part of the pre-check, against the practice server's aiortc peer (media/precheck.py):
// round trip, jitter and loss over an unreliable data channel, then download and upload over a
// reliable one (rates as media/rates.py). About 4 seconds in all; `progress(percent, text)` keeps the screen moving.
import { api } from "../api.js";

const PINGS = 30;
const PING_GAP_MS = 20;
const TRANSFER_S = 1.2;
const CHUNK = new ArrayBuffer(8192);
const HIGH_WATER = 256 * 1024;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function withTimeout(promise, ms, what) {
  return Promise.race([promise, sleep(ms).then(() => { throw new Error(`${what} took too long`); })]);
}

function gathered(pc, ms) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return Promise.race([sleep(ms), new Promise((resolve) => {
    pc.addEventListener("icegatheringstatechange", () => { if (pc.iceGatheringState === "complete") resolve(); });
  })]);
}

function opened(channel) {
  return channel.readyState === "open" ? Promise.resolve() :
    new Promise((resolve) => channel.addEventListener("open", resolve, { once: true }));
}

// The best rate over any half second (as media/rates.py): congestion control saws below a
// bottleneck, and its peaks show the link's capacity better than its average does.
export function bestRateKbps(arrivals, windowMs = 500) {
  if (arrivals.length < 2) return 0;
  let best = 0, start = 0, total = 0;
  arrivals.forEach(([when, size]) => {
    total += size;
    while (when - arrivals[start][0] > windowMs) { total -= arrivals[start][1]; start += 1; }
    const span = when - arrivals[start][0];
    if (span >= windowMs * 0.9) best = Math.max(best, ((total - arrivals[start][1]) * 8) / span);
  });
  if (best === 0) {
    const span = arrivals[arrivals.length - 1][0] - arrivals[0][0];
    best = span ? (arrivals.slice(1).reduce((sum, [, size]) => sum + size, 0) * 8) / span : 0;
  }
  return Math.round(best);
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : null;
}

export async function measureNetwork(appointmentId, iceServers, progress) {
  const started = performance.now();
  const pc = new RTCPeerConnection({ iceServers });
  try {
    const probe = pc.createDataChannel("probe", { ordered: false, maxRetransmits: 0 });
    const bulk = pc.createDataChannel("bulk");
    bulk.binaryType = "arraybuffer";
    progress(10, "Connecting to the practice's server…");
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, 1500);
    const answer = await api("POST", `/api/appointments/${appointmentId}/video/precheck`,
                             { sdp: pc.localDescription.sdp });
    await pc.setRemoteDescription(answer);
    await withTimeout(Promise.all([opened(probe), opened(bulk)]), 10000, "Connecting");

    progress(25, "Measuring the round trip…");
    const rtts = [];
    probe.onmessage = (event) => {
      const sentAt = Number(String(event.data).split(":")[2]);
      rtts.push(performance.now() - sentAt);
    };
    for (let n = 0; n < PINGS; n += 1) {
      probe.send(`p:${n}:${performance.now()}`);
      await sleep(PING_GAP_MS);
    }
    await sleep(300);
    const jitters = rtts.slice(1).map((rtt, i) => Math.abs(rtt - rtts[i]));
    const result = {
      rtt_ms: rtts.length ? Math.round(median(rtts)) : null,
      jitter_ms: jitters.length ? Math.round(jitters.reduce((a, b) => a + b, 0) / jitters.length) : null,
      loss_pct: Math.round(((PINGS - rtts.length) / PINGS) * 1000) / 10,
    };

    progress(45, "Measuring the download speed…");
    const arrivals = [];
    let onText = () => {};
    bulk.onmessage = (event) => {
      if (typeof event.data === "string") onText(event.data);
      else arrivals.push([performance.now(), event.data.byteLength]);
    };
    const done = new Promise((resolve) => { onText = (text) => { if (text === "done") resolve(); }; });
    bulk.send(`download:${TRANSFER_S}`);
    await withTimeout(done, 15000, "The download test");
    result.download_kbps = bestRateKbps(arrivals);

    progress(70, "Measuring the upload speed…");
    const uploaded = new Promise((resolve) => {
      onText = (text) => { if (text.startsWith("uploaded:")) resolve(Number(text.split(":")[1])); };
    });
    bulk.send("upload");
    bulk.bufferedAmountLowThreshold = HIGH_WATER / 2;
    const end = performance.now() + TRANSFER_S * 1000;
    while (performance.now() < end) {
      if (bulk.bufferedAmount > HIGH_WATER) {
        await Promise.race([sleep(50), new Promise((r) => bulk.addEventListener("bufferedamountlow", r, { once: true }))]);
        continue;
      }
      bulk.send(CHUNK);
    }
    bulk.send("upload-end");
    result.upload_kbps = await withTimeout(uploaded, 15000, "The upload test");
    progress(95, "Finishing…");
    result.duration_ms = Math.round(performance.now() - started);
    return result;
  } finally {
    pc.close();
  }
}
