// Who is in the room: presence.state once, then presence.diff frames (see the README).
(function () {
  "use strict";
  window.chatSocketQuery = "presence=1";
  const present = new Map();
  const online = document.createElement("p");
  online.id = "online";
  online.className = "status";
  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("log").before(online);
  });

  function show() {
    const names = [...present.values()].sort();
    online.textContent = names.length ? `online: ${names.join(", ")}` : "";
  }

  document.addEventListener("chat:frame", (event) => {
    const frame = event.detail;
    if (frame.type === "presence.state") {
      present.clear();
      frame.users.forEach((user) => present.set(user.id, user.username));
    } else if (frame.type === "presence.diff") {
      frame.leaves.forEach((user) => present.delete(user.id));
      frame.joins.forEach((user) => present.set(user.id, user.username));
    } else {
      return;
    }
    show();
  });
})();
