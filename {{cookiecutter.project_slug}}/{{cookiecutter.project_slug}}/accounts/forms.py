"""The login and password-change forms of the site and of the admin, with their passwords
checked through the throttle (throttle.py)."""

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm, AdminPasswordChangeForm
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest

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


class ThrottledPasswordChangeMixin:
    """PasswordChangeForm's check of the old password, counted first as a login attempt on
    the account and the address: a session someone else holds is not a way to guess the
    password past the login limits. A refusal is an error of the field (code "throttled")
    and sets ``retry_after``, as the login forms do."""

    retry_after: int | None = None

    def __init__(self, user: Any, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        try:
            attempt = throttle.login_attempt_start(
                username=self.user.get_username(),
                address=self.request.META.get("REMOTE_ADDR", ""),
            )
        except throttle.LoginThrottled as refused:
            self.retry_after = refused.retry_after
            raise ValidationError(str(refused), code="throttled") from None
        if not self.user.check_password(old_password):
            raise ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        throttle.login_attempt_give_back(attempt=attempt)
        return old_password


class ThrottledPasswordChange(ThrottledPasswordChangeMixin, PasswordChangeForm):
    """The site's password-change form (/accounts/password_change/)."""


class ThrottledAdminPasswordChange(ThrottledPasswordChangeMixin, AdminPasswordChangeForm):
    """The admin's password-change form (/admin/password_change/)."""
