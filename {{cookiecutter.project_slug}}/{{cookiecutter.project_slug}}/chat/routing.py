"""WebSocket routes of the chat."""

from django.urls import re_path

from . import consumers

# Any room name reaches the consumer, which refuses bad ones with close code 4000.
websocket_urlpatterns = [
    re_path(r"^ws/chat/(?P<room_name>[^/]+)/$", consumers.ChatConsumer.as_asgi()),
]
