// Secure messages in the page: sending with attachments, and live lists.
// A list updates by fetching this same page again and swapping in the fresh server rendering
// of the list (#message-list, #inbox, #thread-list), so a message is drawn by one template.
// A hidden tab waits until it is looked at: reading a thread marks it read for the other side.
import { ApiError, api, csrfToken } from "./api.js";
import { onEvent } from "./events.js";
import { formBody, showErrors } from "./forms.js";

const INBOX_REFRESH_MS = 60_000; // "waiting 3 h 20 min" moves on even when nothing arrives
const MAX_FILES = 5;

let refreshing = null;
let again = false;
let deferred = false;

async function swapFromServer(ids) {
  const response = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const id of ids) {
    const here = document.getElementById(id);
    const there = fresh.getElementById(id);
    if (here && there) here.replaceWith(document.adoptNode(there));
  }
}

// One refresh at a time; events arriving meanwhile cause exactly one more.
function refresh(ids, after) {
  if (document.visibilityState === "hidden") { deferred = true; return; }
  if (refreshing) { again = true; return; }
  refreshing = swapFromServer(ids)
    .catch((error) => console.warn("refresh failed", error))
    .finally(() => {
      refreshing = null;
      if (after) after();
      if (again) { again = false; refresh(ids, after); }
    });
}

function liveList(ids, kinds, filter = () => true, after = undefined) {
  for (const kind of kinds) {
    onEvent(kind, (message) => { if (filter(message.payload || {})) refresh(ids, after); });
  }
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && deferred) { deferred = false; refresh(ids, after); }
  });
  document.addEventListener("api:success", (event) => {
    if (event.target.matches("[data-refresh]")) refresh(ids, after);
  });
}

// --- sending ---------------------------------------------------------------------------

async function upload(file) {
  let response;
  try {
    response = await fetch(`/api/attachments?name=${encodeURIComponent(file.name)}`, {
      method: "POST", credentials: "same-origin", body: file,
      headers: { "X-CSRF-Token": csrfToken(), "Content-Type": "application/octet-stream", Accept: "application/json" },
    });
  } catch {
    throw new ApiError(0, { error: { message: "No connection. Check your network and try again.", field: "file" } });
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data.id;
}

function chosenFiles(form) {
  const input = form.querySelector("[data-attach]");
  return input ? [...input.files] : [];
}

function checkFiles(form) {
  const input = form.querySelector("[data-attach]");
  const files = chosenFiles(form);
  const limit = Number(input?.dataset.maxBytes || 0);
  const list = form.querySelector("[data-chosen-files]");
  if (list) {
    list.replaceChildren(...files.map((file) => {
      const item = document.createElement("li");
      item.textContent = file.name;
      return item;
    }));
  }
  if (files.length > MAX_FILES) return `Attach at most ${MAX_FILES} files to a message.`;
  const big = files.find((file) => limit && file.size > limit);
  if (big) return `“${big.name}” is too large: an attachment can be at most ${Math.round(limit / 1048576)} MB.`;
  return null;
}

function fileError(form, message) {
  showErrors(form, message ? { field: "file", message } : null);
}

async function send(form) {
  const button = form.querySelector('[type="submit"]');
  const problem = checkFiles(form);
  fileError(form, problem);
  if (problem) return;
  button.disabled = true;
  form.setAttribute("aria-busy", "true");
  try {
    const attachmentIds = [];
    for (const file of chosenFiles(form)) attachmentIds.push(await upload(file));
    const result = await api("POST", form.dataset.compose, { ...formBody(form), attachment_ids: attachmentIds });
    if (form.hasAttribute("data-go-to-thread")) { location.assign(result.url); return; }
    form.reset();
    checkFiles(form);
    refresh(["message-list", "thread-status"], scrollToEnd);
  } catch (error) {
    showErrors(form, error);
  } finally {
    button.disabled = false;
    form.removeAttribute("aria-busy");
  }
}

for (const form of document.querySelectorAll("form[data-compose]")) {
  form.addEventListener("submit", (event) => { event.preventDefault(); send(form); });
  form.querySelector("[data-attach]")?.addEventListener("change", () => fileError(form, checkFiles(form)));
  // Ctrl/Cmd+Enter sends, as in mail programs; Enter alone starts a new line.
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); send(form); }
  });
}

// --- live lists ------------------------------------------------------------------------

function scrollToEnd() {
  const list = document.getElementById("message-list");
  const last = list && list.lastElementChild;
  if (last) last.scrollIntoView({ block: "nearest" });
}

const threadPage = document.querySelector("[data-thread-page]");
if (threadPage) {
  const threadId = Number(threadPage.dataset.threadPage);
  const mine = (payload) => payload.thread_id === threadId;
  liveList(["message-list", "thread-status"], ["message.new", "message.handled"], mine, scrollToEnd);
  onEvent("message.read", ({ payload }) => {
    if (!mine(payload)) return;
    // "Read" moves to the last of one's own messages the other side has read.
    const read = [...document.querySelectorAll("#message-list .mine")]
      .filter((item) => Number(item.dataset.id) <= payload.last_read_id);
    document.querySelectorAll("#message-list .read-mark").forEach((mark) => { mark.hidden = true; });
    const last = read.at(-1)?.querySelector(".read-mark");
    if (last) last.hidden = false;
  });
  if (location.hash === "") scrollToEnd();
}

if (document.getElementById("inbox")) {
  liveList(["inbox"], ["message.new", "message.handled"]);
  setInterval(() => refresh(["inbox"]), INBOX_REFRESH_MS);
}
if (document.getElementById("thread-list")) liveList(["thread-list"], ["message.new"]);

// Inbox filters apply as soon as they change.
document.addEventListener("change", (event) => {
  if (event.target.matches("[data-submit-on-change]")) event.target.form.requestSubmit();
});
