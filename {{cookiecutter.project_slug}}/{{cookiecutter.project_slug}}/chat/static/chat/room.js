// The room page's client: the article's protocol, plus reconnects and de-duplication.
(function () {
  "use strict";
  const roomName = JSON.parse(document.getElementById("room-name").textContent);
  const log = document.getElementById("log");
  const form = document.getElementById("compose");
  const input = document.getElementById("message");
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${window.location.host}/ws/chat/${encodeURIComponent(roomName)}/`;
  let socket = null;
  let lastId = 0;
  let retry = 0;

  function line(text, kind) {
    const item = document.createElement("li");
    item.textContent = text;
    if (kind) item.className = kind;
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  function connect() {
    socket = new WebSocket(url);
    socket.onopen = () => { retry = 0; };
    socket.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (data.type === "error") { line(`error: ${data.detail}`, "error"); return; }
      if (typeof data.id === "number") {
        if (data.id <= lastId) return;  // already shown (history after a reconnect)
        lastId = data.id;
      }
      line(`${data.sender}: ${data.message}`);
    };
    socket.onclose = (event) => {
      if (event.code === 4001) { window.location.href = "/accounts/login/?next=" + encodeURIComponent(window.location.pathname); return; }
      if (event.code === 4000) { line(`closed: ${event.reason || "invalid room"}`, "error"); return; }
      const delay = Math.min(30000, 500 * 2 ** retry++) * (0.5 + Math.random() / 2);
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
