// The room page: chat/client.js's ChatRoom drawn into chat/room.html.
import { sessionToken } from "../core/socket.js";
import { ChatRoom } from "./client.js";

const setting = (id) => JSON.parse(document.getElementById(id).textContent);
const me = setting("user-name");
const log = document.getElementById("log");
const form = document.getElementById("compose");
const input = document.getElementById("message");
const connection = document.getElementById("connection");
const notice = document.getElementById("notice");
const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const day = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

// window.chatSocketOptions: LiveSocket options for this page (the browser tests shorten
// the heartbeat and the back-off with it).
export const room = new ChatRoom(setting("room-name"), {
  presence: setting("presence"),
  token: setting("socket-auth") === "jwt" ? sessionToken : null,
  socket: window.chatSocketOptions || {},
});
window.chatRoom = room;

function item(ref) {
  return log.querySelector(`li[data-ref="${CSS.escape(ref)}"]`);
}

function byId(id) {
  return log.querySelector(`li[data-id="${id}"]`);
}

// Fills `li` with a message: sender, time, text (as text, never as HTML).
function fill(li, { sender, message, sent_at: sentAt }) {
  li.replaceChildren();
  const head = li.appendChild(document.createElement("div"));
  head.className = "meta";
  head.appendChild(document.createElement("strong")).textContent = sender;
  if (sentAt) {
    const time = head.appendChild(document.createElement("time"));
    time.dateTime = sentAt;
    time.title = day.format(new Date(sentAt));
    time.textContent = clock.format(new Date(sentAt));
  }
  li.appendChild(document.createElement("p")).textContent = message;
}

// Places a message by id: what a resume recovers may arrive after later ones.
function place(li, id) {
  let before = null;
  for (const other of log.children) {
    if (!other.dataset.id || Number(other.dataset.id) > id) {
      before = other;
      break;
    }
  }
  log.insertBefore(li, before);
}

function mark(li, state) {
  li.dataset.state = state;
  li.querySelector(".mark")?.remove();
  if (state === "sent") return;
  const note = li.appendChild(document.createElement("span"));
  note.className = "mark";
  note.textContent = state === "pending" ? "sending…" : "not sent ";
  if (state === "failed") {
    const again = note.appendChild(document.createElement("button"));
    again.type = "button";
    again.textContent = "Retry";
    again.addEventListener("click", () => room.retry(li.dataset.ref));
  }
}

function scrolled() {
  log.scrollTop = log.scrollHeight;
}

// The user's post still waiting for its ack whose text is `text`: a message often comes
// back before its ack, and is then shown in its place rather than beside it.
function waiting(text) {
  return [...log.querySelectorAll("li[data-ref]:not([data-id])")].find(
    (li) => li.querySelector("p").textContent === text,
  );
}

room.addEventListener("message", ({ detail }) => {
  let li = detail.ref ? item(detail.ref) : detail.sender === me && waiting(detail.message);
  if (!li) {
    li = document.createElement("li");
    li.className = "message";
    place(li, detail.id);
  }
  const state = detail.ref ? "sent" : li.dataset.state;
  li.dataset.id = detail.id;
  fill(li, detail);
  if (state) mark(li, state);
  scrolled();
});

room.addEventListener("pending", ({ detail }) => {
  let li = item(detail.ref);
  if (!li) {
    li = log.appendChild(document.createElement("li"));
    li.className = "message own";
    li.dataset.ref = detail.ref;
    fill(li, { sender: "you", message: detail.message });
  }
  mark(li, "pending");
  scrolled();
});

room.addEventListener("failed", ({ detail }) => {
  const li = item(detail.ref);
  if (li) mark(li, "failed");
});

room.addEventListener("ack", ({ detail }) => {
  const li = item(detail.ref);
  const shown = byId(detail.id);
  if (shown && li && shown !== li) {
    li.remove(); // the message itself came first
    shown.classList.add("own");
    shown.dataset.ref = detail.ref;
    mark(shown, "sent");
    return;
  }
  if (li) {
    li.dataset.id = detail.id;
    mark(li, "sent");
  }
});

room.addEventListener("reset", () => {
  log.querySelectorAll("li[data-id]").forEach((li) => li.remove());
});

room.addEventListener("error", ({ detail }) => {
  const wait = detail.retry_after ? ` (trying again in ${Math.ceil(detail.retry_after)} s)` : "";
  notice.textContent = `${detail.detail}${wait}`;
});

let countdown = null;
room.addEventListener("state", ({ detail }) => {
  clearInterval(countdown);
  connection.dataset.state = detail.state;
  const text = {
    connecting: () => "Connecting…",
    live: () => "Live",
    reconnecting: () => {
      const seconds = Math.max(0, Math.ceil((detail.at - Date.now()) / 1000));
      return `Reconnecting in ${seconds} s (${detail.reason})`;
    },
    offline: () => `Offline${detail.reason ? ": " + detail.reason : ""}`,
  }[detail.state];
  connection.querySelector(".text").textContent = text();
  if (detail.state === "reconnecting") {
    countdown = setInterval(() => (connection.querySelector(".text").textContent = text()), 1000);
  }
  connection.querySelector("button").hidden = detail.state !== "reconnecting";
  if (detail.state === "live") notice.textContent = "";
});
connection.querySelector("button").addEventListener("click", () => room.socket.reconnectNow());

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  // Offline too: the post waits, marked, and goes when the socket is back.
  room.post(text);
  input.value = "";
  input.focus();
});

room.start();
