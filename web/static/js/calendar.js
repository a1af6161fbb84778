// The client's Calendar: open start times for the chosen Session Type and Session Length,
// grouped by day, with the practice's out-of-office notes inside the days they cover.
import { api } from "./api.js";
import { onEvent } from "./events.js";

const form = document.getElementById("slot-search");
const list = document.getElementById("slots");
const confirmBox = document.getElementById("confirm");
// The client's own zone is the browser's (a client travelling sees local times); an
// account's saved zone is the fallback. The practice's time stands beside when they differ.
const clientZone = Intl.DateTimeFormat().resolvedOptions().timeZone || form.dataset.timezone;
const practiceZone = form.dataset.practiceTimezone;
const zoneNote = document.getElementById("zone-note");
if (zoneNote) {
  zoneNote.textContent = clientZone === practiceZone
    ? `Times are in your time zone (${clientZone}), the practice's too.`
    : `Times are in your time zone (${clientZone}); the practice's time (${practiceZone}) stands beside each.`;
}
let chosen = null;

const dayFormat = new Intl.DateTimeFormat("en-US", { weekday: "long", month: "long", day: "numeric", timeZone: clientZone });
const timeFormat = new Intl.DateTimeFormat("en-US", { hour: "numeric", minute: "2-digit", timeZone: clientZone });
const practiceTime = new Intl.DateTimeFormat("en-US", { hour: "numeric", minute: "2-digit", timeZone: practiceZone, timeZoneName: "short" });
const dayKey = new Intl.DateTimeFormat("en-CA", { timeZone: clientZone });

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value; else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function query() {
  const data = new FormData(form);
  return { session_type: data.get("session_type"), length: Number(data.get("length")) };
}

function timeOffByDay(entries) {
  const byDay = new Map();
  for (const entry of entries) {
    const day = new Date(entry.starts_at);
    const end = new Date(entry.ends_at);
    while (day < end) {
      byDay.set(dayKey.format(day), entry.note || "The therapist is out of the office.");
      day.setDate(day.getDate() + 1);
    }
  }
  return byDay;
}

function renderEmpty(result, wanted) {
  const box = el("section", { class: "card stack empty-slots" },
    el("h2", {}, "No open times"),
    el("ul", {}, ...result.reasons.map((r) => el("li", {}, r.message))));
  if (result.other_lengths.length) {
    const others = el("p", {}, "Open times exist for: ");
    for (const length of result.other_lengths) {
      const button = el("button", { type: "button", class: "chip" }, `${length} minutes`);
      button.addEventListener("click", () => { form.elements.length.value = String(length); load(); });
      others.append(button, " ");
    }
    box.append(others);
  }
  box.append(el("a", { class: "button", href: `/waitlist?session_type=${wanted.session_type}&length=${wanted.length}` }, "Wait List"));
  return box;
}

function render(result, wanted) {
  list.replaceChildren();
  const away = timeOffByDay(result.time_off);
  const days = new Map();
  for (const slot of result.slots) {
    const key = dayKey.format(new Date(slot.start));
    if (!days.has(key)) days.set(key, []);
    days.get(key).push(slot);
  }
  for (const key of away.keys()) if (!days.has(key)) days.set(key, []);
  const keys = [...days.keys()].sort();
  for (const key of keys) {
    const slots = days.get(key);
    const first = slots[0] ? new Date(slots[0].start) : new Date(`${key}T12:00:00`);
    const day = el("section", { class: "day card", "data-day": key }, el("h2", {}, dayFormat.format(first)));
    if (away.has(key)) day.append(el("p", { class: "time-off-note" }, `Out of office: ${away.get(key)}`));
    if (slots.length) {
      const times = el("div", { class: "times" });
      for (const slot of slots) {
        const start = new Date(slot.start);
        const button = el("button", { type: "button", class: "time", "data-start": slot.start }, timeFormat.format(start));
        if (clientZone !== practiceZone) button.append(el("small", { class: "practice-time" }, practiceTime.format(start)));
        button.addEventListener("click", () => ask(slot, wanted));
        times.append(button);
      }
      day.append(times);
    }
    list.append(day);
  }
  if (!result.slots.length) list.prepend(renderEmpty(result, wanted));
  list.setAttribute("aria-busy", "false");
}

let latest = 0;  // answers can arrive out of order; only the newest question's answer shows

async function load() {
  const wanted = query();
  const asked = ++latest;
  list.setAttribute("aria-busy", "true");
  try {
    const result = await api("GET", `/api/slots?session_type=${wanted.session_type}&length=${wanted.length}`);
    if (asked !== latest) return null;
    render(result, wanted);
    return result;
  } catch (error) {
    if (asked === latest) list.replaceChildren(el("p", { class: "form-error" }, error.message));
    return null;
  }
}

// A Wait List email links here with the opening's start: offer it at once, or say it is gone.
async function offerWantedStart() {
  const wantedStart = form.dataset.wantedStart;
  const result = await load();
  if (!wantedStart || !result) return;
  const target = new Date(wantedStart).getTime();
  const slot = result.slots.find((s) => new Date(s.start).getTime() === target);
  if (slot) {
    ask(slot, query());
  } else {
    list.prepend(el("p", { class: "form-error", role: "alert" },
      "That time was just taken. Here are the openings left."));
  }
}

function ask(slot, wanted) {
  chosen = { slot, wanted };
  const start = new Date(slot.start);
  const there = clientZone !== practiceZone ? ` (${practiceTime.format(start)} at the practice)` : "";
  document.getElementById("confirm-text").textContent =
    `A ${wanted.length}-minute ${wanted.session_type} session on ${dayFormat.format(start)} at ${timeFormat.format(start)}${there}.`;
  document.getElementById("confirm-error").textContent = "";
  confirmBox.hidden = false;
  confirmBox.scrollIntoView({ block: "nearest" });
}

document.getElementById("confirm-back").addEventListener("click", () => { confirmBox.hidden = true; chosen = null; });
document.getElementById("confirm-book").addEventListener("click", async (event) => {
  if (!chosen) return;
  event.target.disabled = true;
  try {
    const booked = await api("POST", "/api/appointments", {
      start: chosen.slot.start, session_type: chosen.wanted.session_type, length: chosen.wanted.length,
    });
    location.assign(`/sessions/${booked.id}`);
  } catch (error) {
    document.getElementById("confirm-error").textContent = error.message;
    if (error.status === 409) load();
  } finally {
    event.target.disabled = false;
  }
});

form.addEventListener("change", () => { confirmBox.hidden = true; load(); });
onEvent("appointment.cancelled", load);
onEvent("appointment.booked", load);
onEvent("waitlist.opening", load);
offerWantedStart();
