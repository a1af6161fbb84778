// What the pre-check shows: its progress, the results and verdict, and (for the clinician)
// the client's last check beside the session.
import { api } from "../api.js";

const $ = (id) => document.getElementById(id);

export function progress(percent, text) {
  $("check-progress").value = percent;
  $("check-step").textContent = text;
}

export function rate(kbps, atLeast) {
  if (kbps === null || kbps === undefined) return "–";
  const text = kbps >= 1000 ? `${(kbps / 1000).toFixed(1)} Mbit/s` : `${kbps} kbit/s`;
  return atLeast ? `at least ${text}` : text;
}

export function showCheck(check) {
  const results = $("check-results");
  results.hidden = false;
  results.querySelector('[data-result="download"]').textContent = rate(check.download_kbps, check.download_at_least);
  results.querySelector('[data-result="upload"]').textContent = rate(check.upload_kbps, check.upload_at_least);
  results.querySelector('[data-result="rtt"]').textContent = check.rtt_ms === null ? "–" : `${check.rtt_ms} ms`;
  results.querySelector('[data-result="jitter"]').textContent = check.jitter_ms === null ? "–" : `${check.jitter_ms} ms`;
  results.querySelector('[data-result="loss"]').textContent = check.loss_pct === null ? "–" : `${check.loss_pct} %`;
  const verdict = $("check-verdict");
  verdict.hidden = false;
  verdict.className = `verdict ${check.verdict}`;
  verdict.textContent = { good: "Your connection is good.", fair: "Your connection is fair.",
                          poor: "Your connection is poor." }[check.verdict];
  $("check-advice").replaceChildren(...check.advice.map((line) => {
    const item = document.createElement("li");
    item.textContent = line;
    return item;
  }));
}

export async function showClientCheck(appointmentId) {
  const slots = document.querySelectorAll("[data-client-check]");
  if (!slots.length) return;
  try {
    const { checks } = await api("GET", `/api/appointments/${appointmentId}/video/checks`);
    const check = checks.find((c) => c.role === "client");
    const text = check ? `${check.name}'s last check: ${check.verdict} (download ${rate(check.download_kbps, check.download_at_least)}, round trip ${check.rtt_ms ?? "–"} ms)` :
      "The client has not run the pre-check yet.";
    slots.forEach((slot) => { slot.textContent = text; });
  } catch { /* the room works without it */ }
}
