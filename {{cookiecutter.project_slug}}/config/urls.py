"""URL configuration."""

from django.contrib import admin
from django.urls import include, path

from {{ cookiecutter.project_slug }}.accounts import views as accounts
from {{ cookiecutter.project_slug }}.accounts.forms import AdminLoginForm

# Both login pages and both password-change pages check passwords through the login
# throttle (accounts/throttle.py).
admin.site.login_form = AdminLoginForm

urlpatterns = [
    path("", include("{{ cookiecutter.project_slug }}.chat.urls")),
    path("", include("{{ cookiecutter.project_slug }}.core.urls")),
    path("orders/", include("{{ cookiecutter.project_slug }}.orders.urls")),
    path("accounts/login/", accounts.login, name="login"),
    path("accounts/password_change/", accounts.password_change, name="password_change"),
    path("accounts/", include("django.contrib.auth.urls")),
{%- if cookiecutter.auth == "jwt" %}
    path("api/auth/", include("{{ cookiecutter.project_slug }}.accounts.urls")),
    path("api/orders/", include("{{ cookiecutter.project_slug }}.orders.api")),
{%- endif %}
    path("admin/login/", accounts.admin_login),
    path("admin/password_change/", accounts.admin_password_change),
    path("admin/", admin.site.urls),
]
