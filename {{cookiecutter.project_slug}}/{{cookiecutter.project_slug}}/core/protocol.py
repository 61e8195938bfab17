"""What every socket shares: close codes, error frames and parsing client frames."""

import json
import re
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
    # The user has USER_MAX_SOCKETS sockets open already (on any route or process): close
    # one, or reconnect later.
    TOO_MANY_SOCKETS = 4009
    # The server could not admit the socket now (Redis or the database away): reconnect
    # with back-off. As 1013 (Try Again Later), which Daphne does not let applications send.
    TRY_AGAIN_LATER = 4013
    # The socket reached WEBSOCKET_MAX_AGE: reconnect at once. Not 1001: Daphne lets an
    # application send only 1000 and 3000-4999.
    MAX_AGE = 4010
    # The client kept sending past its message rate after WEBSOCKET_RATE_LIMIT_STRIKES
    # error frames with retry_after: reconnect with back-off, and send more slowly.
    RATE_LIMITED = 4029
    # The server is stopping or restarting (SIGTERM): reconnect with back-off. Sent by the
    # server (Uvicorn itself; core/server.py for Daphne), never through the application.
    SERVICE_RESTART = 1012


class FrameError(ValueError):
    """A client frame was refused; ``code`` names the reason in the error frame."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


# Nesting a client frame may have: valid frames nest one or two levels. Checked before
# parsing, so that "[" * 100000 never reaches the JSON parser's recursion.
FRAME_MAX_DEPTH = 32
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def frame_parse(text: str | None, *, max_length: int) -> dict[str, Any]:
    """Returns the JSON object a client sent, or raises FrameError saying what is wrong.

    Frames longer than ``max_length`` characters or nested deeper than FRAME_MAX_DEPTH are
    refused unparsed; so are strings that no database or UTF-8 encoder takes (NUL, lone
    surrogates written as JSON escapes), wherever they are in the frame.
    """
    if text is None:
        raise FrameError("binary_not_supported", "send text frames holding JSON")
    if len(text) > max_length:
        raise FrameError("frame_too_long", f"the frame is longer than {max_length} characters")
    if text.count("[") + text.count("{") > FRAME_MAX_DEPTH and _depth(text) > FRAME_MAX_DEPTH:
        raise FrameError("frame_too_deep", f"the frame nests deeper than {FRAME_MAX_DEPTH} levels")
    try:
        data: Any = json.loads(text)
    except ValueError:
        raise FrameError("invalid_json", "the frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise FrameError("invalid_frame", "the frame must be a JSON object")
    _storable(data)
    return data


def _depth(text: str) -> int:
    """How deep the brackets of ``text`` nest outside its strings (a frame not yet parsed)."""
    depth = deepest = 0
    for bracket in _BRACKET.finditer(_STRING.sub("", text)):
        if bracket.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _storable(value: Any) -> None:
    """Raises FrameError for a string in ``value`` that cannot be stored or sent back."""
    if isinstance(value, dict):
        for key, item in value.items():
            _storable(key)
            _storable(item)
    elif isinstance(value, list):
        for item in value:
            _storable(item)
    elif isinstance(value, str):
        if "\x00" in value:
            raise FrameError("invalid_text", "the frame holds a NUL character")
        try:
            value.encode()
        except UnicodeEncodeError:
            raise FrameError("invalid_text", "the frame holds a lone surrogate") from None


def error_frame(code: str, detail: str, **fields: Any) -> str:
    return json.dumps({"type": "error", "code": code, "detail": detail, **fields})
