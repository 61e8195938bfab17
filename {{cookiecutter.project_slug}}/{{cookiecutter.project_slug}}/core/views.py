"""The health check."""

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

OK = "ok"
NOT_CONFIGURED = "not configured"


def database_status() -> str:
    """Returns "ok" when the database answers a query, else the error."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"
    return OK


def redis_status(url: str) -> str:
    """Returns "ok" when Redis at ``url`` answers PING, "not configured" without a URL."""
    if not url:
        return NOT_CONFIGURED
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"error: {exc.__class__.__name__}"
    finally:
        client.close()
    return OK


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": database_status(), "redis": redis_status(settings.REDIS_URL)}
    healthy = all(value in (OK, NOT_CONFIGURED) for value in checks.values())
    return JsonResponse(
        {"status": OK if healthy else "error", "checks": checks}, status=200 if healthy else 503
    )
