"""No log line carries a query string: tokens may travel in them."""

import logging

from config.log_filters import RedactQueryString


def record(msg: str, args: tuple) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, msg, args, None)


def test_query_strings_in_arguments_are_redacted_and_the_tuple_kept():
    """It redacts Uvicorn's `WebSocket /path?token=...` line and keeps the arguments a tuple."""
    line = record('%s - "WebSocket %s" [accepted]', ("127.0.0.1:5000", "/ws/chat/x/?token=a.b.c"))
    assert RedactQueryString().filter(line)
    assert line.getMessage() == '127.0.0.1:5000 - "WebSocket /ws/chat/x/?[redacted]" [accepted]'
    assert isinstance(line.args, tuple) and len(line.args) == 2


def test_query_strings_in_the_message_are_redacted():
    """It redacts a query string written into the message itself."""
    line = record("GET /api/?token=secret&x=1 failed", ())
    RedactQueryString().filter(line)
    assert "secret" not in line.getMessage()
