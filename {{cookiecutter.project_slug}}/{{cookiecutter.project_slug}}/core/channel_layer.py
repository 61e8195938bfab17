"""The channel layer: groups over Redis pub/sub, handed to local sockets in one pass.

channels-redis' core layer stores one copy of every group message per member channel in
Redis, and each copy then takes a queue hop and Channels' dispatch in its consumer. Here
a group message is one PUBLISH. Every server process subscribes once to each group that
has a member on it, decodes the message once, and gives it to each local member: to the
consumer's own handler for the event types it registered with ``deliver_directly`` (the
chat frame goes straight to the socket), to its queue for everything else. All members
of a group see its messages in the order Redis received them.

Messages are not stored: a process that is not subscribed when a message is published
does not get it. ``group_add`` returns once Redis has confirmed the subscription, so a
consumer that joins and then reads history misses nothing in between. When a lost
subscription is back (Redis restarted), every local member of each group gets a
``{"type": "layer.resubscribed", "group": <group>}`` event once Redis confirmed that
group again: what was published meanwhile did not reach it, and it may catch up.

Hosts are listed as for channels-redis: a URL, or a dict with ``address`` (or
``sentinels``, ``master_name`` and ``sentinel_kwargs``) and redis-py connection options.
With several hosts, each group and each process lives on one of them, chosen by a hash
of its name. Subscriptions are plain SUBSCRIBE channels, which Redis Cluster forwards to
every node.
"""

import asyncio
import collections
import contextlib
import logging
import random
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

import msgpack
from channels.exceptions import ChannelFull
from channels.layers import BaseChannelLayer

from .metrics import BROADCAST_LATENCY, DROPPED, FRAMES_OUT, REDIS_ERRORS
from .redis_hosts import Host, redis_client, shard_index

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]

# Seconds a join waits for Redis to confirm its subscription: under the handshake timeout
# (5 s), so that a handshake while Redis is away is refused with 4013 before it.
SUBSCRIBE_TIMEOUT = 3.0
# Seconds the reader waits for a message before it checks the connection's health.
READ_TIMEOUT = 5.0


def _pack(message: dict[str, Any]) -> bytes:
    return msgpack.packb(message, use_bin_type=True)


def _unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False)


class Mailbox:
    """What one local channel receives: a queue, and handlers that take events at once."""

    __slots__ = ("direct", "groups", "messages", "waiter")

    def __init__(self) -> None:
        # Made on the first queued message: an empty deque costs an idle socket 0.7 KiB.
        self.messages: collections.deque[dict[str, Any]] | None = None
        self.waiter: asyncio.Future | None = None
        self.direct: dict[str, Handler] | None = None
        self.groups: set[str] = set()

    def put(self, message: dict[str, Any], capacity: int) -> bool:
        """Delivers ``message``; returns False when the queue is full and it was dropped."""
        if self.direct is not None:
            handler = self.direct.get(message.get("type"))  # type: ignore[arg-type]
            if handler is not None:
                handler(message)
                return True
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(message)  # handed over: no queue
            return True
        if self.messages is None:
            self.messages = collections.deque()
        elif len(self.messages) >= capacity:
            return False
        self.messages.append(message)
        return True

    def get(self) -> asyncio.Future:
        """A future of the next message: a plain future, not a task, while the socket waits."""
        future = asyncio.get_running_loop().create_future()
        if self.messages:
            future.set_result(self.messages.popleft())
        else:
            self.waiter = future
        return future


class Shard:
    """One Redis server: a client to publish with and one subscription connection."""

    def __init__(self, host: Host, loop_layer: "LoopLayer") -> None:
        self.client = redis_client(host)
        self.pubsub = self.client.pubsub()
        self.loop_layer = loop_layer
        # Subscriptions sent and not yet confirmed, per channel: the SUBSCRIBEs
        # outstanding and the future the joins wait on.
        self.pending: dict[str, tuple[int, asyncio.Future]] = {}
        self.reader: asyncio.Task | None = None
        # redis-py's PubSub opens its connection on the first command: concurrent first
        # commands would each open one, and all but the last would go unread.
        self.commands = asyncio.Lock()
        # Set by a new subscription: ends the reader's backoff wait after a failure, so a
        # join right after Redis came back is confirmed at once.
        self.wake = asyncio.Event()

    async def publish(self, channel: str, data: bytes) -> None:
        await self.client.publish(channel, data)

    async def subscribe(self, channel: str) -> asyncio.Future:
        """Subscribes; the future it returns is done once Redis has confirmed it."""
        count, confirmed = self.pending.get(channel, (0, None))
        if confirmed is None:
            confirmed = asyncio.get_running_loop().create_future()
        self.pending[channel] = (count + 1, confirmed)
        try:
            async with self.commands:
                self.require_connection()
                await self.pubsub.subscribe(channel)
        except BaseException as exc:
            # Not sent: no confirmation will come for it.
            self.settle(channel, exc)
            raise
        self.start_reader()
        self.wake.set()
        return confirmed

    def require_connection(self) -> None:
        """Refuses to send on a subscription connection the reader is bringing back.

        redis-py reconnects a connection in whichever task uses it next; two tasks
        reconnecting one connection read each other's replies. Only the reader does.
        """
        connection = self.pubsub.connection
        if connection is not None and not connection.is_connected:
            raise ConnectionError("the Redis subscription is reconnecting")

    def start_reader(self) -> None:
        if self.reader is None or self.reader.done():
            self.reader = asyncio.get_running_loop().create_task(self.read())

    async def tidy_after_reconnect(self) -> None:
        """Leaves the channels redis-py subscribed to again that nobody here listens to.

        An UNSUBSCRIBE that failed while Redis was away stays in redis-py's list, and
        would bring that group's traffic back for good.
        """
        wanted = set(self.loop_layer.groups) | {self.loop_layer.inbox}
        stale = [
            name
            for name in (n.decode() if isinstance(n, bytes) else n for n in self.pubsub.channels)
            if name not in wanted
        ]
        if stale:
            with contextlib.suppress(Exception):
                async with self.commands:
                    await self.pubsub.unsubscribe(*stale)

    async def unsubscribe(self, channel: str) -> None:
        async with self.commands:
            self.require_connection()
            await self.pubsub.unsubscribe(channel)

    def settle(self, channel: str, exc: BaseException | None = None) -> None:
        """Counts one SUBSCRIBE of ``channel`` confirmed, or failed with ``exc``."""
        count, confirmed = self.pending.pop(channel, (0, None))
        if count > 1:
            self.pending[channel] = (count - 1, confirmed)
        elif confirmed is None or confirmed.done():
            return
        elif exc is None:
            confirmed.set_result(None)
        elif isinstance(exc, Exception):
            confirmed.set_exception(exc)
            # Marked as seen: when the SUBSCRIBE was never sent, nobody awaits it.
            confirmed.exception()
        else:
            confirmed.cancel()

    async def read(self) -> None:
        """Hands every published message to the loop's layer; reconnects with backoff."""
        delay = 0.1
        failed = False
        while True:
            try:
                if failed:
                    # Reconnects (and subscribes again) with no command in between.
                    async with self.commands:
                        message = await self.pubsub.get_message(timeout=0.05)
                    failed = False
                    await self.tidy_after_reconnect()
                else:
                    message = await self.pubsub.get_message(timeout=READ_TIMEOUT)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("channel layer: Redis subscription failed (%s), retrying", exc)
                REDIS_ERRORS.labels("layer").inc()
                failed = True
                # redis-py subscribes to every channel again when it reconnects: one
                # confirmation each, whatever was sent (or lost) before.
                self.pending = {name: (1, future) for name, (_, future) in self.pending.items()}
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    jitter = random.uniform(0, delay)  # noqa: S311 (not a secret)
                    await asyncio.wait_for(self.wake.wait(), jitter)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.1
            if message is None:
                continue
            channel = message["channel"]
            if isinstance(channel, bytes):
                channel = channel.decode()
            if message["type"] == "message":
                try:
                    self.loop_layer.received(channel, message["data"])
                except Exception:
                    # Anyone with access to Redis can publish: a malformed message is
                    # dropped, never the reader that serves every group of this shard.
                    logger.exception("channel layer: unreadable message on %s dropped", channel)
            elif message["type"] == "subscribe":
                if channel in self.pending:
                    self.settle(channel)
                else:
                    # Nobody here asked: redis-py subscribed again after it reconnected
                    # (here, or inside a command's own retry), so the channel's members
                    # may have missed what was published in between.
                    self.loop_layer.resubscribed(channel)

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader
        with contextlib.suppress(Exception):
            await self.pubsub.aclose()
        with contextlib.suppress(Exception):
            await self.client.aclose()


class LoopLayer:
    """The layer's state in one event loop: its channels, groups and connections."""

    def __init__(self, layer: "PubSubChannelLayer") -> None:
        self.layer = layer
        self.token = secrets.token_hex(8)
        self.shards = [Shard(host, self) for host in layer.hosts]
        self.mailboxes: dict[str, Mailbox] = {}
        # Redis channel of a group -> its local members.
        self.groups: dict[str, dict[str, Mailbox]] = {}
        # Pub/sub channels are shared by all databases of a Redis server: the database
        # number is part of every name, so projects on databases of one server stay apart.
        db = self.shards[0].client.connection_pool.connection_kwargs.get("db", 0)
        self.namespace = f"{layer.prefix}:{db}"
        self.inbox = f"{self.namespace}:process:{self.token}"
        self.inbox_subscribed: asyncio.Task | None = None
        self.dropped = 0

    def shard(self, name: str) -> Shard:
        return self.shards[shard_index(name, len(self.shards))]

    def group_channel(self, group: str) -> str:
        return f"{self.namespace}:group:{group}"

    def received(self, redis_channel: str, data: bytes) -> None:
        members = self.groups.get(redis_channel)
        if redis_channel == self.inbox:
            channel, message = _unpack(data)
            mailbox = self.mailboxes.get(channel)
            if mailbox is not None:
                self.deliver(channel, mailbox, message)
        elif members:
            # Group messages carry the time of their publish, for the broadcast latency.
            published, message = _unpack(data)
            if not isinstance(message, dict):
                raise TypeError(f"a group message must be a map, not {type(message).__name__}")
            kind = message.get("type")
            direct = 0
            for channel, mailbox in list(members.items()):
                # Handlers share the message; queued copies are the consumers' own.
                if mailbox.direct is not None and kind in mailbox.direct:
                    direct += 1
                    self.deliver(channel, mailbox, message)
                else:
                    self.deliver(channel, mailbox, dict(message))
            # Frames that went straight to sockets; the queued ones count as consumers send.
            if direct:
                FRAMES_OUT.inc(direct)
            BROADCAST_LATENCY.observe(max(0.0, time.time() - published))

    def resubscribed(self, redis_channel: str) -> None:
        """Tells the local members of a group that its lost subscription is back."""
        prefix = self.group_channel("")
        if not redis_channel.startswith(prefix):
            return  # the inbox: sends to a channel are not replayed by anyone
        event = {"type": "layer.resubscribed", "group": redis_channel.removeprefix(prefix)}
        for channel, mailbox in list(self.groups.get(redis_channel, {}).items()):
            self.deliver(channel, mailbox, dict(event))

    def deliver(self, channel: str, mailbox: Mailbox, message: dict[str, Any]) -> None:
        try:
            delivered = mailbox.put(message, self.layer.get_capacity(channel))
        except Exception:
            logger.exception("channel layer: handler failed for %s", channel)
            return
        if not delivered:
            self.dropped += 1
            DROPPED.labels("layer_full").inc()
            logger.warning("channel layer: %s is full, message dropped", channel)

    async def new_channel(self, prefix: str) -> str:
        if self.inbox_subscribed is None:
            self.inbox_subscribed = asyncio.create_task(self.subscribe_inbox())
        try:
            await asyncio.shield(self.inbox_subscribed)
        except Exception:
            self.inbox_subscribed = None  # the next channel tries again
            raise
        channel = f"{prefix}.{self.token}!{secrets.token_hex(12)}"
        self.mailboxes[channel] = Mailbox()
        return channel

    async def subscribe_inbox(self) -> None:
        """Subscribes to this process's inbox (channel_layer.send from other processes)."""
        confirmed = await self.shard(self.inbox).subscribe(self.inbox)
        await asyncio.wait_for(asyncio.shield(confirmed), SUBSCRIBE_TIMEOUT)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        name, _, _ = channel.partition("!")
        mailbox = self.mailboxes.get(channel)
        if mailbox is not None:
            if not mailbox.put(message, self.layer.get_capacity(channel)):
                raise ChannelFull(channel)
            return
        token = name.rpartition(".")[2]
        inbox = f"{self.namespace}:process:{token}"
        await self.shard(inbox).publish(inbox, _pack([channel, message]))

    def receive(self, channel: str) -> asyncio.Future:
        mailbox = self.mailboxes.get(channel)
        if mailbox is None:
            raise RuntimeError(f"{channel} was not made by this process's new_channel()")
        return mailbox.get()

    async def group_add(self, group: str, channel: str) -> None:
        mailbox = self.mailboxes.get(channel)
        if mailbox is None:
            raise RuntimeError(f"group_add() takes channels of this process, not {channel}")
        name = self.group_channel(group)
        members = self.groups.get(name)
        mailbox.groups.add(name)
        if members is not None:
            members[channel] = mailbox
            pending = self.shard(name).pending.get(name)
            if pending is not None:
                try:
                    await asyncio.wait_for(asyncio.shield(pending[1]), SUBSCRIBE_TIMEOUT)
                except BaseException:
                    with contextlib.suppress(Exception):
                        await asyncio.shield(self.leave(name, channel))
                    raise
            return
        self.groups[name] = {channel: mailbox}
        try:
            confirmed = await self.shard(name).subscribe(name)
            await asyncio.wait_for(asyncio.shield(confirmed), SUBSCRIBE_TIMEOUT)
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.leave(name, channel))
            raise

    async def group_discard(self, group: str, channel: str) -> None:
        await self.leave(self.group_channel(group), channel)

    async def leave(self, name: str, channel: str) -> None:
        members = self.groups.get(name)
        mailbox = self.mailboxes.get(channel)
        if mailbox is not None:
            mailbox.groups.discard(name)
        if members is None or members.pop(channel, None) is None or members:
            return
        del self.groups[name]
        await self.shard(name).unsubscribe(name)

    async def forget(self, channel: str) -> None:
        mailbox = self.mailboxes.pop(channel, None)
        if mailbox is None:
            return
        for name in list(mailbox.groups):
            try:
                await self.leave(name, channel)
            except Exception as exc:
                logger.warning("channel layer: could not leave %s (%s)", name, exc)
        mailbox.groups.clear()

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        name = self.group_channel(group)
        try:
            await self.shard(name).publish(name, _pack((time.time(), message)))
        except Exception:
            REDIS_ERRORS.labels("layer").inc()
            raise

    async def close(self) -> None:
        for shard in self.shards:
            await shard.close()


class PubSubChannelLayer(BaseChannelLayer):
    """A channel layer over Redis pub/sub with direct delivery to local consumers."""

    extensions = ["groups", "flush"]

    def __init__(
        self,
        hosts: Iterable[Host] = ("redis://localhost:6379",),
        prefix: str = "asgi",
        capacity: int = 1000,
        expiry: int = 60,
        channel_capacity: dict[str, int] | None = None,
    ) -> None:
        super().__init__(expiry=expiry, capacity=capacity, channel_capacity=channel_capacity)
        self.hosts = list(hosts)
        if not self.hosts:
            raise ValueError("the channel layer needs at least one Redis host")
        self.prefix = prefix
        self.loops: dict[asyncio.AbstractEventLoop, LoopLayer] = {}

    def here(self) -> LoopLayer:
        """Returns this event loop's state; made on first use, closed with the loop."""
        loop = asyncio.get_running_loop()
        state = self.loops.get(loop)
        if state is None:
            state = self.loops[loop] = LoopLayer(self)
            self._close_with(loop, state)
        return state

    def _close_with(self, loop: asyncio.AbstractEventLoop, state: LoopLayer) -> None:
        # async_to_sync runs each call on a loop of its own, closed right after: its
        # connections must be closed before it, as channels-redis does.
        close = loop.close

        def close_layer_first() -> None:
            if self.loops.get(loop) is state:
                del self.loops[loop]
                if not loop.is_running() and not loop.is_closed():
                    loop.run_until_complete(state.close())
            close()

        loop.close = close_layer_first  # type: ignore[method-assign]

    async def new_channel(self, prefix: str = "specific") -> str:
        return await self.here().new_channel(prefix)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        if not isinstance(message, dict):
            raise TypeError("message is not a dict")
        self.require_valid_channel_name(channel)
        await self.here().send(channel, message)

    def receive(self, channel: str) -> asyncio.Future:  # type: ignore[override]
        """The next message of ``channel``: awaitable, a future rather than a coroutine.

        Channels turns each receive into a task with ``ensure_future``, which takes a
        future as it is: an idle socket then holds a future, not a task and its frames.
        """
        self.require_valid_channel_name(channel)
        return self.here().receive(channel)

    async def group_add(self, group: str, channel: str) -> None:
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        await self.here().group_add(group, channel)

    async def group_discard(self, group: str, channel: str) -> None:
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        await self.here().group_discard(group, channel)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        if not isinstance(message, dict):
            raise TypeError("message is not a dict")
        self.require_valid_group_name(group)
        await self.here().group_send(group, message)

    def deliver_directly(self, channel: str, handlers: dict[str, Handler]) -> None:
        """Hands events of these types to ``handlers`` at once, in the layer's reader.

        A handler runs synchronously for every member of a group message, with the
        message shared between members: it must not block, await or change it.
        """
        mailbox = self.here().mailboxes.get(channel)
        if mailbox is None:
            raise RuntimeError(f"{channel} was not made by this process's new_channel()")
        mailbox.direct = dict(handlers)

    async def forget(self, channel: str) -> None:
        """Drops a channel and its group memberships: call it when its consumer has ended.

        The project's consumers do, however they end (core/consumers.py). A cancelled
        receive (a timeout) leaves the channel as it is.
        """
        await self.here().forget(channel)

    async def flush(self) -> None:
        state = self.loops.pop(asyncio.get_running_loop(), None)
        if state is not None:
            await state.close()
