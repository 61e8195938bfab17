"""Closes a login session's sockets when it logs out."""

from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest

from ..core.groups import group_send_sync, session_group_name


@receiver(user_logged_out)
def close_session_sockets(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    # Sockets keep the user they opened with; without this they outlive the logout.
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        group_send_sync(session_group_name(session_key), {"type": "session.logout"})
