"""The chat's frames: parsing what clients send and encoding what they receive."""

import json
from typing import Any

from .models import Message


class FrameError(ValueError):
    """A client frame was refused; ``code`` names the reason for the error frame."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def message_body_parse(text: str | None, *, max_length: int) -> str:
    """Returns the message of a client frame ``{"message": "..."}`` or raises FrameError."""
    if text is None:
        raise FrameError("binary_not_supported", "send text frames holding JSON")
    try:
        data: Any = json.loads(text)
    except ValueError:
        raise FrameError("invalid_json", "the frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise FrameError("invalid_frame", 'the frame must be a JSON object: {"message": "..."}')
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
