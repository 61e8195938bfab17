"""The notification socket: ws/notifications/."""

import json
from typing import Any

from ..core.consumers import BaseConsumer
from ..core.groups import user_group_name


class NotificationConsumer(BaseConsumer):
    """Delivers what notify_user sends to the authenticated user; clients only listen."""

    database_free_events = BaseConsumer.database_free_events | {"user.notification"}

    async def connect(self) -> None:
        if not await self.authenticate():
            return
        await self.join_group(user_group_name(self.scope["user"].pk))
        await self.join_auth_groups()
        await self.accept()
        await self.start_extensions()

    async def user_notification(self, event: dict[str, Any]) -> None:
        # notify_user sends pre-encoded text; the article's group_send sends "payload".
        text = event.get("text")
        await self.send(text_data=text if text is not None else json.dumps(event["payload"]))
