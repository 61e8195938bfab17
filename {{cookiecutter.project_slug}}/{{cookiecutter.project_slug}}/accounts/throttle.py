"""Login throttling: password attempts per account and per client address, counted at once."""

import ipaddress
import unicodedata
from dataclasses import dataclass

import redis
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from ..core.counters import counting_failed, current_window, increment, wait_text
from ..core.metrics import LIMITED

LOGIN_OFF = "login throttling is off for this attempt"


class LoginThrottled(Exception):
    """The account or the address has had its attempts for this window; the message says when
    to try again, and may be shown to the client."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(
            "Too many failed logins for this account or from this address; "
            f"try again in {wait_text(retry_after)}."
        )


@dataclass(frozen=True)
class LoginAttempt:
    """The counters one attempt added to (none when the cache could not be reached)."""

    keys: tuple[str, ...]


def login_authenticate(
    *, request: HttpRequest, username: str, password: str
) -> AbstractBaseUser | None:
    """Returns the user the credentials authenticate, or None; raises LoginThrottled.

    The attempt is counted before the password is checked, so that guesses sent in parallel
    are counted too; a success gives back its own attempt and nobody else's.
    """
    attempt = login_attempt_start(username=username, address=request.META.get("REMOTE_ADDR", ""))
    user = authenticate(request, username=username, password=password)
    if user is not None:
        login_attempt_give_back(attempt=attempt)
    return user


def login_attempt_start(*, username: str, address: str) -> LoginAttempt:
    """Counts an attempt on the account and on the address, or raises LoginThrottled.

    Past LOGIN_FAILURE_LIMIT attempts on the account, or LOGIN_ADDRESS_FAILURE_LIMIT from
    the address, in the current window of LOGIN_FAILURE_WINDOW seconds, the attempt is
    refused and not counted. Windows are aligned to the clock, so a refusal knows when its
    window ends.
    """
    window = current_window(settings.LOGIN_FAILURE_WINDOW)
    limits = {
        _key("account", _account(username), window.number): settings.LOGIN_FAILURE_LIMIT,
        _key("address", _address(address), window.number): settings.LOGIN_ADDRESS_FAILURE_LIMIT,
    }
    timeout = window.retry_after + settings.LOGIN_FAILURE_WINDOW
    try:
        # Past its window a counter is never read again: it expires a window later.
        counts = {key: increment(key, timeout=timeout) for key in limits}
    except redis.RedisError as error:
        counting_failed(error, what=LOGIN_OFF)
        return LoginAttempt(keys=())
    attempt = LoginAttempt(keys=tuple(limits))
    if any(counts[key] > limit for key, limit in limits.items()):
        login_attempt_give_back(attempt=attempt)
        LIMITED.labels("login").inc()
        raise LoginThrottled(window.retry_after)
    return attempt


def login_attempt_give_back(*, attempt: LoginAttempt) -> None:
    """Takes ``attempt`` off the counters it was added to (a success, or a refusal)."""
    for key in attempt.keys:
        try:
            cache.decr(key)
        except ValueError:  # its window has expired
            pass
        except redis.RedisError as error:
            counting_failed(error, what=LOGIN_OFF)
            return


def _key(kind: str, value: str, window_number: int) -> str:
    # Keyed hashes: the cache never holds a username or an address that could be read back.
    digest = salted_hmac("login-throttle", value, algorithm="sha256").hexdigest()[:32]
    return f"login-attempts:{kind}:{window_number}:{digest}"


def _account(username: str) -> str:
    # "Alice" and "alice" are one account on case-insensitive databases: counted as one.
    return unicodedata.normalize("NFKC", username).casefold()


def _address(address: str) -> str:
    # One IPv6 host usually holds a whole /64: its addresses count as one.
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip), 64), strict=False))
    return str(ip)
