"""What every socket shares: close codes, error frames and parsing client frames."""

import json
from enum import IntEnum
from typing import Any


class CloseCode(IntEnum):
    """Close codes the server uses; 4000-4999 are the application's own."""

    INVALID_ROOM = 4000
    UNAUTHENTICATED = 4001
    FORBIDDEN = 4003
    # The socket fell WEBSOCKET_SEND_BACKLOG frames behind its room: frames were dropped.
    # Reconnect (and resume from the last message id).
    SLOW_READER = 4008
    # The socket reached WEBSOCKET_MAX_AGE: reconnect at once. Not 1001: Daphne lets an
    # application send only 1000 and 3000-4999.
    MAX_AGE = 4010
    # The server is stopping or restarting (SIGTERM): reconnect with back-off. Sent by the
    # server (Uvicorn itself; core/shutdown.py for Daphne), never through the application.
    SERVICE_RESTART = 1012


class FrameError(ValueError):
    """A client frame was refused; ``code`` names the reason in the error frame."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def frame_parse(text: str | None) -> dict[str, Any]:
    """Returns the JSON object a client sent, or raises FrameError saying what is wrong."""
    if text is None:
        raise FrameError("binary_not_supported", "send text frames holding JSON")
    try:
        data: Any = json.loads(text)
    except ValueError:
        raise FrameError("invalid_json", "the frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise FrameError("invalid_frame", "the frame must be a JSON object")
    return data


def error_frame(code: str, detail: str) -> str:
    return json.dumps({"type": "error", "code": code, "detail": detail})
