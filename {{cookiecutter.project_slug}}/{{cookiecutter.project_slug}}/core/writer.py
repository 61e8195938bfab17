"""Writing to one socket: in order, without waiting for a fast socket, bounded for a slow one."""

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

logger = logging.getLogger(__name__)

Message = dict[str, Any]
Send = Callable[[Message], Awaitable[None]]


class ClientGone(ConnectionError):
    """A frame could not be sent: the client had gone (the consumer's send raises it)."""


class _Rest:
    """Awaits the rest of a coroutine that was started by hand and is waiting on ``future``."""

    __slots__ = ("coroutine", "future")

    def __init__(self, coroutine: Coroutine[Any, Any, None], future: Any) -> None:
        self.coroutine = coroutine
        self.future = future

    def __await__(self) -> Generator[Any, Any, None]:
        coroutine, value = self.coroutine, self.future
        while True:
            try:
                sent = yield value
            except BaseException as exc:  # thrown in by the task: cancellation
                try:
                    value = coroutine.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    value = coroutine.send(sent)
                except StopIteration:
                    return


class SocketWriter:
    """Sends a socket's ASGI messages in the order they were given.

    ``push`` is for frames fanned out to many sockets: it runs the server's send at once,
    and as long as the socket takes data (both servers write to the transport without
    waiting) it returns with the frame written, without a task or a queue. When the
    server's send has to wait (Uvicorn pauses while the socket's write buffer is over
    its high-water mark), later frames wait in a backlog of at most ``limit`` frames; past
    that the socket is a slow reader: its backlog is dropped and ``on_overflow`` runs.
    ``send`` is the consumer's own: it waits its turn behind the backlog.

    ``hold`` keeps pushed frames back (a socket that joined its group but has not sent
    its history yet); ``release`` sends them after what the consumer sent meanwhile,
    except those numbered no later than what it sent.
    """

    __slots__ = ("_backlog", "_flusher", "_held", "_send", "failed", "limit", "on_overflow")

    def __init__(self, send: Send, *, limit: int, on_overflow: Callable[[int], None]) -> None:
        self._send = send
        self.limit = limit
        self.on_overflow = on_overflow
        # Frames waiting while the server's send waits: made when first needed (an empty
        # deque costs an idle socket 0.7 KiB).
        self._backlog: collections.deque[tuple[Message, asyncio.Future | None]] | None = None
        self._flusher: asyncio.Task | None = None
        self._held: list[tuple[Message, int | None]] | None = None
        self.failed = False

    def push(self, message: Message, seq: int | None = None) -> None:
        """Sends ``message`` without waiting; drops it if the socket is gone or too slow.

        ``seq``: the number of the message it carries, for ``release``.
        """
        if self.failed:
            return
        if self._held is not None:
            if len(self._held) >= self.limit:
                self._overflow()
            else:
                self._held.append((message, seq))
            return
        if self._flusher is not None:
            backlog = self._waiting()
            if len(backlog) >= self.limit:
                self._overflow()
            else:
                backlog.append((message, None))
            return
        coroutine = self._send(message)
        try:
            waiting = coroutine.send(None)
        except StopIteration:
            return
        except Exception as exc:
            # The socket went away; its consumer hears of it from the server.
            self.failed = True
            logger.debug("socket send failed: %r", exc)
            return
        self._flusher = asyncio.get_running_loop().create_task(self._flush(coroutine, waiting))

    async def send(self, message: Message) -> None:
        """Sends ``message`` after everything given before it, waiting for the socket.

        Raises what the server's send raised for it (a socket gone, say).
        """
        if self._flusher is None:
            coroutine = self._send(message)
            try:
                waiting = coroutine.send(None)
            except StopIteration:
                return
            done = asyncio.get_running_loop().create_future()
            self._flusher = asyncio.get_running_loop().create_task(
                self._flush(coroutine, waiting, done)
            )
            await done
            return
        done = asyncio.get_running_loop().create_future()
        self._waiting().append((message, done))
        await done

    def _waiting(self) -> collections.deque[tuple[Message, asyncio.Future | None]]:
        if self._backlog is None:
            self._backlog = collections.deque()
        return self._backlog

    def hold(self) -> None:
        """Keeps pushed frames back until ``release``."""
        if self._held is None:
            self._held = []

    @property
    def holding(self) -> bool:
        return self._held is not None

    def release(self, sent_up_to: int | None = None) -> list[int]:
        """Pushes the frames held back, in order, but those numbered ``sent_up_to`` or less.

        Returns the numbers of the frames it pushed.
        """
        held, self._held = self._held, None
        pushed = []
        for message, seq in held or ():
            if seq is None or sent_up_to is None or seq > sent_up_to:
                self.push(message)
                if seq is not None:
                    pushed.append(seq)
        return pushed

    def drop_pushes(self) -> None:
        """Drops the frames held back and every later push (a refused socket)."""
        self._held = None
        self.failed = True

    async def _flush(
        self,
        coroutine: Coroutine[Any, Any, None],
        waiting: Any,
        first: asyncio.Future | None = None,
    ) -> None:
        """Finishes the send that had to wait, then sends the backlog, in order.

        A send that fails fails the socket: the consumer's sends waiting behind it raise
        the same error, later pushes are dropped.
        """
        done = first
        try:
            await _Rest(coroutine, waiting)
            while True:
                if done is not None and not done.done():
                    done.set_result(None)
                if not self._backlog:  # None or empty
                    break
                message, done = self._backlog.popleft()
                await self._send(message)
        except Exception as exc:
            self.failed = True
            logger.debug("socket send failed: %r", exc)
            if done is not None and not done.done():
                done.set_exception(exc)
            self._fail_waiting(exc)
        finally:
            self._flusher = None

    def _fail_waiting(self, exc: Exception) -> None:
        while self._backlog:  # None or empty
            _, done = self._backlog.popleft()
            if done is not None and not done.done():
                done.set_exception(exc)

    def _overflow(self) -> None:
        self.failed = True
        # The frame that overflowed, and the pushed frames that waited.
        dropped = 1 + len(self._held or ())
        self._held = None
        # The consumer's own messages still wait in the backlog: only pushed frames go.
        backlog = self._backlog or ()
        kept = collections.deque(item for item in backlog if item[1] is not None)
        dropped += len(backlog) - len(kept)
        self._backlog = kept
        self.on_overflow(dropped)
