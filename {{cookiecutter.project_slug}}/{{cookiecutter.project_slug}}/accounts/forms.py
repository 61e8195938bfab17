"""The login forms of the site and of the admin, with their passwords checked through the
throttle (throttle.py)."""

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from . import throttle


class ThrottledLoginMixin:
    """AuthenticationForm's clean, with the attempt counted before the password is checked.

    A refused attempt is a form error (code "throttled"); ``retry_after`` then holds the
    seconds to wait, for the page's Retry-After header (views.py).
    """

    retry_after: int | None = None

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            try:
                self.user_cache = throttle.login_authenticate(
                    request=self.request, username=username, password=password
                )
            except throttle.LoginThrottled as refused:
                self.retry_after = refused.retry_after
                raise ValidationError(str(refused), code="throttled") from None
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    """The login page's form (/accounts/login/)."""


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """The admin's login form (admin.site.login_form), for staff accounts."""
