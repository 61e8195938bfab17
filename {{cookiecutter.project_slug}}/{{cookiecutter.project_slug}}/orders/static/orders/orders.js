// The orders page: places orders over HTTP, and shows each status the server pushes to
// this user's notification socket (ws/notifications/), as it is saved.
import { LiveSocket, sessionToken } from "../core/socket.js";

const form = document.getElementById("place");
const table = document.querySelector("#orders tbody");
const error = document.getElementById("order-error");
const connection = document.getElementById("connection");
const csrf = () => form.querySelector("[name=csrfmiddlewaretoken]").value;

// Shows `order` ({order_id, status, quantity, error, updated_at}) in its row, adding the
// row if new. An older state than the row's is ignored: the answer to the POST can arrive
// after the pushes of later steps (without a task queue the request waits for them).
function show(order) {
  let row = table.querySelector(`tr[data-id="${order.order_id}"]`);
  if (!row) {
    row = document.createElement("tr");
    row.dataset.id = order.order_id;
    for (const name of ["id", "quantity", "status", "note"]) {
      row.appendChild(document.createElement("td")).className = name;
    }
    row.cells[0].textContent = `#${order.order_id}`;
    row.cells[1].textContent = order.quantity;
    table.prepend(row);
    document.getElementById("no-orders")?.remove();
  }
  if (row.dataset.updated && Date.parse(order.updated_at) < Date.parse(row.dataset.updated)) {
    return;
  }
  row.dataset.updated = order.updated_at;
  row.dataset.status = order.status;
  row.cells[2].textContent = order.status;
  row.cells[3].textContent = order.error || "";
}

const socket = new LiveSocket(() => "/ws/notifications/", {
  token: JSON.parse(document.getElementById("socket-auth").textContent) === "jwt" ? sessionToken : null,
});
socket.addEventListener("frame", (event) => {
  if (event.detail.event === "order_updated") show(event.detail);
});
socket.addEventListener("state", (event) => {
  connection.dataset.state = event.detail.state;
  connection.querySelector(".text").textContent =
    event.detail.state === "live" ? "Live" : `${event.detail.state}…`;
});
socket.start();

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const response = await fetch(form.action, {
    method: "POST",
    headers: { Accept: "application/json", "X-CSRFToken": csrf() },
    body: new FormData(form),
    credentials: "same-origin",
  });
  const body = await response.json().catch(() => ({}));
  if (response.ok) show(body);
  else error.textContent = body.detail || `the server answered ${response.status}`;
});
