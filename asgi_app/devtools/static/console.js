"use strict";
async function call(method, url, body) {
  const response = await fetch(url, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  return response.json();
}

async function loadMode() {
  const state = await call("GET", "/dev/main-app");
  for (const input of document.querySelectorAll("input[name=mode]")) {
    input.checked = input.value === state.mode;
    input.onchange = () => call("POST", "/dev/main-app", { mode: input.value });
  }
  for (const input of document.querySelectorAll("input[name=response]")) {
    input.checked = input.value === state.response;
    input.onchange = () => call("POST", "/dev/main-app", { response: input.value });
  }
}

// The timeline of a fire (an interaction's or an event's): one line per step.
function showSteps(list, steps) {
  list.replaceChildren(...steps.map((step) => {
    const item = document.createElement("li");
    const ms = document.createElement("span");
    ms.className = "ms";
    ms.textContent = step.ms === undefined ? "" : `${step.ms} ms`;
    const mode = step.response_mode ? ` [X-Response-Mode: ${step.response_mode}]` : "";
    item.append(ms, `${step.step}: ${step.detail}${mode}`);
    return item;
  }));
}

async function fire(kind) {
  const summary = document.getElementById("summary");
  const list = document.getElementById("steps");
  summary.textContent = `Firing a ${kind}...`;
  list.replaceChildren();
  const result = await call("POST", "/dev/fire", { kind });
  summary.textContent = `${result.kind} ${result.interaction_id}: main app ${result.main_app_mode}, ` +
    `response ${result.response_mode}, ` +
    (result.finished ? "finished" : "not finished within the wait");
  showSteps(list, result.steps);
}

for (const button of document.querySelectorAll("button[data-kind]")) {
  button.onclick = () => fire(button.dataset.kind);
}
async function loadOverlayLink() {
  const link = document.getElementById("overlay-link");
  const { url } = await call("GET", "/dev/overlay-link");
  link.href = url;
  link.textContent = url;
}

function seconds(ms) {
  return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
}

async function loadTimers() {
  const state = await call("GET", "/dev/timers");
  const timers = document.getElementById("timers");
  timers.replaceChildren(...state.timers.map((t) => {
    const item = document.createElement("li");
    const left = t.state === "running" ? t.due_at - state.server_now : t.remaining_ms;
    item.textContent = `${t.id}: ${t.state}, ${seconds(left)} left`;
    return item;
  }));
  const deliveries = document.getElementById("timer-deliveries");
  deliveries.replaceChildren(...state.received.map((d) => {
    const item = document.createElement("li");
    const extra = d.kind === "reminder" ? `, ${seconds(d.remaining_ms)} left` : "";
    item.textContent = `${d.timer_id}: ${d.kind} received ${d.sent_at - d.due_at} ms after due` +
      `${extra} (attempt ${d.attempt}, late: ${d.late}, signatures ${d.signature_ok ? "ok" : "BAD"})`;
    return item;
  }));
}

document.getElementById("start-timer").onclick = async () => {
  await call("POST", "/dev/timer");
  loadTimers();
};

async function fireEvent(kind) {
  const summary = document.getElementById("event-summary");
  const list = document.getElementById("event-steps");
  summary.textContent = `Firing ${kind}...`;
  list.replaceChildren();
  const result = await call("POST", "/dev/event", { kind });
  summary.textContent = `${result.kind} ${result.event_id || ""} (main app: ${result.main_app_mode})`;
  showSteps(list, result.steps);
}

async function loadEvents() {
  const state = await call("GET", "/dev/events");
  document.getElementById("forwarded").textContent = state.forwarded.join(", ") || "none";
  for (const input of document.querySelectorAll("input[name=events-mode]")) {
    input.checked = input.value === state.mode;
    input.onchange = () => call("POST", "/dev/events/mode", { mode: input.value });
  }
  document.getElementById("event-kinds").replaceChildren(...state.kinds.map((kind) => {
    const button = document.createElement("button");
    button.textContent = kind;
    button.onclick = () => fireEvent(kind);
    return button;
  }));
}

loadMode();
loadEvents();
loadOverlayLink();
loadTimers();
setInterval(loadTimers, 1000);
