"""URL configuration."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("{{ cookiecutter.project_slug }}.chat.urls")),
    path("", include("{{ cookiecutter.project_slug }}.core.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
{%- if cookiecutter.auth == "jwt" %}
    path("api/auth/", include("{{ cookiecutter.project_slug }}.accounts.urls")),
{%- endif %}
    path("admin/", admin.site.urls),
]
