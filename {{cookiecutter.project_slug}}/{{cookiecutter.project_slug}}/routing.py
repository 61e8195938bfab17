"""Every WebSocket route of the project, gathered from its apps."""

from .chat.routing import websocket_urlpatterns as chat_urlpatterns
from .notifications.routing import websocket_urlpatterns as notification_urlpatterns
{%- if cookiecutter.use_presence %}
from .presence.routing import websocket_urlpatterns as presence_urlpatterns
{%- endif %}

websocket_urlpatterns = [
    *chat_urlpatterns,
    *notification_urlpatterns,
{%- if cookiecutter.use_presence %}
    *presence_urlpatterns,
{%- endif %}
]
