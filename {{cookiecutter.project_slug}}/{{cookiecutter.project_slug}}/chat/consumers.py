"""The chat socket: ws/chat/<room>/."""

from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from ..core.consumers import BaseConsumer
from ..core.protocol import CloseCode, FrameError
from . import protocol, selectors, services
from .models import Room


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
        self.room = await database_sync_to_async(self._room_if_allowed)()
        if self.room is None:
            await self.refuse(CloseCode.FORBIDDEN, "this room is private")
            return
        # Join before reading history: a message sent in between arrives twice at worst
        # (clients de-duplicate by id), never not at all.
        self.room_group = services.room_group_name(name=self.room_name)
        await self.join_group(self.room_group)
        await self.join_auth_groups()
        await self.accept()
        for frame in await database_sync_to_async(self._history)():
            await self.send(text_data=frame)
        await self.start_extensions()

    def _room_if_allowed(self) -> Room | None:
        """Finds or creates the room, in one trip to the database's thread with the check."""
        room = services.room_get_or_create(name=self.room_name)
        return room if services.room_join_allowed(room=room, user=self.scope["user"]) else None

    def _history(self) -> list[str]:
        messages = selectors.message_list_recent(
            room=self.room, limit=settings.CHAT_HISTORY_LENGTH
        )
        return [protocol.message_frame(m, room_name=self.room_name) for m in messages]

    async def frame_received(self, data: dict[str, Any]) -> None:
        try:
            body = protocol.message_body_parse(data, max_length=settings.CHAT_MESSAGE_MAX_LENGTH)
        except FrameError as exc:
            await self.send_error(exc.code, exc.detail)
            return
        frame = await database_sync_to_async(self._store)(body)
        # The frame is encoded once here; every member's handler sends the same text.
        await self.channel_layer.group_send(
            self.room_group, {"type": "chat.message", "text": frame}
        )

    def _store(self, body: str) -> str:
        message = services.message_create(room=self.room, author=self.scope["user"], body=body)
        return protocol.message_frame(message, room_name=self.room_name)

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])
