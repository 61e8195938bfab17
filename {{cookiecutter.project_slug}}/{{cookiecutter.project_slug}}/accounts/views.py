"""The login pages: Django's own views with the throttled forms, answering 429 when refused."""

from collections.abc import Callable
from functools import wraps

from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse

from .forms import LoginForm


def refused_with_429(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wraps a login view: a page whose form the throttle refused answers 429, Retry-After."""

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
