"""The base class of every consumer: authentication, frame parsing and error frames."""

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils.module_loading import import_string

from . import logs, metrics, server
from .extensions import SocketExtension, extensions_for
from .limits import SOCKET_RENEW_INTERVAL, SocketLimits
from .protocol import CloseCode, FrameError, error_frame, frame_parse
from .writer import ClientGone, SocketWriter

logger = logging.getLogger(__name__)
# How every socket authenticates, from the accounts app named in settings: core knows the
# interface (authenticate, join_auth_groups, auth_frame_received, auth_events), not the app.
SocketAuthMixin = import_string(settings.SOCKET_AUTH_MIXIN)
# Seconds each step of a socket's clean-up may take (leaving presence, the groups).
# As long as a Redis call may wait for a pooled connection (pool_timeout, config/layers.py):
# when a thousand sockets end at once on a loaded machine, their leaves wait their turn.
CLEAN_UP_TIMEOUT = 30.0
# The share of WEBSOCKET_MAX_AGE by which each socket's own maximum age may fall short.
MAX_AGE_JITTER = 0.1
# The answer to a client's {"type": "ping"}, on every route.
PONG = '{"type": "pong"}'
# Tasks started by timers, kept until they end (the loop holds tasks only weakly).
_running: set[asyncio.Task] = set()


def socket_max_age() -> float:
    """A socket's maximum age: WEBSOCKET_MAX_AGE less up to MAX_AGE_JITTER of it.

    Drawn per socket, so that the sockets of one deploy (or one reconnect storm) do not
    all reach their age, and reconnect, in the same second.
    """
    return settings.WEBSOCKET_MAX_AGE * random.uniform(1 - MAX_AGE_JITTER, 1)  # noqa: S311


class BaseConsumer(SocketAuthMixin, AsyncWebsocketConsumer):
    """Authenticates, refuses clearly, parses frames and answers bad ones with errors.

    Subclasses implement ``connect`` (``authenticate`` first, then ``join_group`` for their
    groups, ``accept``, their first frames and ``start_extensions``) and ``frame_received``
    for the JSON objects clients send.
    """

    # Events whose handlers touch the database only through database_sync_to_async (which
    # closes stale connections itself), or not at all: they skip Channels' extra hop to the
    # thread pool, made before every other message to close stale database connections.
    database_free_events: frozenset[str] = SocketAuthMixin.auth_events | {
        "websocket.connect",
        "websocket.receive",
        "websocket.disconnect",
        "layer.resubscribed",
    }
    accepted = False
    opened_at = 0.0
    # The code the handshake was refused with (``refuse``), and the code the socket ended
    # with (the server's close, else the client's), for the metrics.
    refused_with: int | None = None
    close_code: int | None = None
    # Its user's limits (core/limits.py), once authenticated.
    limits: SocketLimits | None = None
    # Seconds the handshake (authentication included) may take, as Daphne's
    # --websocket_connect_timeout; Uvicorn has no such limit of its own.
    handshake_timeout = 5.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # Its log lines carry the handshake's X-Request-ID (nginx's), or an id of their own.
        given = dict(scope.get("headers", ())).get(b"x-request-id", b"")
        logs.current_id.set(logs.id_given(given.decode("latin-1")))
        # Every message to the socket goes through the writer, in order: the consumer's
        # own (awaited) and frames the channel layer pushes straight to the socket.
        # The server's own send when a middleware that adds nothing to sockets kept it.
        self.writer = SocketWriter(
            scope.get("server_send", send),
            limit=settings.WEBSOCKET_SEND_BACKLOG,
            on_overflow=self.slow_reader_found,
        )
        # Daphne (and Channels' test client) queue a socket's frames without bound, in the
        # queue whose get() is receive: the consumer watches its length (receive()).
        # Uvicorn stops reading a socket until the application took its last frame.
        queue = getattr(receive, "__self__", None)
        self.server_queue = queue if isinstance(queue, asyncio.Queue) else None
        try:
            await super().__call__(scope, receive, self.writer.send)
        except Exception:
            if getattr(self, "channel_name", None):
                raise
            # The channel layer could not even make the socket's channel (Redis away when
            # this process took its first socket): refused as a failed connect is.
            logger.warning("socket %s not admitted", scope["path"], exc_info=True)
            await self._refuse_unserved(receive)
        finally:
            # However the consumer ended (a close, a crash, the server cancelling it):
            # disconnect() runs only after a close, this always does.
            await asyncio.shield(self.clean_up())

    async def _refuse_unserved(self, receive: Any) -> None:
        """Answers the handshake with 4013 without the consumer's dispatch loop."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self.handshake_timeout):
                if (await receive())["type"] == "websocket.connect":
                    self._handshake_counted("refused", CloseCode.TRY_AGAIN_LATER)
                    await self.writer.send({"type": "websocket.accept"})
                    await self.writer.send(
                        {"type": "websocket.close", "code": int(CloseCode.TRY_AGAIN_LATER)}
                    )

    async def clean_up(self) -> None:
        """Stops the socket's timers and extensions and leaves its groups.

        Every step runs whatever the others did, each bounded by CLEAN_UP_TIMEOUT: a
        failing presence store or an unreachable Redis costs a log line, not the rest.
        """
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()
        self._ending_counted()
        extensions, self.extensions = self.extensions, []
        for extension in extensions:
            await self._step(f"stopping {type(extension).__name__}", extension.stopped())
        if getattr(self, "channel_name", None):
            await self._step("leaving the groups", self.leave_everything())
        if self.limits is not None:
            await self._step("leaving the socket count", self.limits.closed())

    @property
    def route(self) -> str:
        """The socket's route in the metrics: its consumer's name ("chat", "notification")."""
        return type(self).__name__.removesuffix("Consumer").lower()

    def _handshake_counted(self, outcome: str, code: int | None = None) -> None:
        metrics.HANDSHAKES.labels(
            self.route, outcome, "" if code is None else str(int(code))
        ).inc()

    def _ending_counted(self) -> None:
        if self.accepted and self.refused_with is None:
            metrics.SOCKETS_OPEN.labels(self.route).dec()
            code = self.close_code if self.close_code is not None else 1006
            metrics.CLOSES.labels(self.route, str(code)).inc()
        elif not self.accepted:
            # Closed before an answer: the client left, or the handshake timed out.
            self._handshake_counted("unanswered")

    async def _step(self, what: str, step: Awaitable[None]) -> None:
        try:
            await asyncio.wait_for(step, CLEAN_UP_TIMEOUT)
        except TimeoutError:
            path, timeout = self.scope["path"], CLEAN_UP_TIMEOUT
            logger.warning("socket %s: %s took over %s s; given up", path, what, timeout)
        except Exception:
            logger.warning("socket %s: %s failed", self.scope["path"], what, exc_info=True)

    async def leave_everything(self) -> None:
        forget = getattr(self.channel_layer, "forget", None)
        if forget is not None:
            await forget(self.channel_name)
            return
        for group in self.groups_joined:
            with contextlib.suppress(Exception):
                await self.channel_layer.group_discard(group, self.channel_name)

    def later(self, name: str, delay: float, action: Callable[[], Awaitable[None]]) -> None:
        """Runs ``action`` in ``delay`` seconds unless the socket ends first.

        A timer, not a sleeping task per socket: a task and its coroutine cost an idle
        socket a few KiB. Setting a timer of the same name again replaces it.
        """
        loop = asyncio.get_running_loop()
        if name in self.timers:
            self.timers.pop(name).cancel()

        def fire() -> None:
            self.timers.pop(name, None)
            task = loop.create_task(action())
            _running.add(task)
            task.add_done_callback(_running.discard)

        self.timers[name] = loop.call_later(delay, fire)

    def cancel_timer(self, name: str) -> None:
        if name in self.timers:
            self.timers.pop(name).cancel()

    def deliver_directly(self, handlers: dict[str, Any]) -> bool:
        """Has the channel layer call these (synchronous) handlers at once for their events.

        For fan-out frames: the handler pushes the event's text to ``self.writer``,
        without the queue and dispatch every other event goes through. Returns False
        when the layer cannot (the in-memory one): the consumer's async handlers run.
        """
        register = getattr(self.channel_layer, "deliver_directly", None)
        if register is None:
            return False
        register(self.channel_name, handlers)
        return True

    def slow_reader_found(self, dropped: int) -> None:
        """Closes a socket whose backlog of pushed frames overflowed (frames were lost)."""
        logger.warning("socket %s closed: it reads too slowly", self.scope["path"])
        metrics.DROPPED.labels("slow_reader").inc(dropped)
        metrics.LIMITED.labels("slow_reader").inc()
        self.slow_close = asyncio.create_task(
            self.close(code=CloseCode.SLOW_READER, reason="reading too slowly")
        )

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        client = self.scope.get("client") or ("unknown", 0)
        # The path only: query strings may carry credentials.
        logger.info("socket opened %s from %s", self.scope["path"], client[0])
        # Both counted from the handshake; one timer at a time.
        self.opened_at = asyncio.get_running_loop().time()
        deadline = min(self.handshake_timeout, settings.WEBSOCKET_MAX_AGE)
        self.later("deadline", deadline, self.handshake_expired)
        try:
            await super().websocket_connect(message)
        except StopConsumer:
            raise
        except Exception:
            # Redis or the database away, say: the client is told to come back later
            # (also when it failed after the accept, starting an extension).
            logger.warning("socket %s not admitted", self.scope["path"], exc_info=True)
            if self.accepted:
                await self.close(
                    code=CloseCode.TRY_AGAIN_LATER, reason="the server cannot take it now"
                )
            else:
                await self.refuse(CloseCode.TRY_AGAIN_LATER, "the server cannot take it now")

    async def handshake_expired(self) -> None:
        """Refuses the handshake if it was not answered in time."""
        if not self.accepted:
            timeout = self.handshake_timeout
            logger.warning("socket %s not answered within %s s", self.scope["path"], timeout)
            await self.close()

    async def max_age_reached(self) -> None:
        if self.accepted:
            with contextlib.suppress(Exception):
                await self.close(code=CloseCode.MAX_AGE, reason="maximum socket age reached")

    async def authenticate(self) -> bool:
        """The accounts app's authentication, then the user's cap on open sockets."""
        if not await super().authenticate():
            return False
        socket = getattr(self, "channel_name", None) or f"{id(self):x}"
        self.limits = SocketLimits(self.scope["user"].pk, socket)
        if not await self.limits.admitted():
            cap = settings.USER_MAX_SOCKETS
            await self.refuse(CloseCode.TOO_MANY_SOCKETS, f"at most {cap} open sockets a user")
            return False
        if self.limits.counted:
            self.later("socket count", SOCKET_RENEW_INTERVAL, self._socket_count_renewed)
        return True

    async def _socket_count_renewed(self) -> None:
        await self.limits.renewed()
        self.later("socket count", SOCKET_RENEW_INTERVAL, self._socket_count_renewed)

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        await super().accept(subprotocol, headers)
        self.accepted = True
        if self.refused_with is None:
            self._handshake_counted("accepted")
            metrics.SOCKETS_OPEN.labels(self.route).inc()
        age = asyncio.get_running_loop().time() - self.opened_at
        self.later("deadline", max(0.0, socket_max_age() - age), self.max_age_reached)
        server.watch()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.groups_joined: list[str] = []
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.extensions: list[SocketExtension] = []

    async def dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind in self.database_free_events:
            await getattr(self, get_handler_name(message))(message)
            return
        # Anything else came through the channel layer, which anyone who reaches Redis
        # can publish to: an event of an unknown type or shape is logged and ignored.
        try:
            for extension in self.extensions:
                if kind in extension.events:
                    await extension.event(message)
                    return
            if not isinstance(kind, str) or not hasattr(self, get_handler_name(message)):
                logger.warning("socket %s: event %.40r ignored", self.scope["path"], kind)
                return
            await super().dispatch(message)
        except Exception:
            logger.exception("socket %s: event %.40r failed; ignored", self.scope["path"], kind)

    async def join_group(self, group: str) -> None:
        """Joins a channel-layer group, remembered for leaving."""
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.append(group)

    async def start_extensions(self) -> None:
        """Starts the configured socket extensions; call it last in ``connect``."""
        self.extensions = extensions_for(self)
        for extension in self.extensions:
            await extension.started()

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        # Servers check the type: Daphne (autobahn) refuses an IntEnum with a 1011.
        code = code if code is None or code is True else int(code)
        if self.close_code is None:
            self.close_code = 1000 if code is None or code is True else code
        await super().close(code, reason)

    async def refuse(self, code: CloseCode, reason: str) -> None:
        """Accepts the handshake, then closes with ``code`` so that the client learns it."""
        self.refused_with = int(code)
        self._handshake_counted("refused", code)
        await self.accept()
        await self.close(code=code, reason=reason)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        if self.close_code is None:
            self.close_code = message.get("code", 1006)
        await super().websocket_disconnect(message)

    async def layer_resubscribed(self, event: dict[str, Any]) -> None:
        """A group's lost subscription is back (core/channel_layer.py); what was published
        meanwhile did not arrive. Consumers that can catch up do so here."""

    async def disconnect(self, code: int) -> None:
        """Nothing to do here: clean_up runs after every ending, a close included."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Handles one client frame; whatever it holds, the socket stays open.

        A frame that fails in a way no check foresaw (a bug, a database error) is logged
        and answered with an ``internal_error`` frame, never with the server's 1011.
        """
        metrics.FRAMES_IN.inc()
        if self.close_code is not None:
            return  # sent before the client heard of the close
        queue, backlog = self.server_queue, settings.WEBSOCKET_RECEIVE_BACKLOG
        if queue is not None and backlog and queue.qsize() > backlog:
            metrics.LIMITED.labels("receive_backlog").inc()
            logger.warning("socket %s closed: it sends faster than it is read", self.scope["path"])
            await self.close(code=CloseCode.RATE_LIMITED, reason="sending too fast")
            return
        retry_after = await self.limits.frame_wait() if self.limits is not None else 0.0
        if retry_after:
            await self.rate_limited(retry_after)
            return
        try:
            data = frame_parse(text_data, max_length=settings.WEBSOCKET_FRAME_MAX_LENGTH)
            if data.get("type") == "ping":
                # The client's heartbeat: an answer within its deadline proves the socket
                # is not half-open (core/static/core/socket.js).
                await self.send(text_data=PONG)
            elif data.get("type") == "auth":
                await self.auth_frame_received(data)
            else:
                await self.frame_received(data)
        except FrameError as exc:
            await self.send_error(exc.code, exc.detail)
        except ClientGone as exc:
            # The client went away while the answer was on its way; the server tells the
            # consumer of the disconnect.
            logger.debug("socket %s: answer not sent (%r)", self.scope["path"], exc)
        except Exception:
            logger.exception("frame on %s failed", self.scope["path"])
            await self.send_error("internal_error", "the frame could not be handled; retry")

    async def rate_limited(self, retry_after: float) -> None:
        """Refuses a frame past the rate; closes the socket of a client that does not slow down."""
        if self.limits.struck_out:
            logger.warning("socket %s closed: it kept sending past its rate", self.scope["path"])
            await self.close(code=CloseCode.RATE_LIMITED, reason="too many messages")
            return
        detail = "too many messages: the frame was not handled; send it again after retry_after"
        await self.send(
            text_data=error_frame(
                "rate_limited", detail, retry_after=max(0.001, round(retry_after, 3))
            )
        )

    async def frame_received(self, data: dict[str, Any]) -> None:
        await self.send_error("read_only", "this socket does not take frames")

    async def send_error(self, code: str, detail: str) -> None:
        """Sends an error frame; the socket stays open."""
        await self.send(text_data=error_frame(code, detail))

    async def send(
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        metrics.FRAMES_OUT.inc()
        try:
            await super().send(text_data, bytes_data, close)
        except OSError as exc:  # Uvicorn's ClientDisconnected, say
            raise ClientGone(f"the client went away: {exc!r}") from exc
