"""Webhooks in the Django admin: read-only (endpoints are managed by merchant admins in
the dashboard, through the services). An endpoint's signing secrets are never shown."""

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline

from .models import Attempt, Delivery, Endpoint, Event


@admin.register(Endpoint)
class EndpointAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["url", "merchant", "disabled_at", "disabled_reason", "created_at"]
    list_filter = ["disabled_reason", "created_at"]
    search_fields = ["url", "=id", "merchant__name"]
    exclude = ["secret", "previous_secret"]


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "type", "merchant", "created_at"]
    list_filter = ["type", "created_at"]
    search_fields = ["=id", "merchant__name"]


class AttemptInline(ReadOnlyTabularInline):
    model = Attempt
    show_change_link = False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "event", "endpoint", "status", "attempts", "next_attempt_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["=id", "=event__id", "endpoint__url"]
    inlines = [AttemptInline]


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["delivery", "number", "status_code", "latency_ms", "succeeded", "started_at"]
    list_filter = ["succeeded", "started_at"]
    search_fields = ["=delivery__id", "=delivery__event__id"]
