"""The floor under the project's memory per socket: apps that only accept, served by bin/serve.

`benchmarks/fanout.py --floor` serves each of them with the production command
(``ASGI_APP=benchmarks.floor:<name> bin/serve``) and measures their idle sockets beside
the project's, which separates what the server and Channels cost per socket from what the
project adds.

- ``bare``: a plain ASGI application that accepts and waits for the close.
- ``consumer``: Channels' ``AsyncWebsocketConsumer`` behind its ``URLRouter``, without a
  channel layer.
- ``consumer_on_layer``: the same consumer on the project's channel layer, as every
  consumer of the project is.
"""

import os
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402


async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    while (await receive())["type"] != "websocket.disconnect":
        pass


class AcceptingConsumer(AsyncWebsocketConsumer):
    channel_layer_alias = "none: no layer"

    async def connect(self) -> None:
        await self.accept()


class AcceptingConsumerOnLayer(AcceptingConsumer):
    channel_layer_alias = "default"


consumer = URLRouter([re_path(r"", AcceptingConsumer.as_asgi())])
consumer_on_layer = URLRouter([re_path(r"", AcceptingConsumerOnLayer.as_asgi())])
