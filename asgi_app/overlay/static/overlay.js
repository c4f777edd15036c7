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

  // League timers: `timer` events {id, state, due_at, remaining_ms, server_now}. A running
  // timer counts down to due_at on this page's own clock, corrected by the server's
  // (server_now - Date.now() when the event arrived), so it keeps counting while the socket
  // is down; a paused one shows what it has left; it never shows a negative time.
  var timerBox = document.querySelector(".timer");
  var timerText = timerBox.querySelector(".timer__time");
  var timers = {};
  var timerSeq = 0;

  function onTimer(ev) {
    if (!ev || typeof ev.id !== "string" || typeof ev.state !== "string") return;
    if (ev.state === "cancelled") {
      delete timers[ev.id];
    } else {
      var offset = typeof ev.server_now === "number" ? ev.server_now - Date.now() : 0;
      timers[ev.id] = { ev: ev, offset: offset, seq: ++timerSeq };
    }
    drawTimer();
  }

  function timerLeft(t) {
    if (t.ev.state === "running" && typeof t.ev.due_at === "number") {
      return Math.max(0, t.ev.due_at - (Date.now() + t.offset));
    }
    if (t.ev.state === "paused") return Math.max(0, Number(t.ev.remaining_ms) || 0);
    return 0;
  }

  function shownTimer() {
    // The running timer due first; else the paused one changed last; else the last fired.
    var best = null, rank = { running: 3, paused: 2, fired: 1 };
    Object.keys(timers).forEach(function (id) {
      var t = timers[id], r = rank[t.ev.state] || 0;
      if (!r) return;
      if (!best || r > rank[best.ev.state] ||
          (r === rank[best.ev.state] && (r === 3 ? t.ev.due_at < best.ev.due_at : t.seq > best.seq))) {
        best = t;
      }
    });
    return best;
  }

  function clockText(ms) {
    var total = Math.ceil(ms / 1000), h = Math.floor(total / 3600);
    var m = Math.floor((total % 3600) / 60), s = total % 60;
    var mm = h ? (m < 10 ? "0" + m : String(m)) : String(m);
    return (h ? h + ":" : "") + mm + ":" + (s < 10 ? "0" + s : String(s));
  }

  function drawTimer() {
    var t = shownTimer();
    timerBox.hidden = t === null;
    if (t === null) {
      timerBox.dataset.state = "none";
      return;
    }
    var left = timerLeft(t);
    timerBox.dataset.state = t.ev.state;
    timerBox.dataset.timer = t.ev.id;
    timerBox.dataset.remaining = String(left);
    timerText.textContent = clockText(left);
  }
  setInterval(drawTimer, 200);

  if (typeof window.io !== "function") {
    setStatus("error", "socket.io client missing");
    return;
  }

  // WebSocket first: one connection, which stays on the node that accepted it, so a proxy
  // that spreads requests over several nodes needs no sticky sessions for it. Long-polling only
  // when the WebSocket cannot be opened (a proxy that refuses the upgrade): its requests must
  // all reach one node, which deploy/nginx.conf's `ip_hash` for /socket.io/ ensures (README
  // "Several hosts").
  var socket = window.io("/overlay", {
    path: "/socket.io",
    transports: ["websocket", "polling"],
    tryAllTransports: true,
    auth: { overlay: board.dataset.overlay, key: board.dataset.key },
    reconnectionDelayMax: 10000
  });

  socket.on("connect", function () { setStatus("live", ""); });
  socket.on("overlay", draw);
  socket.on("timer", onTimer);
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
