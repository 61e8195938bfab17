"""The orders page: a signed-in user's own orders, placing one, and one order as JSON."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from . import dispatch, selectors, services
from .models import Order


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@login_required
@require_http_methods(["GET", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    """GET: the page. POST quantity (CSRF token required): places an order and starts it,
    answering 201 with the order as JSON when asked for JSON, else a redirect here."""
    error, status, headers = None, 200, {}
    if request.method == "POST":
        try:
            quantity = int(request.POST.get("quantity", "1"))
            order = services.order_create(user=request.user, quantity=quantity)
        except ValueError:  # InvalidQuantity, or not a number at all
            error, status = f"Enter a quantity from 1 to {services.MAX_QUANTITY}.", 400
            code = "invalid_request"
        except services.OrdersThrottled as throttled:
            error, status, code = str(throttled), 429, "rate_limited"
            headers = {"Retry-After": str(throttled.retry_after)}
        else:
            dispatch.order_start(order_id=order.pk)
            if _wants_json(request):
                return JsonResponse(services.order_payload(order), status=201)
            return redirect("orders:index")
        if _wants_json(request):
            return JsonResponse({"error": code, "detail": error}, status=status, headers=headers)
    context = {
        "orders": selectors.order_list(user=request.user),
        "error": error,
        "stock": settings.ORDER_STOCK,
        "max_quantity": services.MAX_QUANTITY,
    }
    response = render(request, "orders/index.html", context, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


@login_required
@require_GET
def detail(request: HttpRequest, order_id: int) -> JsonResponse:
    """One of the user's own orders as JSON; another user's is not found (404)."""
    try:
        order = selectors.order_get(user=request.user, order_id=order_id)
    except Order.DoesNotExist:
        raise Http404("no such order") from None
    return JsonResponse(services.order_payload(order))
