"""Log lines an operator can search: JSON ones (LOG_FORMAT=json), each with the id of the
request or socket it is about."""

import contextvars
import json
import logging
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse

# The id of the request or socket the running code serves; "" outside both.
current_id: contextvars.ContextVar[str] = contextvars.ContextVar("log_id", default="")
# An id a proxy sent (nginx's $request_id) is kept if it looks like one.
_GIVEN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def new_id() -> str:
    return secrets.token_hex(8)


def id_given(value: str) -> str:
    """The id a proxy sent (X-Request-ID), if it looks like one; else a new one."""
    return value if _GIVEN_ID.fullmatch(value) else new_id()


class LogContext(logging.Filter):
    """Adds ``record.log_id``: the id of the request or socket the line is about."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.log_id = current_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, id, and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "log_id", ""):
            entry["id"] = record.log_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class RequestIdMiddleware:
    """Gives each request an id (the proxy's X-Request-ID, or a new one) for its log lines,
    and sends it back in X-Request-ID."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = id_given(request.headers.get("X-Request-ID", ""))
        token = current_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_id.reset(token)
        response["X-Request-ID"] = request_id
        return response
