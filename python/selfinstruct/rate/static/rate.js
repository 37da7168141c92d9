// The rater's page: load this rater's queue, show one response at a time, save each rating as it is
// given (the server appends and fsyncs it before answering), and resume at the first unrated response.
"use strict";

const state = { rater: null, items: [], index: 0, busy: false };
const $ = (id) => document.getElementById(id);

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function raterPath(suffix) {
  return `/api/raters/${encodeURIComponent(state.rater)}/${suffix}`;
}

function updateProgress() {
  const rated = state.items.filter((item) => item.rating).length;
  $("progress").textContent = `${rated} of ${state.items.length} rated`;
  $("position").textContent = `(${state.index + 1} of ${state.items.length})`;
}

function showText(element, text, emptyNote) {
  // Drop leading blank lines, trailing space and the single space completions often start with;
  // indentation and inner layout stay as written.
  element.textContent = text.trim() ? text.replace(/^\s*\n|\s+$/g, "").replace(/^ (?=\S)/, "") : emptyNote;
  element.classList.toggle("empty", !text.trim());
}

async function show(index) {
  state.index = Math.max(0, Math.min(index, state.items.length - 1));
  const entry = state.items[state.index];
  const item = await api(`/api/items/${encodeURIComponent(entry.key)}`);
  showText($("instruction"), item.instruction, "");
  $("input-section").hidden = !item.input.trim();
  showText($("input"), item.input, "");
  showText($("response"), item.response, "(empty response)");
  for (const button of document.querySelectorAll(".rate-button")) {
    button.setAttribute("aria-pressed", String(button.dataset.level === entry.rating));
  }
  $("prev").disabled = state.index === 0;
  $("next").disabled = state.index === state.items.length - 1;
  $("item").dataset.key = entry.key;
  $("item").dataset.rating = entry.rating || "";
  $("item").hidden = false;
  updateProgress();
}

async function rate(level) {
  if (state.busy) return;
  state.busy = true;
  const entry = state.items[state.index];
  try {
    await api(raterPath("ratings"), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ item: entry.key, rating: level }),
    });
    entry.rating = level;
    showError("");
    $("status").textContent = `Saved ${level}.`;
    if (state.index < state.items.length - 1) {
      await show(state.index + 1);
    } else {
      await show(state.index);
      $("status").textContent = `Saved ${level}. That was the last response.`;
    }
  } catch (error) {
    showError(`Not saved: ${error.message}`);
  } finally {
    state.busy = false;
  }
}

async function move(index) {
  if (state.busy) return;
  state.busy = true;
  try {
    $("status").textContent = "";
    await show(index);
  } catch (error) {
    showError(error.message);
  } finally {
    state.busy = false;
  }
}

function firstUnrated(from) {
  for (let offset = 0; offset < state.items.length; offset++) {
    const index = (from + offset) % state.items.length;
    if (!state.items[index].rating) return index;
  }
  return -1;
}

async function start(rater) {
  state.rater = rater;
  const queue = await api(raterPath("queue"));
  state.items = queue.items;
  $("rater-label").textContent = queue.rater;
  $("whoami").hidden = false;
  const next = firstUnrated(0);
  await show(next === -1 ? state.items.length - 1 : next);
  if (next === -1) $("status").textContent = "You have rated every response.";
}

function bindControls() {
  for (const button of document.querySelectorAll(".rate-button")) {
    button.addEventListener("click", () => rate(button.dataset.level));
  }
  $("prev").addEventListener("click", () => move(state.index - 1));
  $("next").addEventListener("click", () => move(state.index + 1));
  $("next-unrated").addEventListener("click", () => {
    const next = firstUnrated(state.index + 1);
    if (next === -1) $("status").textContent = "You have rated every response.";
    else move(next);
  });
  document.addEventListener("keydown", (event) => {
    if ($("item").hidden || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target instanceof HTMLInputElement) return;
    const level = event.key.toUpperCase();
    if (["A", "B", "C", "D"].includes(level)) rate(level);
    else if (event.key === "ArrowLeft" && state.index > 0) move(state.index - 1);
    else if (event.key === "ArrowRight" && state.index < state.items.length - 1) move(state.index + 1);
    else return;
    event.preventDefault();
  });
}

function askName(message) {
  $("rater-form").hidden = false;
  showError(message || "");
  $("rater-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("rater-name").value.trim();
    if (name) location.search = `?rater=${encodeURIComponent(name)}`;
  });
  $("rater-name").focus();
}

document.addEventListener("DOMContentLoaded", () => {
  bindControls();
  const rater = new URLSearchParams(location.search).get("rater");
  if (!rater) {
    askName();
    return;
  }
  start(rater).catch((error) => askName(error.message));
});
