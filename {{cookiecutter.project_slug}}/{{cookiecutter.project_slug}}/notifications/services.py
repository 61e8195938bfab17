"""Publishing notifications to a user's sockets."""

import json
from collections.abc import Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from ..core.groups import group_send_sync, user_group_name


def notification_event(user_id: int, payload: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Returns the group of the user's notification sockets and the event carrying ``payload``.

    Dates, UUIDs and decimals are encoded as strings here, so the payload survives the
    channel layer's msgpack.
    """
    if not isinstance(payload, Mapping):
        raise TypeError(f"payload must be a mapping (a JSON object), not {type(payload)!r}")
    text = json.dumps(payload, cls=DjangoJSONEncoder, ensure_ascii=False)
    return user_group_name(user_id), {"type": "user.notification", "text": text}


def notify_user(user_id: int, payload: Mapping[str, Any]) -> None:
    """Sends ``payload`` as one JSON frame to every notification socket of the user.

    Callable from synchronous code. Inside a transaction it publishes after the commit,
    so clients never hear of rows that roll back. Best effort: with Redis away the
    notification is logged as not sent, and the caller's work goes on.
    """
    group, event = notification_event(user_id, payload)
    transaction.on_commit(lambda: group_send_sync(group, event))
