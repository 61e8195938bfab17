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


REF_MAX_LENGTH = 64
# Largest message id a client may name (the database's big integer).
LAST_ID_MAX = 2**63 - 1


def post_ref_parse(data: dict[str, Any]) -> str:
    """Returns the ``ref`` a client gave its post ("" for none), or raises FrameError."""
    ref = data.get("ref")
    if ref is None or ref == "":
        return ""
    if not isinstance(ref, str) or len(ref) > REF_MAX_LENGTH:
        raise FrameError(
            "invalid_ref", f'"ref" must be a string of at most {REF_MAX_LENGTH} characters'
        )
    return ref


def last_id_parse(value: Any) -> int:
    """Returns the last message id a client saw (a number, or digits from the URL)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 20:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= LAST_ID_MAX:
        raise FrameError("invalid_last_id", '"last_id" must be a message id: a whole number >= 0')
    return value


def ack_frame(*, ref: str, message_id: int) -> str:
    """Tells the sender that its post ``ref`` is stored as ``message_id``."""
    return json.dumps({"type": "chat.ack", "ref": ref, "id": message_id}, ensure_ascii=False)


def recovery_frame(*, recovered: bool, count: int) -> str:
    """Precedes the ``count`` messages a resuming client gets: the ones it missed
    (``recovered``), or the latest history when the gap is beyond what is replayed."""
    return json.dumps({"type": "chat.recovery", "recovered": recovered, "count": count})


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
