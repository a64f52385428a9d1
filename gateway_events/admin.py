"""Admin for received gateway events (SPEC 9): read-only, for tracing a webhook."""

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin

from .models import ReceivedEvent


@admin.register(ReceivedEvent)
class ReceivedEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["event_id", "gateway", "type", "outcome", "livemode", "received_at"]
    list_filter = ["gateway", "type", "livemode", "received_at"]
    search_fields = ["=event_id", "outcome"]
    search_help_text = "Event id, or what it did"
    date_hierarchy = "received_at"
