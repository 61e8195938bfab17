"""Template context shared by every page."""

from django.apps import apps
from django.conf import settings
from django.http import HttpRequest


def project(request: HttpRequest) -> dict[str, object]:
    return {
        "project_name": settings.PROJECT_NAME,
        "socket_auth": settings.SOCKET_AUTH,
        "presence": any(config.label == "presence" for config in apps.get_app_configs()),
    }
