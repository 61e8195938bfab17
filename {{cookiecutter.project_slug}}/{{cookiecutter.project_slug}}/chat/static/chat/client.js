// ChatRoom: one room over a LiveSocket (core/socket.js): every message once, in id order,
// across reconnects, and the user's posts kept until the server acknowledges them.
//
//   import { ChatRoom } from "/static/chat/client.js";
//   const room = new ChatRoom("café lounge", { presence: true });
//   room.addEventListener("message", (event) => show(event.detail));
//   room.start();
//   room.post("hello");  // returns its ref; "ack" follows, after a reconnect if need be
//
// Events: "message" {id, sender, message, sent_at, ref} (ref: the user's own post, already
// acknowledged), "pending" {ref, message}, "ack" {ref, id}, "failed" {ref} (no ack within
// ackTimeout: it is sent again at the next reconnect, or by retry(ref)), "reset" (the gap
// was too long to recover: drop what is shown, the latest history follows), "presence"
// {members: [{id, username, since}]}, "error" (the server's error frames), "frame" (any
// other frame), and the socket's "state".

import { LiveSocket } from "../core/socket.js";

let posted = 0;

// A reference unique to this post of this page (the server stores a ref once per user).
function newRef() {
  const random = new Uint32Array(2);
  crypto.getRandomValues(random);
  posted += 1;
  return `${Date.now().toString(36)}-${random[0].toString(36)}${random[1].toString(36)}-${posted}`;
}

export class ChatRoom extends EventTarget {
  // `token`: core/socket.js's sessionToken under auth = jwt; `socket`: LiveSocket options.
  constructor(name, { presence = false, token = null, socket = {}, ackTimeout = 10000 } = {}) {
    super();
    this.name = name;
    this.presence = presence;
    this.ackTimeout = ackTimeout;
    this.lastId = 0; // every message up to this id was seen
    this.ahead = new Set(); // ids seen past a gap
    this.resuming = false;
    this.acked = new Map(); // id -> ref, for the user's posts acknowledged before they arrived
    this.pending = new Map(); // ref -> {ref, message, timer}
    this.members = new Map();
    this.socket = new LiveSocket(() => this.#path(), { ...socket, token });
    this.socket.addEventListener("frame", (event) => this.#frame(event.detail));
    this.socket.addEventListener("open", () => this.#opened());
    // Offline, a post is pending, not failed: it goes again at the next open.
    this.socket.addEventListener("close", () => this.pending.forEach((post) => clearTimeout(post.timer)));
    this.socket.addEventListener("state", (event) => this.#emit("state", event.detail));
  }

  start() {
    this.socket.start();
  }

  // Posts `message`; returns its ref. Kept, and sent again after every reconnect, until
  // the server acknowledges it (it stores a ref once).
  post(message) {
    const ref = newRef();
    this.pending.set(ref, { ref, message, timer: null });
    this.#emit("pending", { ref, message });
    this.#send(this.pending.get(ref));
    return ref;
  }

  // Sends a failed post again now.
  retry(ref) {
    const post = this.pending.get(ref);
    if (post) {
      this.#emit("pending", { ref, message: post.message });
      this.#send(post);
    }
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  #path() {
    const params = new URLSearchParams();
    if (this.presence) params.set("presence", "1");
    if (this.lastId > 0) params.set("last_id", String(this.lastId));
    const query = params.toString();
    return `/ws/chat/${encodeURIComponent(this.name)}/${query ? "?" + query : ""}`;
  }

  #send(post) {
    clearTimeout(post.timer);
    if (!this.socket.send({ message: post.message, ref: post.ref })) return;
    post.timer = setTimeout(() => this.#emit("failed", { ref: post.ref }), this.ackTimeout);
  }

  #opened() {
    this.ahead.clear();
    this.resuming = false;
    this.pending.forEach((post) => this.#send(post));
  }

  #frame(frame) {
    switch (frame.type) {
      case "chat.message":
        return this.#message(frame);
      case "chat.ack":
        return this.#ack(frame);
      case "chat.recovery":
        if (!frame.recovered) {
          this.lastId = 0;
          this.ahead.clear();
          this.#emit("reset", frame);
        }
        return;
      case "presence.state":
        this.members.clear();
        frame.users.forEach((user) => this.members.set(user.id, user));
        return this.#emit("presence", { members: [...this.members.values()] });
      case "presence.diff":
        frame.leaves.forEach((user) => this.members.delete(user.id));
        frame.joins.forEach((user) => this.members.set(user.id, user));
        return this.#emit("presence", { members: [...this.members.values()] });
      case "error":
        // The frame was not handled: the unacknowledged posts go again after the wait.
        if (frame.code === "rate_limited") {
          setTimeout(() => this.pending.forEach((post) => this.#send(post)), frame.retry_after * 1000);
        }
        return this.#emit("error", frame);
      default:
        return this.#emit("frame", frame);
    }
  }

  #message(frame) {
    const id = frame.id;
    if (id <= this.lastId || this.ahead.has(id)) return; // shown already
    if (this.lastId === 0) this.lastId = id - 1; // the first of the history
    this.ahead.add(id);
    while (this.ahead.has(this.lastId + 1)) this.ahead.delete(++this.lastId);
    if (this.ahead.size && !this.resuming) {
      // An id was skipped: the server sends what follows lastId again.
      this.resuming = true;
      this.socket.send({ type: "resume", last_id: this.lastId });
    } else if (!this.ahead.size) {
      this.resuming = false;
    }
    const ref = this.acked.get(id);
    this.acked.delete(id);
    this.#emit("message", { ...frame, ref });
  }

  #ack(frame) {
    const post = this.pending.get(frame.ref);
    if (!post) return;
    clearTimeout(post.timer);
    this.pending.delete(frame.ref);
    if (frame.id > this.lastId && !this.ahead.has(frame.id)) this.acked.set(frame.id, frame.ref);
    this.#emit("ack", { ref: frame.ref, id: frame.id });
  }
}
