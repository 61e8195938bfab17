"""Channel-layer group names, and publishing to a group from synchronous code."""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def user_group_name(user_id: int) -> str:
    """Returns the group every notification socket of one user joins (the article's)."""
    return f"user_{int(user_id)}"


def auth_group_name(user_id: int) -> str:
    """Returns the group of every socket of one user, closed when the user's credentials change."""
    return f"auth.{int(user_id)}"


def group_send_sync(group: str, event: dict[str, Any]) -> bool:
    """Sends ``event`` to ``group`` from synchronous code (views, signals, commands, tasks).

    Best effort: when the channel layer cannot publish (Redis away), the failure is
    logged and False returned, so that a logout, a save or its ``on_commit`` hook never
    fails because of it. Outside a server the call runs on a short-lived event loop, whose
    connections the layer closes with it.
    """
    return group_send_many_sync([(group, event)])


def group_send_many_sync(messages: list[tuple[str, dict[str, Any]]]) -> bool:
    """Sends each ``(group, event)`` in turn, as group_send_sync does, in one event loop.

    For many messages at once (a bulk deletion's): from a command, each event loop costs
    a few milliseconds and new Redis connections. The first failure ends the sending; it
    is logged with the count of messages not sent, and False returned.
    """

    async def send_all() -> int:
        layer = get_channel_layer()
        for sent, (group, event) in enumerate(messages):
            try:
                await layer.group_send(group, event)
            except Exception as exc:
                more = len(messages) - sent - 1
                extra = f" (and {more} more)" if more else ""
                logger.warning("broadcast to %s%s not sent: %r", group, extra, exc)
                return sent
        return len(messages)

    if not messages:
        return True
    try:
        return async_to_sync(send_all)() == len(messages)
    except Exception as exc:  # no layer, or no event loop to run it in
        logger.warning("broadcast to %s not sent: %r", messages[0][0], exc)
        return False
