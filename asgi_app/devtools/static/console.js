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

async function fire(kind) {
  const summary = document.getElementById("summary");
  const list = document.getElementById("steps");
  summary.textContent = `Firing a ${kind}...`;
  list.replaceChildren();
  const result = await call("POST", "/dev/fire", { kind });
  summary.textContent = `${result.kind} ${result.interaction_id}: main app ${result.main_app_mode}, ` +
    `response ${result.response_mode}, ` +
    (result.finished ? "finished" : "not finished within the wait");
  for (const step of result.steps) {
    const item = document.createElement("li");
    const ms = document.createElement("span");
    ms.className = "ms";
    ms.textContent = `${step.ms} ms`;
    const mode = step.response_mode ? ` [X-Response-Mode: ${step.response_mode}]` : "";
    item.append(ms, `${step.step}: ${step.detail}${mode}`);
    list.append(item);
  }
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

loadMode();
loadOverlayLink();
