"""Orders: placing one, and processing it step by step, each step told to its owner."""

import logging
import time
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from ..core.counters import counting_failed, current_window, increment, wait_text
from ..core.metrics import LIMITED
from ..notifications.services import notify_user
from .models import Order

logger = logging.getLogger(__name__)
Status = Order.Status

# Processing, one saved step at a time: the status each step starts from, and the one it
# saves. The first is taken at once; the others after ORDER_STEP_SECONDS of work each.
STEPS = (
    (Status.PENDING, Status.PROCESSING),
    (Status.PROCESSING, Status.SHIPPED),
    (Status.SHIPPED, Status.DONE),
)
FINAL = frozenset({Status.DONE, Status.FAILED})
MAX_QUANTITY = 100
# What the owner reads when processing broke for a reason that is not theirs.
INTERNAL_ERROR = "something went wrong on our side; place the order again"


class OrderRefused(Exception):
    """A step refused the order; the message says why, in words for its owner."""


class InvalidQuantity(ValueError):
    """The quantity is not a whole number from 1 to MAX_QUANTITY."""


class OrdersThrottled(Exception):
    """The user has placed ORDER_RATE_LIMIT orders in this window; the message says when
    they may place another, and may be shown to them."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"Too many orders at once; place another in {wait_text(retry_after)}.")


def order_payload(order: Order) -> dict[str, Any]:
    """Returns what the owner's sockets and the API say of ``order`` (JSON primitives)."""
    return {
        "event": "order_updated",
        "order_id": order.pk,
        "status": order.status,
        "quantity": order.quantity,
        "error": order.error,
        "updated_at": order.updated_at.isoformat(),
    }


def order_create(*, user: AbstractBaseUser, quantity: int = 1) -> Order:
    """Places a pending order for ``user``; its owner is told once it is committed.

    Raises InvalidQuantity, or OrdersThrottled past ORDER_RATE_LIMIT orders of the user in
    the current window of ORDER_RATE_WINDOW seconds (windows aligned to the clock).
    """
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidQuantity(f"quantity must be a whole number from 1 to {MAX_QUANTITY}")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidQuantity(f"quantity must be from 1 to {MAX_QUANTITY}, not {quantity}")
    _count_placement(user_id=user.pk)
    with transaction.atomic():
        order = Order.objects.create(user=user, quantity=quantity)
        notify_user(order.user_id, order_payload(order))
    return order


def _stock_check(order: Order) -> None:
    if order.quantity > settings.ORDER_STOCK:
        raise OrderRefused(
            f"only {settings.ORDER_STOCK} in stock: order at most {settings.ORDER_STOCK}"
        )


# The check a step makes before it saves its status.
CHECKS = {Status.SHIPPED: _stock_check}


def _order_advance(*, order_id: int, start: str, end: str) -> Order:
    """Moves the order from ``start`` to ``end`` in one transaction, unless it is not at
    ``start`` any more (a step taken already); its owner is told after the commit."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status != start:
            return order
        if end in CHECKS:
            CHECKS[end](order)
        order.status = end
        order.save(update_fields=["status", "updated_at"])
        notify_user(order.user_id, order_payload(order))
    return order


def order_process(*, order_id: int) -> Order:
    """Advances the order from where it stands to done, one committed step at a time.

    Each step checks the status it starts from inside its transaction, so running this
    again (a task redelivered after a worker died) takes only the steps still to take, and
    tells the owner of each once. A refused order ends failed with the reason. Any other
    error propagates, leaving the order at its last committed step.
    """
    order = Order.objects.get(pk=order_id)
    for start, end in STEPS:
        if order.status in FINAL:
            break
        if order.status != start:
            continue
        if start != Status.PENDING:
            # The step's work: a stand-in the demo makes visible.
            time.sleep(settings.ORDER_STEP_SECONDS)
        try:
            order = _order_advance(order_id=order_id, start=start, end=end)
        except OrderRefused as refused:
            return order_fail(order_id=order_id, reason=str(refused))
    return order


def order_fail(*, order_id: int, reason: str) -> Order:
    """Ends the order failed with ``reason`` (unless it has ended) and tells its owner."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status in FINAL:
            return order
        order.status = Status.FAILED
        order.error = reason[: Order._meta.get_field("error").max_length]
        order.save(update_fields=["status", "error", "updated_at"])
        notify_user(order.user_id, order_payload(order))
    return order


def order_run(*, order_id: int) -> Order:
    """Processes the order in this process; an unexpected error ends it failed (logged)."""
    try:
        return order_process(order_id=order_id)
    except Order.DoesNotExist:
        raise
    except Exception:
        logger.exception("order %s failed while processing", order_id)
        return order_fail(order_id=order_id, reason=INTERNAL_ERROR)


def _count_placement(*, user_id: int) -> None:
    # Refusals count too: a window's counter only grows, and expires a window after it ends.
    window = current_window(settings.ORDER_RATE_WINDOW)
    key = f"order-placements:{window.number}:{int(user_id)}"
    try:
        placed = increment(key, timeout=window.retry_after + settings.ORDER_RATE_WINDOW)
    except redis.RedisError as error:
        counting_failed(error, what="order throttling is off for this order")
        return
    if placed > settings.ORDER_RATE_LIMIT:
        LIMITED.labels("orders").inc()
        raise OrdersThrottled(window.retry_after)
