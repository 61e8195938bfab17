"""The login and password-change pages: Django's own views with the throttled forms,
answering 429 when refused."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.contrib.auth.views import LoginView, PasswordChangeView
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from .forms import LoginForm, ThrottledAdminPasswordChange, ThrottledPasswordChange


def refused_with_429(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wraps a view with a throttled form: a page whose form the throttle refused answers
    429, with Retry-After."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        response = view(request, *args, **kwargs)
        form = (getattr(response, "context_data", None) or {}).get("form")
        retry_after = getattr(form, "retry_after", None)
        if retry_after is not None:
            response.status_code = 429
            response["Retry-After"] = str(retry_after)
        return response

    return wrapped


login = refused_with_429(LoginView.as_view(authentication_form=LoginForm))
# The admin's own view, which takes its form from admin.site.login_form (config/urls.py).
admin_login = refused_with_429(admin.site.login)


class ThrottledPasswordChangeView(PasswordChangeView):
    """Django's password-change view, handing the request to the throttled form."""

    form_class = ThrottledPasswordChange

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "request": self.request}


password_change = refused_with_429(ThrottledPasswordChangeView.as_view())


@refused_with_429
def _admin_password_change(request: HttpRequest) -> HttpResponse:
    # What admin.site.password_change does, with the throttled form.
    request.current_app = admin.site.name
    return ThrottledPasswordChangeView.as_view(
        form_class=ThrottledAdminPasswordChange,
        success_url=reverse("admin:password_change_done", current_app=admin.site.name),
        extra_context=admin.site.each_context(request),
    )(request)


# Staff only, as the admin's own page (admin_view sends others to the admin's login).
admin_password_change = admin.site.admin_view(_admin_password_change)
