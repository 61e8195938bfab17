"""SocketWriter: order, no waiting while the socket takes data, a bounded backlog when not.

The server's send is played by a small class here: one whose socket can be paused, as
Uvicorn's send waits while the socket's write buffer is over its high-water mark. The
live tests run the writer against the real servers.
"""

import asyncio

import pytest

from ..writer import SocketWriter


class Socket:
    """An ASGI send that waits while ``paused`` is set, as a full write buffer does."""

    def __init__(self) -> None:
        self.written: list[object] = []
        self.writable = asyncio.Event()
        self.writable.set()
        self.gone = False

    async def send(self, message: dict) -> None:
        await self.writable.wait()
        if self.gone:
            raise ConnectionError("client disconnected")
        self.written.append(message.get("text", message["type"]))


def frame(text: str) -> dict:
    return {"type": "websocket.send", "text": text}


def writer_for(socket: Socket, limit: int = 3) -> tuple[SocketWriter, list[int]]:
    overflows: list[int] = []  # the frames each overflow dropped
    writer = SocketWriter(socket.send, limit=limit, on_overflow=overflows.append)
    return writer, overflows


async def test_pushes_to_a_socket_that_takes_data_are_written_at_once():
    """No task, no queue: the frame is written before push returns."""
    socket = Socket()
    writer, _ = writer_for(socket)
    tasks_before = len(asyncio.all_tasks())
    for n in range(100):
        writer.push(frame(str(n)))
        assert socket.written[-1] == str(n)
    assert len(asyncio.all_tasks()) == tasks_before


async def test_a_paused_socket_keeps_order_and_its_own_frames_wait_their_turn():
    """Pushes queue behind the waiting one; the consumer's own send comes after them."""
    socket = Socket()
    writer, overflows = writer_for(socket, limit=10)
    socket.writable.clear()
    writer.push(frame("a"))
    writer.push(frame("b"))
    own = asyncio.create_task(writer.send(frame("own")))
    await asyncio.sleep(0)
    writer.push(frame("c"))
    assert socket.written == []
    socket.writable.set()
    await asyncio.wait_for(own, 2)
    assert socket.written == ["a", "b", "own", "c"]
    assert not overflows


async def test_a_slow_reader_overflows_without_holding_anyone_up():
    """Past ``limit`` frames behind, pushes are dropped at once and on_overflow runs."""
    socket = Socket()
    writer, overflows = writer_for(socket, limit=3)
    socket.writable.clear()
    for n in range(10):
        writer.push(frame(str(n)))  # returns at once, however far behind the socket is
    # Frames 1-3 waited, 4 overflowed; later pushes to the failed writer are not tried.
    assert overflows == [4]
    assert writer.failed
    socket.writable.set()
    await writer.send({"type": "websocket.close", "code": 4008})
    # The frame that was being written, then the close: what overflowed is gone.
    assert socket.written == ["0", "websocket.close"]


async def test_held_frames_go_out_after_what_the_consumer_sent_meanwhile():
    """hold/release: history first, then the live frames that arrived during it, in order."""
    socket = Socket()
    writer, _ = writer_for(socket)
    writer.hold()
    writer.push(frame("live 1"))
    await writer.send({"type": "websocket.accept"})
    await writer.send(frame("history"))
    writer.push(frame("live 2"))
    writer.release()
    writer.push(frame("live 3"))
    assert socket.written == ["websocket.accept", "history", "live 1", "live 2", "live 3"]


async def test_held_frames_already_sent_are_dropped_on_release():
    """release(sent_up_to): numbered frames the history already held are not sent again."""
    socket = Socket()
    writer, _ = writer_for(socket, limit=5)
    writer.hold()
    for seq in (3, 4, 5):
        writer.push(frame(f"live {seq}"), seq=seq)
    writer.push(frame("unnumbered"))
    await writer.send(frame("history up to 4"))
    writer.release(sent_up_to=4)
    assert socket.written == ["history up to 4", "live 5", "unnumbered"]


async def test_a_refused_socket_gets_no_pushed_frames():
    socket = Socket()
    writer, _ = writer_for(socket)
    writer.hold()
    writer.push(frame("private"))
    writer.drop_pushes()
    writer.push(frame("later"))
    await writer.send({"type": "websocket.close"})
    assert socket.written == ["websocket.close"]


async def test_a_socket_gone_mid_write_stops_pushes_and_fails_the_waiting_send():
    """A send that fails after waiting fails the consumer's queued send; pushes stop."""
    socket = Socket()
    writer, _ = writer_for(socket)
    socket.writable.clear()
    writer.push(frame("a"))
    own = asyncio.create_task(writer.send(frame("own")))
    await asyncio.sleep(0)
    socket.gone = True
    socket.writable.set()
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(own, 2)
    assert writer.failed
    writer.push(frame("b"))  # dropped, raises nothing
    assert socket.written == []


async def test_a_failed_send_fails_every_send_behind_it_and_keeps_no_order_broken():
    """The consumer's send that waited raises; those queued behind it too; pushes stop."""
    socket = Socket()
    writer, _ = writer_for(socket)
    socket.writable.clear()
    first = asyncio.create_task(writer.send(frame("first")))
    await asyncio.sleep(0)
    second = asyncio.create_task(writer.send(frame("second")))
    await asyncio.sleep(0)
    socket.gone = True
    socket.writable.set()
    for task in (first, second):
        with pytest.raises(ConnectionError):
            await asyncio.wait_for(task, 2)
    writer.push(frame("late"))
    assert writer.failed
    assert socket.written == []
