"""The base class of every consumer: error frames, clear refusals and logout."""

import json
from enum import IntEnum
from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

from .groups import session_group_name


class CloseCode(IntEnum):
    """Close codes the server uses; 4000-4999 are the application's own."""

    INVALID_ROOM = 4000
    UNAUTHENTICATED = 4001


class BaseConsumer(AsyncWebsocketConsumer):
    """Accepts before refusing, so browsers see the close code, and closes at logout."""

    # Events whose handlers never touch the database: they skip Channels' hop to the
    # thread pool (to close stale database connections) that every other message takes.
    database_free_events: frozenset[str] = frozenset({"session.logout"})

    session_group: str | None = None

    async def dispatch(self, message: dict[str, Any]) -> None:
        if message["type"] in self.database_free_events:
            await getattr(self, get_handler_name(message))(message)
        else:
            await super().dispatch(message)

    async def refuse(self, code: CloseCode, reason: str) -> None:
        """Accepts the handshake, then closes with ``code`` so that the client learns it."""
        await self.accept()
        await self.close(code=code, reason=reason)

    async def join_session_group(self) -> None:
        """Joins the group that closes this socket when its login session logs out."""
        session = self.scope.get("session")
        if session is not None and session.session_key:
            self.session_group = session_group_name(session.session_key)
            await self.channel_layer.group_add(self.session_group, self.channel_name)

    async def disconnect(self, code: int) -> None:
        if self.session_group:
            await self.channel_layer.group_discard(self.session_group, self.channel_name)

    async def session_logout(self, event: dict[str, Any]) -> None:
        await self.close(code=CloseCode.UNAUTHENTICATED, reason="logged out")

    async def send_error(self, code: str, detail: str) -> None:
        """Sends an error frame; the socket stays open."""
        await self.send(text_data=json.dumps({"type": "error", "code": code, "detail": detail}))
