// LiveSocket: a WebSocket that stays connected, for this project's pages and your own.
//
//   import { LiveSocket, sessionToken } from "/static/core/socket.js";
//   const socket = new LiveSocket(() => "/ws/notifications/", {
//     token: document.body.dataset.socketAuth === "jwt" ? sessionToken : null,
//   });
//   socket.addEventListener("frame", (event) => console.log(event.detail));
//   socket.addEventListener("state", (event) => console.log(event.detail.state));
//   socket.start();
//
// What it does (the README's "The browser client" says why):
// - reconnects with exponential back-off and full jitter (a random wait between 0 and
//   min(cap, base * 2^attempt)), reset only once a socket stayed open `stableAfter` ms;
// - sends {"type": "ping"} after `heartbeat` ms without a frame and gives the socket up
//   when nothing arrives within `pongTimeout` ms more: a half-open socket is found within
//   heartbeat + pongTimeout;
// - follows the server's close codes: 4001 signs in again (a fresh token under jwt, else
//   `onSignedOut`), 4000 and 4003 stop and say why, 4010 reconnects at once, 1012, 4008,
//   4009, 4013, 4029 and network losses reconnect with back-off;
// - with a `token` function (auth = jwt) offers the token as the ["bearer", <token>]
//   subprotocols and sends a fresh one ({"type": "auth"}) before it expires.
//
// Events: "state" {state: "connecting" | "live" | "reconnecting" | "offline", delay, reason},
// "open" (each socket that opened), "frame" (each JSON frame but pong and auth.ok),
// "close" {code, reason}.

export const DEFAULTS = Object.freeze({
  base: 500, // ms: the first back-off's ceiling
  cap: 30000, // ms: the largest back-off
  stableAfter: 10000, // ms a socket stays open before the back-off starts over
  heartbeat: 15000, // ms of silence before a ping
  pongTimeout: 5000, // ms a ping waits for any frame before the socket is given up
  openTimeout: 10000, // ms a handshake may take before it is given up
  token: null, // async () => ({access, expires_in}), for auth = jwt
  onSignedOut: () => window.location.assign(loginUrl()),
});

// What a close code means to a client (the README's close codes).
const STOP = { 4000: "this room name is not valid", 4003: "this room is private" };
const WHY = {
  4008: "this page fell behind the room",
  4009: "too many open tabs or windows: close one",
  4013: "the server is busy",
  4029: "too many messages: slowing down",
  1012: "the server is restarting",
};

export function loginUrl() {
  return "/accounts/login/?next=" + encodeURIComponent(window.location.pathname);
}

// The wait before reconnect attempt `attempt` (0, 1, ...): full jitter.
export function backoffDelay(attempt, { base, cap } = DEFAULTS) {
  return Math.random() * Math.min(cap, base * 2 ** attempt);
}

// When to refresh a token that expires in `expiresIn` s: halfway, or a minute before.
export function refreshDelay(expiresIn) {
  return Math.max(expiresIn / 2, expiresIn - 60) * 1000;
}

export class SignedOut extends Error {}

// Trades this page's login session for an access token (auth = jwt), as {access, expires_in}.
export async function sessionToken() {
  const csrf = document.querySelector("[name=csrfmiddlewaretoken]");
  const response = await fetch("/api/auth/session-token/", {
    method: "POST",
    headers: { "X-CSRFToken": csrf ? csrf.value : "" },
    credentials: "same-origin",
  });
  if (response.redirected || response.status === 401 || response.status === 403) {
    throw new SignedOut("signed out");
  }
  if (!response.ok) throw new Error(`token endpoint answered ${response.status}`);
  return response.json();
}

function absolute(path) {
  const url = new URL(path, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

export class LiveSocket extends EventTarget {
  // `url`: a function returning the socket's path (or URL), asked at every connect.
  constructor(url, options = {}) {
    super();
    this.url = url;
    this.options = { ...DEFAULTS, ...options };
    this.state = "offline";
    this.opened = 0; // sockets opened so far: 1 while the first one lasts
    this.refreshed = 0; // tokens sent over open sockets
    this.connects = 0; // connects begun: a later one overrides an earlier still waiting
    this.attempt = 0;
    this.socket = null;
    this.stopped = true;
    this.timers = {};
    this.reauthenticated = false;
    window.addEventListener("online", () => this.reconnectNow());
    window.addEventListener("offline", () => this.socket || this.#state("offline", { reason: "no network" }));
  }

  start() {
    this.stopped = false;
    this.#connect();
  }

  // Closes the socket for good (until start()).
  stop(reason = "") {
    this.stopped = true;
    this.#drop();
    this.#state("offline", { reason });
  }

  // Skips the rest of a back-off wait.
  reconnectNow() {
    if (!this.stopped && (this.state === "reconnecting" || this.state === "offline")) this.#connect();
  }

  get live() {
    return this.state === "live";
  }

  // Sends a JSON frame; false when no socket is open (nothing was sent).
  send(frame) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  #state(state, detail = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, ...detail } }));
  }

  #later(name, ms, action) {
    clearTimeout(this.timers[name]);
    this.timers[name] = setTimeout(action, ms);
  }

  #clearTimers() {
    Object.values(this.timers).forEach(clearTimeout);
    this.timers = {};
  }

  async #connect() {
    this.#clearTimers();
    this.#state("connecting");
    const attempt = ++this.connects;
    let protocols;
    let token = null;
    if (this.options.token) {
      try {
        token = await this.#withinOpenTimeout(this.options.token());
      } catch (error) {
        if (attempt !== this.connects) return;
        if (error instanceof SignedOut) return this.#signedOut();
        return this.#retry(0, "cannot reach the server");
      }
      protocols = ["bearer", token.access];
    }
    // Stopped meanwhile, or overtaken by another connect (reconnectNow).
    if (this.stopped || attempt !== this.connects) return;
    const socket = new WebSocket(absolute(this.url()), protocols);
    this.socket = socket;
    // A server that accepts TCP but never answers (stopped, overloaded) must not hang us.
    this.#later("open", this.options.openTimeout, () => this.#closed(4900, "no answer"));
    socket.onopen = () => {
      if (socket !== this.socket) return;
      clearTimeout(this.timers.open);
      this.opened += 1;
      this.#later("stable", this.options.stableAfter, () => {
        this.attempt = 0;
        this.reauthenticated = false;
      });
      if (token) this.#later("refresh", refreshDelay(token.expires_in), () => this.#refresh());
      this.#heard();
      this.#state("live");
      this.dispatchEvent(new Event("open"));
    };
    socket.onmessage = (event) => {
      if (socket !== this.socket) return;
      this.#heard();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.type === "pong" || frame.type === "auth.ok") return;
      this.dispatchEvent(new CustomEvent("frame", { detail: frame }));
    };
    socket.onclose = (event) => {
      if (socket === this.socket) this.#closed(event.code, event.reason);
    };
  }

  // Any frame proves the socket alive: the next ping waits for another quiet spell.
  #heard() {
    clearTimeout(this.timers.pong);
    this.#later("ping", this.options.heartbeat, () => {
      this.send({ type: "ping" });
      this.#later("pong", this.options.pongTimeout, () => this.#closed(4900, "no answer to a ping"));
    });
  }

  #withinOpenTimeout(promise) {
    const timeout = new Promise((_, reject) => {
      setTimeout(() => reject(new Error("no answer")), this.options.openTimeout);
    });
    return Promise.race([promise, timeout]);
  }

  async #refresh() {
    const socket = this.socket;
    try {
      const token = await this.options.token();
      if (socket !== this.socket) return; // that socket is gone: its successor refreshes
      if (this.send({ type: "auth", token: token.access })) this.refreshed += 1;
      this.#later("refresh", refreshDelay(token.expires_in), () => this.#refresh());
    } catch (error) {
      if (socket !== this.socket) return;
      if (error instanceof SignedOut) return this.#signedOut();
      this.#later("refresh", 5000, () => this.#refresh());
    }
  }

  // Forgets the socket (a half-open one may never report its close).
  #drop() {
    const socket = this.socket;
    this.socket = null;
    this.#clearTimers();
    if (socket && socket.readyState < WebSocket.CLOSING) socket.close();
  }

  #closed(code, reason) {
    this.#drop();
    this.dispatchEvent(new CustomEvent("close", { detail: { code, reason } }));
    if (this.stopped) return;
    if (code === 4001) {
      // A token may simply have expired (a laptop asleep): one fresh try, then sign in.
      if (this.options.token && !this.reauthenticated) {
        this.reauthenticated = true;
        return this.#connect();
      }
      return this.#signedOut();
    }
    if (code in STOP) {
      this.stopped = true;
      return this.#state("offline", { code, reason: reason || STOP[code] });
    }
    if (code === 4010) return this.#connect(); // at its age, spread by the server already
    this.#retry(code, reason || WHY[code] || "connection lost");
  }

  #retry(code, reason) {
    if (!navigator.onLine) return this.#state("offline", { code, reason: "no network" });
    const delay = backoffDelay(this.attempt++, this.options);
    this.#later("retry", delay, () => this.#connect());
    this.#state("reconnecting", { code, reason, delay, at: Date.now() + delay });
  }

  #signedOut() {
    this.stopped = true;
    this.#state("offline", { code: 4001, reason: "signed out: sign in again" });
    this.options.onSignedOut();
  }
}
