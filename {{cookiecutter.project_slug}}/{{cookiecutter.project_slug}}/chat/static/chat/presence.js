// The members online in the room page's aside (use_presence), from its ChatRoom's frames.
import { room } from "./room.js";

const list = document.getElementById("members-list");
const count = document.getElementById("members-count");

room.addEventListener("presence", ({ detail }) => {
  const names = detail.members.map((member) => member.username).sort();
  list.replaceChildren(
    ...names.map((name) => {
      const li = document.createElement("li");
      li.textContent = name;
      return li;
    }),
  );
  count.textContent = String(names.length);
});
