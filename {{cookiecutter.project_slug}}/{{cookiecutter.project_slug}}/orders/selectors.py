"""Reading orders: a user sees their own, never anyone else's."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet

from .models import Order

ORDER_LIST_LENGTH = 50


def order_list(*, user: AbstractBaseUser) -> QuerySet[Order]:
    """Returns the user's latest orders, newest first."""
    return Order.objects.filter(user=user)[:ORDER_LIST_LENGTH]


def order_get(*, user: AbstractBaseUser, order_id: int) -> Order:
    """Returns the user's order ``order_id``; raises Order.DoesNotExist for another's."""
    return Order.objects.get(pk=order_id, user=user)
