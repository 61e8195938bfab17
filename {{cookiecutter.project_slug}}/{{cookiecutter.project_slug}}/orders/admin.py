"""Admin for orders."""

from django.contrib import admin

from .models import Order


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "quantity", "status", "updated_at"]
    list_filter = ["status"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
