// Every form marked data-api sends its fields as JSON to the API and shows errors in place.
//   data-method      HTTP method (POST by default)
//   data-redirect    go here on success;  data-reload: reload on success
//   data-success     text shown in .form-success on success (else the API's "message")
//   otherwise the form dispatches "api:success" (detail: the API's answer) for page scripts
// Field conversions: data-json="int" | "int[]" | "bool" | "str[]" | "moment" (a
// datetime-local input sent as an ISO instant in the browser's zone); names like "a.0.b"
// build nested objects and lists (rows left blank are dropped).
import { api } from "./api.js";

function setPath(target, path, value) {
  const keys = path.split(".");
  let node = target;
  keys.forEach((key, i) => {
    const last = i === keys.length - 1;
    const nextIsIndex = !last && /^\d+$/.test(keys[i + 1]);
    if (last) node[key] = value;
    else node = node[key] ??= nextIsIndex ? [] : {};
  });
}

function isBlank(value) {
  if (value === "" || value === null || value === undefined) return true;
  if (typeof value === "object") return Object.values(value).every(isBlank);
  return false;
}

function compact(value) {
  if (Array.isArray(value)) return value.filter((v) => v !== undefined && !isBlank(v)).map(compact);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, compact(v)]));
  }
  return value;
}

export function formBody(form) {
  const body = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled || el.type === "submit") continue;
    const kind = el.dataset.json;
    if (kind === "bool") { setPath(body, el.name, el.checked); continue; }
    if (kind === "int[]" || kind === "str[]") {
      body[el.name] ??= [];
      if (el.checked) body[el.name].push(kind === "int[]" ? Number(el.value) : el.value);
      continue;
    }
    if (kind === "moment") {
      setPath(body, el.name, el.value ? new Date(el.value).toISOString() : "");
      continue;
    }
    if ((el.type === "checkbox" || el.type === "radio") && !el.checked) continue;
    const value = kind === "int" && el.value !== "" ? Number(el.value) : el.value;
    setPath(body, el.name, value);
  }
  return compact(body);
}

export function showErrors(form, error) {
  form.querySelectorAll("[data-error-for]").forEach((el) => { el.textContent = ""; });
  const general = form.querySelector(".form-error");
  const fieldName = error && error.field ? error.field.split(".")[0] : null;
  const slot = fieldName && form.querySelector(`[data-error-for="${fieldName}"]`);
  if (slot) {
    slot.textContent = error.message;
    const input = form.querySelector(`[name="${fieldName}"], [name^="${fieldName}."]`);
    if (input) input.setAttribute("aria-invalid", "true");
  } else if (general) {
    general.textContent = error ? error.message : "";
  }
}

async function submit(form) {
  const method = (form.dataset.method || "POST").toUpperCase();
  const button = form.querySelector('[type="submit"]');
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  showErrors(form, null);
  const success = form.querySelector(".form-success");
  if (success) success.textContent = "";
  if (button) button.disabled = true;
  form.setAttribute("aria-busy", "true");
  try {
    const result = await api(method, form.dataset.api, method === "DELETE" ? undefined : formBody(form));
    if (form.dataset.redirect !== undefined) { window.location.assign(form.dataset.redirect || "/"); return; }
    if (form.hasAttribute("data-reload")) { window.location.reload(); return; }
    form.dispatchEvent(new CustomEvent("api:success", { bubbles: true, detail: result }));
    if (success) success.textContent = form.dataset.success || (result && result.message) || "Done.";
  } catch (error) {
    showErrors(form, error);
  } finally {
    if (button) button.disabled = false;
    form.removeAttribute("aria-busy");
  }
}

document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-api]");
  if (!form) return;
  event.preventDefault();
  submit(form);
});

document.addEventListener("change", (event) => {
  if (event.target.matches("[data-autosubmit]")) submit(event.target.form);
});

// Two-step actions: a button with data-reveal="ID" shows the element ID and hides the
// buttons outside it that reveal it; a button inside ID hides it again. Nothing is sent
// until the revealed form is submitted, so leaving the page in between changes nothing.
document.addEventListener("click", (event) => {
  const trigger = event.target.closest("[data-reveal]");
  if (!trigger) return;
  const target = document.getElementById(trigger.dataset.reveal);
  if (!target) return;
  target.hidden = !target.hidden;
  document.querySelectorAll(`[data-reveal="${target.id}"]`).forEach((button) => {
    if (!target.contains(button)) button.hidden = !target.hidden;
  });
  if (!target.hidden) target.querySelector("button, input, select")?.focus();
});
