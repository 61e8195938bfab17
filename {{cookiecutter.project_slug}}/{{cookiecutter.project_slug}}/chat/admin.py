"""Admin for rooms and messages."""

from django.contrib import admin

from .models import Message, Room


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["name", "is_private", "last_seq", "created_at"]
    list_filter = ["is_private"]
    search_fields = ["name"]
    filter_horizontal = ["members"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["room", "seq", "author", "created_at"]
    list_select_related = ["room", "author"]
    raw_id_fields = ["room", "author"]
