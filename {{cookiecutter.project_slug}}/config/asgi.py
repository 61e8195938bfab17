"""ASGI entry point: HTTP goes to Django, WebSockets to Channels' router."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Set Django up before importing anything that imports models.
django_asgi_app = get_asgi_application()

{%- if cookiecutter.auth == "session" %}
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator

from {{ cookiecutter.project_slug }}.accounts.middleware import SessionAuthMiddlewareStack
from {{ cookiecutter.project_slug }}.routing import websocket_urlpatterns

# Session sockets must come from a page of this site: a matching Origin is required.
application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            SessionAuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
{%- else %}
from channels.routing import ProtocolTypeRouter, URLRouter

from {{ cookiecutter.project_slug }}.accounts.middleware import (
    TokenAuthMiddleware,
    TokenOriginValidator,
)
from {{ cookiecutter.project_slug }}.routing import websocket_urlpatterns

# Token sockets may come without Origin (apps, scripts), never from a foreign page.
application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": TokenOriginValidator(TokenAuthMiddleware(URLRouter(websocket_urlpatterns))),
    }
)
{%- endif %}

# What start-up made lives as long as the process: the cyclic collector need not scan it
# again. Full collections over Django's import-time objects otherwise land in the middle
# of handshake bursts.
gc.freeze()
