"""Presence on every socket: join and leave topics, heartbeats, pruning and diffs."""

import asyncio
import json
import logging
import math
import random
import time
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.utils import timezone

from ..core.extensions import SocketExtension
from ..core.metrics import PRESENCE_MEMBERS, REDIS_ERRORS
from .stores import Member, presence_store

logger = logging.getLogger(__name__)

GLOBAL = "global"
DIFF = "presence.diff"
# When a heartbeat of this process last failed (Redis away): monotonic seconds.
_last_failure = -math.inf


def pruning_allowed() -> bool:
    """Whether stale entries may be pruned: not until a cutoff after the last failure.

    While Redis was away nobody's heartbeat landed; once it is back, every live socket
    renews its entries within an interval, so pruning waits a whole cutoff, and nobody is
    shown offline because of the outage.
    """
    return time.monotonic() - _last_failure >= settings.PRESENCE_CUTOFF


def _heartbeat_failed() -> None:
    global _last_failure
    _last_failure = time.monotonic()
    REDIS_ERRORS.labels("presence").inc()


def diff_group(topic: str) -> str:
    """Returns the group whose members hear a topic's joins and leaves."""
    return f"presence.{topic}"


def diff_frame(*, joins: list[Member] = (), leaves: list[Member] = ()) -> str:
    return json.dumps({"type": DIFF, "joins": list(joins), "leaves": list(leaves)})


def _subscription(consumer: Any, room: str | None) -> str | None:
    """Returns the topic whose diffs this socket asked for, if any."""
    topic = getattr(consumer, "presence_topic", None)
    if topic:
        return topic
    query = parse_qs(consumer.scope.get("query_string", b"").decode("latin-1"))
    # Chat sockets opt in, so that a client written for the article sees chat frames only.
    if room and query.get("presence", [""])[-1] in {"1", "true"}:
        return room
    return None


class PresenceExtension(SocketExtension):
    """Counts the socket's user in the global topic and, for a chat socket, in its room.

    Sockets that subscribe (a chat socket opened with ``?presence=1``, every presence
    socket) receive ``presence.state`` once, then ``presence.diff`` frames. A refresh task
    renews the socket's entries and channel-layer groups and prunes entries of processes
    that died; nothing depends on ``disconnect()`` running.
    """

    events = frozenset({DIFF})

    def __init__(self, consumer: Any) -> None:
        super().__init__(consumer)
        self.topics: list[str] = [GLOBAL]
        room = getattr(consumer, "room_group", None)
        if room:
            self.topics.append(room)
        self.subscribed = _subscription(consumer, room)
        user = consumer.scope["user"]
        self.member: Member = {
            "id": user.pk,
            "username": user.get_username(),
            "since": timezone.now().isoformat().replace("+00:00", "Z"),
        }
        self.task: asyncio.Task | None = None
        self.stopping = False

    async def started(self) -> None:
        # The heartbeats first: entries that cannot be written now (Redis away) are
        # written by the next refresh, and the socket stays open meanwhile.
        self.task = asyncio.create_task(self._refresh_forever())
        PRESENCE_MEMBERS.inc(len(self.topics))
        store = presence_store()
        for topic in self.topics:
            try:
                joined = await store.join(
                    topic, self.consumer.channel_name, self.member, time.time()
                )
                if joined:
                    await self._publish(topic, diff_frame(joins=[self.member]))
            except Exception:
                _heartbeat_failed()
                logger.warning("presence: joining %s failed; the next refresh retries", topic)
        if self.subscribed:
            await self.consumer.join_group(diff_group(self.subscribed))
            # Leaves this prune finds are published like any other: the other subscribers
            # still show those users.
            if pruning_allowed():
                cutoff = time.time() - settings.PRESENCE_CUTOFF
                left = await store.prune(self.subscribed, cutoff)
                if left:
                    await self._publish(self.subscribed, diff_frame(leaves=left))
            users = await store.members(self.subscribed)
            await self.consumer.send(
                text_data=json.dumps({"type": "presence.state", "users": users})
            )

    async def stopped(self) -> None:
        self.stopping = True
        if self.task:
            self.task.cancel()
            # redis-py can swallow the cancellation of a call in flight (redis/redis-py#2028),
            # so the loop also stops on the flag; it has ended before the leave, so that its
            # last heartbeat cannot land after it and keep a gone socket present.
            await asyncio.wait({self.task}, timeout=5)
            PRESENCE_MEMBERS.dec(len(self.topics))
        store = presence_store()
        for topic in self.topics:
            # Each topic on its own: one that fails still lets the others be left.
            try:
                member = await store.leave(topic, self.consumer.channel_name, self.member["id"])
                if member:
                    await self._publish(topic, diff_frame(leaves=[member]))
            except Exception:
                REDIS_ERRORS.labels("presence").inc()
                logger.warning("presence: leaving %s failed", topic, exc_info=True)

    async def event(self, message: dict[str, Any]) -> None:
        text = message.get("text")
        if isinstance(text, str):
            await self.consumer.send(text_data=text)
        else:
            logger.warning("presence.diff without text ignored")

    async def _publish(self, topic: str, frame: str) -> None:
        # Encoded once; every subscriber's handler sends the same text.
        await self.consumer.channel_layer.group_send(
            diff_group(topic), {"type": DIFF, "text": frame}
        )

    async def _refresh_forever(self) -> None:
        interval = float(settings.PRESENCE_REFRESH_INTERVAL)
        while not self.stopping:
            # Jitter spreads the refreshes of sockets that connected together (not a secret).
            await asyncio.sleep(interval * random.uniform(0.8, 1.0))  # noqa: S311
            if self.stopping:
                return
            try:
                await self.refresh()
            except Exception as exc:
                # Redis away, say: one line per socket and tick, no traceback.
                _heartbeat_failed()
                logger.warning("presence refresh failed (%r); retrying at the next tick", exc)

    async def refresh(self) -> None:
        """Renews this socket's entries, and prunes entries that went stale."""
        store = presence_store()
        now = time.time()
        for topic in self.topics:
            # A socket pruned during a long pause (or a Redis restart) joins again.
            if await store.join(topic, self.consumer.channel_name, self.member, now):
                await self._publish(topic, diff_frame(joins=[self.member]))
            if not pruning_allowed():
                continue
            left = await store.prune(topic, now - settings.PRESENCE_CUTOFF)
            if left:
                await self._publish(topic, diff_frame(leaves=left))
