// Live scoreboard for an OBS browser source. Connects to namespace /overlay with the page's
// read-only view key, redraws on every `overlay` event; socket.io-client reconnects by itself.
(function () {
  "use strict";
  var board = document.getElementById("scoreboard");
  var statusLine = board.querySelector(".status");
  var cover = document.querySelector(".camera-cover");
  var MAX_PIPS = 15;
  var updates = 0;

  function setStatus(status, text) {
    board.dataset.status = status;
    statusLine.textContent = text;
  }

  function safeImageUrl(url) {
    if (typeof url !== "string" || url === "") return "";
    try {
      var parsed = new URL(url, document.baseURI);
      if (parsed.protocol === "https:" || parsed.protocol === "http:" || parsed.protocol === "data:") {
        return parsed.href;
      }
    } catch (e) { /* not a URL */ }
    return "";
  }

  function asCount(value) {
    return typeof value === "number" && isFinite(value) && value > 0 ? Math.floor(value) : 0;
  }

  function drawTeam(side, team, maxScore) {
    var el = board.querySelector('[data-team="' + side + '"]');
    team = team || {};
    var score = asCount(team.score);
    el.querySelector(".team__name").textContent = typeof team.name === "string" ? team.name : "";
    el.querySelector(".team__score").textContent = String(score);
    el.style.setProperty("--primary", typeof team.primaryColor === "string" ? team.primaryColor : "");
    el.style.setProperty("--secondary", typeof team.secondaryColor === "string" ? team.secondaryColor : "");
    var logo = el.querySelector(".team__logo");
    var src = safeImageUrl(team.logoUrl);
    if (src) {
      // Shown once it has loaded: a logo that fails (404, blocked, not an image) stays hidden
      // instead of showing the browser's broken-image icon on stream.
      if (logo.getAttribute("src") !== src) {
        logo.hidden = true;
        logo.setAttribute("src", src);
      }
    } else {
      logo.removeAttribute("src");
      logo.hidden = true;
    }
    var pips = el.querySelector(".team__pips");
    var wanted = Math.min(maxScore, MAX_PIPS);
    while (pips.children.length < wanted) pips.appendChild(document.createElement("li"));
    while (pips.children.length > wanted) pips.removeChild(pips.lastChild);
    for (var i = 0; i < pips.children.length; i++) {
      pips.children[i].className = i < score ? "pip pip--won" : "pip";
    }
  }

  function watchLogo(logo) {
    logo.addEventListener("load", function () { logo.hidden = false; });
    logo.addEventListener("error", function () { logo.hidden = true; });
  }
  Array.prototype.forEach.call(board.querySelectorAll(".team__logo"), watchLogo);

  function draw(state) {
    if (!state || typeof state !== "object") return;
    var maxScore = Math.max(1, asCount(state.maxScore));
    drawTeam("blue", state.blue, maxScore);
    drawTeam("red", state.red, maxScore);
    cover.hidden = state.cameraControlsCover !== true;
    updates += 1;
    board.dataset.updates = String(updates);
  }

  if (typeof window.io !== "function") {
    setStatus("error", "socket.io client missing");
    return;
  }

  // WebSocket only, no long-polling: one connection, so a proxy that spreads requests over
  // several nodes (README "Several hosts") needs no sticky sessions.
  var socket = window.io("/overlay", {
    path: "/socket.io",
    transports: ["websocket"],
    auth: { overlay: board.dataset.overlay, key: board.dataset.key },
    reconnectionDelayMax: 10000
  });

  socket.on("connect", function () { setStatus("live", ""); });
  socket.on("overlay", draw);
  socket.on("disconnect", function () { setStatus("reconnecting", "reconnecting\u2026"); });
  socket.on("connect_error", function (err) {
    if (socket.active) {
      setStatus("reconnecting", "reconnecting\u2026");  // transport trouble: retried by the client
    } else {
      // refused by the server (bad or missing key): try again later, the key may be fixed
      setStatus("refused", "overlay access refused");
      setTimeout(function () { socket.connect(); }, 30000);
    }
  });
})();
