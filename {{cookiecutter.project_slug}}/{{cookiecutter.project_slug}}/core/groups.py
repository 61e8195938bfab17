"""Channel-layer group names, and publishing to a group from synchronous code."""

import hashlib
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def user_group_name(user_id: int) -> str:
    """Returns the group every notification socket of one user joins (the article's)."""
    return f"user_{int(user_id)}"


def auth_group_name(user_id: int) -> str:
    """Returns the group of every socket of one user, closed when the user's tokens are revoked."""
    return f"auth.{int(user_id)}"


def session_group_name(session_key: str) -> str:
    """Returns the group of the sockets opened with one login session."""
    # The session key is a credential: only its hash goes to Redis.
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def group_send_sync(group: str, event: dict[str, Any]) -> bool:
    """Sends ``event`` to ``group`` from synchronous code (views, signals, commands, tasks).

    Best effort: when the channel layer cannot publish (Redis away), the failure is
    logged and False returned, so that a logout, a save or its ``on_commit`` hook never
    fails because of it. Outside a server the call runs on a short-lived event loop, whose
    connections the layer closes with it.
    """
    try:
        async_to_sync(get_channel_layer().group_send)(group, event)
    except Exception as exc:
        logger.warning("broadcast to %s not sent: %r", group, exc)
        return False
    return True
