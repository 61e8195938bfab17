"""The global presence socket: ws/presence/ (the article's online list, as diffs)."""

from ..core.consumers import BaseConsumer
from .extension import GLOBAL


class PresenceConsumer(BaseConsumer):
    """Sends who is online now, then every join and leave; clients only listen."""

    presence_topic = GLOBAL

    async def connect(self) -> None:
        if not await self.authenticate():
            return
        await self.join_auth_groups()
        await self.accept()
        await self.start_extensions()
