"""The chat socket: ws/chat/<room>/."""

import asyncio
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings

from ..core.batching import Batcher
from ..core.consumers import BaseConsumer
from ..core.db import database_sync_to_async
from ..core.protocol import CloseCode, FrameError
from . import protocol, selectors, services
from .models import Message, Room

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Admission:
    """What a socket admitted to a room is sent first, and up to which message id."""

    room: Room
    # Ids and encoded messages, oldest first: the latest history, or what a resuming client
    # missed.
    frames: list[tuple[int, str]]
    # The room's latest message id when they were read: later ones arrive live.
    upto: int
    # None for a client that did not say what it saw; else whether ``frames`` are exactly
    # the messages it missed (False: the gap was too wide, ``frames`` are the history).
    recovered: bool | None


AdmissionKey = tuple[str, int, int | None]  # room name, user id, last id seen


class _Replays:
    """The frames of one room for the sockets of one batch, each message encoded once."""

    def __init__(self, room: Room, last_ids: set[int]) -> None:
        self.room = room
        self.encoded: dict[int, str] = {}
        self._history: list[tuple[int, str]] | None = None
        # One read covers every resuming socket of the batch: from the oldest id any of
        # them saw (within the recovery limit) to the room's latest.
        self.oldest = min((i for i in last_ids if self.recoverable(i)), default=None)
        self._since: list[Message] = []
        if self.oldest is not None:
            self._since = selectors.message_list_between(
                room=room, after=self.oldest, upto=room.last_seq
            )

    def recoverable(self, last_id: int) -> bool:
        return 0 <= self.room.last_seq - last_id <= settings.CHAT_RECOVERY_LIMIT

    def frame(self, message: Message) -> tuple[int, str]:
        if message.seq not in self.encoded:
            self.encoded[message.seq] = protocol.message_frame(message, room_name=self.room.name)
        return message.seq, self.encoded[message.seq]

    def history(self) -> list[tuple[int, str]]:
        if self._history is None:
            messages = selectors.message_list_recent(
                room=self.room, limit=settings.CHAT_HISTORY_LENGTH, upto=self.room.last_seq
            )
            self._history = [self.frame(m) for m in messages]
        return self._history

    def admission(self, last_id: int | None) -> Admission:
        upto = self.room.last_seq
        if last_id is None:
            return Admission(self.room, self.history(), upto, None)
        if not self.recoverable(last_id):
            return Admission(self.room, self.history(), upto, False)
        missed = [self.frame(m) for m in self._since if m.seq > last_id]
        return Admission(self.room, missed, upto, True)


def _admit_many(requests: dict[AdmissionKey, Any]) -> dict[AdmissionKey, Admission | None]:
    """Rooms, permissions and first frames for the handshakes of one batch (database thread).

    Finds or creates every room once, checks each user, and reads each room's messages
    once for all of its sockets: a burst of reconnects to one room costs a few queries.
    Messages are read up to the room's latest id as read here, after every socket of the
    batch joined the room's group: later messages reach them live.
    """
    rooms = services.rooms_get_or_create(names={name for name, _, _ in requests})
    last_ids: dict[str, set[int]] = {}
    for name, _, last_id in requests:
        if last_id is not None:
            last_ids.setdefault(name, set()).add(last_id)
    replays = {name: _Replays(room, last_ids.get(name, set())) for name, room in rooms.items()}
    admitted: dict[AdmissionKey, Admission | None] = {}
    for key, user in requests.items():
        name, _, last_id = key
        if services.room_join_allowed(room=rooms[name], user=user):
            admitted[key] = replays[name].admission(last_id)
        else:
            admitted[key] = None
    return admitted


admissions: Batcher[AdmissionKey, Admission | None] = Batcher(_admit_many)


def _admitted_of(pairs: dict[tuple[int, int], Any]) -> dict[tuple[int, int], bool]:
    admitted = selectors.room_admitted_pairs(pairs=set(pairs))
    return {pair: pair in admitted for pair in pairs}


# Whether each (room id, user id) may still be together: the sockets of one process that
# check at once (a room made private) share a few queries.
access_checks: Batcher[tuple[int, int], bool] = Batcher(_admitted_of)


class SentIds:
    """The message ids a socket was sent: every id up to ``upto``, and a few beyond it."""

    __slots__ = ("beyond", "upto")

    def __init__(self) -> None:
        self.upto = 0
        # Ids sent out of order (publishes of two processes crossing): rarely any.
        self.beyond: set[int] | None = None

    def __contains__(self, message_id: int) -> bool:
        return message_id <= self.upto or bool(self.beyond and message_id in self.beyond)

    def add(self, message_id: int) -> None:
        if message_id in self:
            return
        if self.beyond is None:
            self.beyond = set()
        self.beyond.add(message_id)
        self._advance()

    def sent_up_to(self, upto: int) -> None:
        """Every id up to ``upto`` was sent (a history or a recovery)."""
        self.upto = max(self.upto, upto)
        self._advance()

    def _advance(self) -> None:
        if self.beyond:
            self.beyond = {i for i in self.beyond if i > self.upto}
            while self.upto + 1 in self.beyond:
                self.upto += 1
                self.beyond.discard(self.upto)
        if not self.beyond:
            self.beyond = None


class ChatConsumer(BaseConsumer):
    """Joins a room, replays its history (or what a client missed) and broadcasts posts."""

    database_free_events = BaseConsumer.database_free_events | {
        "chat.message",
        "chat.access_changed",
    }

    room_group: str | None = None
    room: Room | None = None
    # Whether the client speaks the recovery protocol (it sent a last id): it then gets a
    # chat.recovery frame before every replay.
    resuming_client = False

    async def connect(self) -> None:
        if not await self.authenticate():
            return
        try:
            self.room_name = services.room_name_validate(
                name=self.scope["url_route"]["kwargs"]["room_name"]
            )
        except services.InvalidRoomName as exc:
            await self.refuse(CloseCode.INVALID_ROOM, str(exc))
            return
        last_id, refused = self._last_id_asked()
        self.resuming_client = last_id is not None
        self.sent = SentIds()
        # Join before reading the messages, so that none falls between the two; live frames
        # wait until those are out, then go straight from the channel layer to the socket,
        # without the ones already sent.
        self.room_group = services.room_group_name(name=self.room_name)
        self.writer.hold()
        self.deliver_directly({"chat.message": self.push_chat_message})
        await asyncio.gather(self.join_group(self.room_group), self.join_auth_groups())
        user = self.scope["user"]
        admitted = await admissions.load((self.room_name, user.pk, last_id), user)
        if admitted is None:
            self.writer.drop_pushes()
            await self.refuse(CloseCode.FORBIDDEN, "this room is private")
            return
        self.room = admitted.room
        await self.accept()
        if refused is not None:
            await self.send_error(refused.code, refused.detail)
        await self._replay(admitted)
        await self.start_extensions()

    def _last_id_asked(self) -> tuple[int | None, FrameError | None]:
        """The ``last_id`` of the socket's URL, if any, or why it cannot be used."""
        query = parse_qs(
            self.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True
        )
        if "last_id" not in query:
            return None, None
        try:
            return protocol.last_id_parse(query["last_id"][-1]), None
        except FrameError as exc:
            return None, exc

    async def _replay(self, admitted: Admission, *, unsent_only: bool = False) -> None:
        """Sends an admission's frames, then the live frames held back meanwhile.

        ``unsent_only``: without the ids this socket was sent already (a catch-up).
        """
        frames = admitted.frames
        if unsent_only and admitted.recovered:
            frames = [(i, frame) for i, frame in frames if i not in self.sent]
        if self.resuming_client and admitted.recovered is not None:
            await self.send(
                text_data=protocol.recovery_frame(recovered=admitted.recovered, count=len(frames))
            )
        for _, frame in frames:
            await self.send(text_data=frame)
        self.sent.sent_up_to(admitted.upto)
        for message_id in self.writer.release(sent_up_to=admitted.upto):
            self.sent.add(message_id)

    async def frame_received(self, data: dict[str, Any]) -> None:
        if data.get("type") == "resume":
            await self._resume(protocol.last_id_parse(data.get("last_id")))
            return
        body = protocol.message_body_parse(data, max_length=settings.CHAT_MESSAGE_MAX_LENGTH)
        ref = protocol.post_ref_parse(data)
        frame, message_id, created = await database_sync_to_async(self._store)(body, ref)
        if created:
            # The frame is encoded once here; every member's handler sends the same text.
            event = {"type": "chat.message", "text": frame, "id": message_id}
            try:
                await self.channel_layer.group_send(self.room_group, event)
            except Exception as exc:
                # Stored: the room's sockets catch up when their subscription is back.
                logger.warning(
                    "chat: message %s of %s not published: %r", message_id, self.room_name, exc
                )
                await self.send_error(
                    "delayed",
                    f"stored as message {message_id}; the room gets it when Redis is back",
                )
        if ref:
            await self.send(text_data=protocol.ack_frame(ref=ref, message_id=message_id))

    async def _resume(self, last_id: int, *, catching_up: bool = False) -> None:
        """The messages after ``last_id``, then live ones.

        For a client's ``{"type": "resume", "last_id": N}``, or to catch up after the
        room's subscription was lost (``catching_up``: only what the socket was not sent).
        """
        self.writer.hold()
        if not catching_up:
            self.resuming_client = True
        user = self.scope["user"]
        key = (self.room_name, user.pk, last_id)
        try:
            admitted = (await database_sync_to_async(_admit_many)({key: user}))[key]
        except BaseException:
            # The database away, say: live frames flow again, and the error is reported.
            for message_id in self.writer.release():
                self.sent.add(message_id)
            raise
        if admitted is None:
            self.writer.drop_pushes()
            await self.close(code=CloseCode.FORBIDDEN, reason="this room is private")
            return
        await self._replay(admitted, unsent_only=catching_up)

    async def layer_resubscribed(self, event: dict[str, Any]) -> None:
        """The room's subscription is back after a Redis outage: sends what was missed."""
        if self.accepted and self.room is not None and event.get("group") == self.room_group:
            await self._resume(self.sent.upto, catching_up=True)

    async def chat_access_changed(self, event: dict[str, Any]) -> None:
        """The room's members or privacy changed (chat/signals.py): closes the socket with
        4003 if its user may no longer be in the room. ``user_ids``, if given, names the
        only users concerned."""
        user = self.scope["user"]
        user_ids = event.get("user_ids")
        if self.room is None or (isinstance(user_ids, list) and user.pk not in user_ids):
            return
        try:
            admitted = await access_checks.load((self.room.pk, user.pk))
        except Exception:
            # Not known to be allowed: the client comes back and its handshake checks.
            logger.warning("chat: access to %s not checked", self.room_name, exc_info=True)
            await self.close(code=CloseCode.TRY_AGAIN_LATER, reason="the server cannot check")
            return
        if not admitted:
            self.writer.drop_pushes()
            await self.close(code=CloseCode.FORBIDDEN, reason="this room is private")

    def _store(self, body: str, ref: str) -> tuple[str, int, bool]:
        message, created = services.message_create(
            room=self.room, author=self.scope["user"], body=body, ref=ref
        )
        return protocol.message_frame(message, room_name=self.room_name), message.seq, created

    def push_chat_message(self, event: dict[str, Any]) -> None:
        text, message_id = event.get("text"), event.get("id")
        if not isinstance(text, str):
            logger.warning("chat.message without text ignored")
            return
        if isinstance(message_id, int):
            if message_id in self.sent:
                return  # sent already, in the history or a recovery
            if not self.writer.holding:  # held ones count once released
                self.sent.add(message_id)
        self.writer.push({"type": "websocket.send", "text": text}, seq=message_id)

    async def chat_message(self, event: dict[str, Any]) -> None:
        """The same, for channel layers without direct delivery."""
        self.push_chat_message(event)
