// The page's live connection: one WebSocket to /ws for events (and, later, video signaling).
// It sends a heartbeat every 25 s (home routers drop idle connections near a minute),
// reconnects with backoff and jitter, and resumes from the last event id it saw, so nothing
// is lost or shown twice. Pages subscribe with onEvent(kind, handler); "*" hears everything.

const HEARTBEAT_MS = 25_000;
const MAX_BACKOFF_MS = 30_000;
const LOGGED_OUT = 4401;

const handlers = new Map();
let socket = null;
let lastId = Number(document.querySelector('meta[name="last-event-id"]')?.content || 0) || null;
let attempts = 0;
let heartbeat = null;

export function onEvent(kind, handler) {
  if (!handlers.has(kind)) handlers.set(kind, new Set());
  handlers.get(kind).add(handler);
  return () => handlers.get(kind).delete(handler);
}

export function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify(message));
    return true;
  }
  return false;
}

function dispatch(kind, message) {
  for (const key of [kind, "*"]) {
    for (const handler of handlers.get(key) || []) {
      try { handler(message); } catch (error) { console.error(error); }
    }
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = lastId !== null ? `?last_id=${lastId}` : "";
  socket = new WebSocket(`${scheme}://${location.host}/ws${query}`);
  socket.addEventListener("open", () => {
    attempts = 0;
    document.documentElement.dataset.live = "connected";
    heartbeat = setInterval(() => send({ type: "ping" }), HEARTBEAT_MS);
  });
  socket.addEventListener("message", (frame) => {
    const message = JSON.parse(frame.data);
    if (message.type === "hello" && lastId === null) lastId = message.last_id;
    if (message.type === "event") {
      lastId = message.id;
      dispatch(message.kind, message);
    } else {
      dispatch(message.type, message);
    }
  });
  socket.addEventListener("close", (event) => {
    clearInterval(heartbeat);
    document.documentElement.dataset.live = "disconnected";
    if (event.code === LOGGED_OUT) {
      location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
      return;
    }
    const backoff = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempts++);
    setTimeout(connect, backoff / 2 + Math.random() * backoff / 2);
  });
}

// Notices: an event whose payload has a "title" shows as a toast and counts in the badge.
const toasts = document.getElementById("toasts");
const badge = document.querySelector("[data-unread-badge]");
let unread = 0;

function showToast(message) {
  const { title, url } = message.payload || {};
  if (!title || !toasts) return;
  const toast = document.createElement(url ? "a" : "div");
  toast.className = "toast";
  toast.textContent = title;
  if (url) toast.href = url;
  toasts.append(toast);
  setTimeout(() => toast.remove(), 6000);
  if (badge) {
    unread += 1;
    badge.textContent = String(unread);
    badge.hidden = false;
  }
}

if (badge) {
  badge.addEventListener("click", () => { unread = 0; badge.hidden = true; });
}
onEvent("*", (message) => { if (message.type === "event") showToast(message); });

if (document.querySelector('meta[name="last-event-id"]')) connect();
