"""Keeps credentials sent in query strings (``?token=...``) out of every log line."""

import logging
import re

QUERY_STRING = re.compile(r"\?[^\s\"']*")
REDACTED = "?[redacted]"


class RedactQueryString(logging.Filter):
    """Replaces each query string in a record's message and arguments with ``?[redacted]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = QUERY_STRING.sub(REDACTED, record.msg)
        if isinstance(record.args, tuple):
            # Keep the tuple's shape: Uvicorn's access formatter unpacks it.
            record.args = tuple(
                QUERY_STRING.sub(REDACTED, arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True
