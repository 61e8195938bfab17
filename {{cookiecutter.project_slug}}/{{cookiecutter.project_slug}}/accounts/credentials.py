"""Which changes of a user end all of the user's sockets, and ending them on every process.

A save changes the credentials when the user is deactivated or the password's hash
changes (``set_password``, ``set_unusable_password``, a hash written directly). Deleting
the user ends its sockets too. Bulk ``QuerySet.update()`` sends no signals: call
``user_sockets_close`` after one.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import post_delete, pre_save
from django.dispatch import receiver

from ..core.groups import auth_group_name, group_send_sync

PASSWORD_CHANGED = "password changed"  # noqa: S105 (a close reason)
USER_DEACTIVATED = "user deactivated"
USER_DELETED = "user deleted"
TOKENS_REVOKED = "token revoked"
# The reasons a socket's close repeats from an "auth.revoked" event; anything else a
# publisher sends is not (a close reason must stay under 123 bytes).
CLOSE_REASONS = frozenset({PASSWORD_CHANGED, USER_DEACTIVATED, USER_DELETED, TOKENS_REVOKED})
# The fields whose change a save is checked for; saves of other fields only (a login's
# last_login) cost nothing.
_WATCHED = frozenset({"password", "is_active"})
_STORED = "_credentials_stored"


def user_sockets_close(*, user_id: int, reason: str) -> None:
    """Closes every socket of the user with 4001 after the commit, on every server process.

    Best effort (core.groups.group_send_sync): a save never fails because Redis is away.
    """
    group, event = auth_group_name(user_id), {"type": "auth.revoked", "reason": reason}
    transaction.on_commit(lambda: group_send_sync(group, event))


def close_reason(event: dict[str, Any], *, default: str) -> str:
    """Returns the close reason an "auth.revoked" event names, or ``default``."""
    reason = event.get("reason")
    return reason if isinstance(reason, str) and reason in CLOSE_REASONS else default


@receiver(pre_save, sender=get_user_model())
def _remember_stored_credentials(
    sender: Any, instance: Any, raw: bool, update_fields: Any, **kwargs: Any
) -> None:
    instance.__dict__.pop(_STORED, None)
    if raw or instance.pk is None:
        return
    if update_fields is not None and not _WATCHED & set(update_fields):
        return
    stored = sender._default_manager.filter(pk=instance.pk).values(*_WATCHED).first()
    if stored is not None:
        instance.__dict__[_STORED] = stored


def credential_change(user: Any, *, update_fields: Any, hash_upgrades: bool) -> str | None:
    """Returns why the save of ``user`` that just happened ends its sockets, or None.

    For post_save. ``hash_upgrades``: whether a new hash of the same password counts (a
    login rehashing it for a newer hasher, which Django itself does not count as a
    change): it does for login sessions, whose auth hash is an HMAC of the password's
    hash, so Django's own middleware then refuses them too; it does not for tokens.
    """
    stored = user.__dict__.pop(_STORED, None)
    if stored is None:
        return None
    if stored["is_active"] and not user.is_active:
        return USER_DEACTIVATED
    if stored["password"] == user.password:
        return None
    # Django's rehash: check_password's setter clears _password and saves only the hash.
    upgrade = getattr(user, "_password", None) is None and set(update_fields or ()) == {"password"}
    return PASSWORD_CHANGED if hash_upgrades or not upgrade else None


@receiver(post_delete, sender=get_user_model())
def _close_sockets_of_deleted_user(sender: Any, instance: Any, **kwargs: Any) -> None:
    user_sockets_close(user_id=instance.pk, reason=USER_DELETED)
