"""The chat's frames: the message a client posts and the frame every member receives."""

import json
from typing import Any

from ..core.protocol import FrameError
from .models import Message


def message_body_parse(data: dict[str, Any], *, max_length: int) -> str:
    """Returns the message of a client frame ``{"message": "..."}`` or raises FrameError."""
    body = data.get("message")
    if not isinstance(body, str):
        raise FrameError("invalid_message", '"message" must be a string')
    if not body.strip():
        raise FrameError("invalid_message", '"message" is empty')
    if len(body) > max_length:
        raise FrameError("invalid_message", f'"message" is longer than {max_length} characters')
    return body


def message_frame(message: Message, *, room_name: str) -> str:
    """Encodes a stored message as the frame every member receives (the article's keys)."""
    return json.dumps(
        {
            "type": "chat.message",
            "id": message.seq,
            "room": room_name,
            "message": message.body,
            "sender": message.author.get_username(),
            "sent_at": message.created_at.isoformat().replace("+00:00", "Z"),
        },
        ensure_ascii=False,
    )
