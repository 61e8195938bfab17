// The room page's client: the article's protocol, plus tokens, reconnects and de-duplication.
(function () {
  "use strict";
  const roomName = JSON.parse(document.getElementById("room-name").textContent);
  const socketAuth = JSON.parse(document.getElementById("socket-auth").textContent);
  const csrfToken = document.querySelector("[name=csrfmiddlewaretoken]").value;
  const log = document.getElementById("log");
  const form = document.getElementById("compose");
  const input = document.getElementById("message");
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const base = `${scheme}://${window.location.host}/ws/chat/${encodeURIComponent(roomName)}/`;
  // A socket that stayed open this long resets the back-off: one that drops at once
  // (a server refusing, a restart storm) keeps backing off.
  const STABLE_MS = 10000;
  const loginUrl = "/accounts/login/?next=" + encodeURIComponent(window.location.pathname);
  let socket = null;
  let lastId = 0;
  let retry = 0;
  let refreshTimer = null;
  let stableTimer = null;

  // Scripts loaded before this one (presence.js) may ask for more frames; after a
  // reconnect the server sends exactly what was missed since lastId.
  function socketUrl() {
    const params = new URLSearchParams(window.chatSocketQuery || "");
    if (lastId > 0) params.set("last_id", String(lastId));
    const query = params.toString();
    return query ? `${base}?${query}` : base;
  }

  function line(text, kind) {
    const item = document.createElement("li");
    item.textContent = text;
    if (kind) item.className = kind;
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  // With auth = jwt this page trades its login session for a short-lived access token.
  async function accessToken() {
    const response = await fetch("/api/auth/session-token/", {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken },
      credentials: "same-origin",
    });
    if (response.redirected || !response.ok) { window.location.href = loginUrl; throw new Error("logged out"); }
    return response.json();
  }

  // Sends a fresh token over the open socket before the current one expires.
  function scheduleRefresh(expiresIn) {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(async () => {
      const token = await accessToken();
      if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ type: "auth", token: token.access }));
      }
      scheduleRefresh(token.expires_in);
    }, Math.max(5, expiresIn - 30) * 1000);
  }

  async function connect() {
    let protocols;
    if (socketAuth === "jwt") {
      const token = await accessToken();
      protocols = ["bearer", token.access];
      scheduleRefresh(token.expires_in);
    }
    socket = new WebSocket(socketUrl(), protocols);
    socket.onopen = () => { stableTimer = setTimeout(() => { retry = 0; }, STABLE_MS); };
    socket.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (data.type === "auth.ok") return;
      if (data.type !== "chat.message" && data.type !== "error") {
        // Other features' frames (presence) go to whoever listens for them.
        document.dispatchEvent(new CustomEvent("chat:frame", { detail: data }));
        return;
      }
      if (data.type === "error") {
        const wait = data.code === "rate_limited" ? ` (wait ${data.retry_after} s)` : "";
        line(`error: ${data.detail}${wait}`, "error");
        return;
      }
      if (typeof data.id === "number") {
        if (data.id <= lastId) return;  // already shown (history after a reconnect)
        lastId = data.id;
      }
      line(`${data.sender}: ${data.message}`);
    };
    socket.onclose = (event) => {
      clearTimeout(refreshTimer);
      clearTimeout(stableTimer);
      if (event.code === 4001 && socketAuth === "session") { window.location.href = loginUrl; return; }
      if (event.code === 4000 || event.code === 4003) { line(`closed: ${event.reason || event.code}`, "error"); return; }
      if (event.code === 4009) line("too many open tabs or windows: close one", "error");
      // At its maximum age (4010, already spread over a tenth of it): back at once.
      const delay = event.code === 4010 ? 0 : Math.min(30000, 500 * 2 ** retry++) * (0.5 + Math.random() / 2);
      line(`disconnected, reconnecting in ${Math.round(delay / 1000)} s`, "status");
      setTimeout(connect, delay);
    };
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!input.value.trim() || !socket || socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({ message: input.value }));
    input.value = "";
  });
  connect();
})();
