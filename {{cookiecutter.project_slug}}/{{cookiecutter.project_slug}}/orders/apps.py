"""Orders: the article's background push, a status change told to the order's owner."""

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = __name__.rpartition(".")[0]
    label = "orders"
