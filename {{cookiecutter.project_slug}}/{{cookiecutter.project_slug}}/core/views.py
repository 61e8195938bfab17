"""The health check and the metrics endpoint."""

import hmac

import redis
from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from . import metrics as metrics_

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


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus' scrape target, for ``Authorization: Bearer <METRICS_TOKEN>`` only.

    Without METRICS_TOKEN the endpoint does not exist (404); a wrong token gets 401.
    """
    if not settings.METRICS_TOKEN:
        raise Http404("metrics are off: set METRICS_TOKEN")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), settings.METRICS_TOKEN.encode()
    ):
        response = HttpResponse("send Authorization: Bearer <METRICS_TOKEN>\n", status=401)
        response["WWW-Authenticate"] = "Bearer"
        return response
    return HttpResponse(metrics_.exposition(), content_type=CONTENT_TYPE_LATEST)
