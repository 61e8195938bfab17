"""The chat socket: ws/chat/<room>/."""

import asyncio
import logging
from typing import Any

from django.conf import settings

from ..core.batching import Batcher
from ..core.consumers import BaseConsumer
from ..core.db import database_sync_to_async
from ..core.protocol import CloseCode
from . import protocol, selectors, services
from .models import Room

logger = logging.getLogger(__name__)

Admission = tuple[Room, list[str]]


def _admit_many(requests: dict[tuple[str, int], Any]) -> dict[tuple[str, int], Admission | None]:
    """Rooms, permissions and history for the handshakes of one batch (database thread).

    Finds or creates every room once, checks each user, and reads each room's history
    once for all of its sockets: a burst of reconnects to one room costs a few queries.
    """
    rooms = services.rooms_get_or_create(names={name for name, _ in requests})
    histories: dict[str, list[str]] = {}
    admitted: dict[tuple[str, int], Admission | None] = {}
    for (name, user_pk), user in requests.items():
        room = rooms[name]
        if not services.room_join_allowed(room=room, user=user):
            admitted[(name, user_pk)] = None
            continue
        if name not in histories:
            messages = selectors.message_list_recent(room=room, limit=settings.CHAT_HISTORY_LENGTH)
            histories[name] = [protocol.message_frame(m, room_name=name) for m in messages]
        admitted[(name, user_pk)] = (room, histories[name])
    return admitted


admissions: Batcher[tuple[str, int], Admission | None] = Batcher(_admit_many)


class ChatConsumer(BaseConsumer):
    """Joins a room, replays its recent history and broadcasts what members send."""

    database_free_events = BaseConsumer.database_free_events | {"chat.message"}

    room_group: str | None = None

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
        # Join before reading history: a message sent in between arrives twice at worst
        # (clients de-duplicate by id), never not at all. Live frames wait until the
        # history is out, then go straight from the channel layer to the socket.
        self.room_group = services.room_group_name(name=self.room_name)
        self.writer.hold()
        self.deliver_directly({"chat.message": self.push_chat_message})
        await asyncio.gather(self.join_group(self.room_group), self.join_auth_groups())
        user = self.scope["user"]
        admitted = await admissions.load((self.room_name, user.pk), user)
        if admitted is None:
            self.writer.drop_pushes()
            await self.refuse(CloseCode.FORBIDDEN, "this room is private")
            return
        self.room, history = admitted
        await self.accept()
        for frame in history:
            await self.send(text_data=frame)
        self.writer.release()
        await self.start_extensions()

    async def frame_received(self, data: dict[str, Any]) -> None:
        body = protocol.message_body_parse(data, max_length=settings.CHAT_MESSAGE_MAX_LENGTH)
        frame = await database_sync_to_async(self._store)(body)
        # The frame is encoded once here; every member's handler sends the same text.
        await self.channel_layer.group_send(
            self.room_group, {"type": "chat.message", "text": frame}
        )

    def _store(self, body: str) -> str:
        message = services.message_create(room=self.room, author=self.scope["user"], body=body)
        return protocol.message_frame(message, room_name=self.room_name)

    def push_chat_message(self, event: dict[str, Any]) -> None:
        text = event.get("text")
        if isinstance(text, str):
            self.writer.push({"type": "websocket.send", "text": text})
        else:
            logger.warning("chat.message without text ignored")

    async def chat_message(self, event: dict[str, Any]) -> None:
        """The same, for channel layers without direct delivery."""
        self.push_chat_message(event)
