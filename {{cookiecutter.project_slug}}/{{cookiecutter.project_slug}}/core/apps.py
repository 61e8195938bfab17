"""Project-wide pieces: the health check, the consumer base class and group names."""

import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger(__name__)


class CoreConfig(AppConfig):
    name = __name__.rpartition(".")[0]
    label = "core"

    def ready(self) -> None:
        if not settings.REDIS_URL:
            logger.warning(
                "REDIS_URL is not set: using the in-memory channel layer, which only reaches "
                "sockets of this one process. Set REDIS_URL=redis://127.0.0.1:6379/0 (and "
                "start redis-server) to share messages between processes."
            )
