"""Staff view of webhooks: endpoints (re-enable), messages, deliveries (resend) and attempts.
Secrets are never shown; rows change only through the services."""

from django.contrib import admin, messages
from django.template.response import TemplateResponse

from vod.admin_confirmation import confirmation_page, confirmed
from vod.admin_messages import already_note, counted
from vod.admin_read_only import ReadOnlyAdminMixin, ReadOnlyInline
from webhooks import services
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage

ENDPOINT_FIELDS = (
    "id",
    "owner",
    "url",
    "description",
    "event_types",
    "receive_all",
    "is_active",
    "disabled_reason",
    "disabled_at",
    "failing_since",
    "previous_secret_expires_at",
    "created_at",
    "updated_at",
)
DELIVERY_FIELDS = (
    "id",
    "endpoint",
    "message",
    "status",
    "attempts",
    "schedule_step",
    "next_attempt_at",
    "leased_until",
    "last_attempt_at",
    "last_status_code",
    "last_duration_ms",
    "last_response_excerpt",
    "last_error",
    "created_at",
)


class AttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    fields = ["number", "started_at", "status_code", "duration_ms", "succeeded", "error", "response_excerpt"]


class DeliveryInline(ReadOnlyInline):
    model = WebhookDelivery
    fields = ["endpoint", "status", "attempts", "last_status_code", "next_attempt_at", "last_error"]
    show_change_link = True


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "owner", "is_active", "disabled_reason", "receive_all", "failing_since", "created_at"]
    list_filter = ["is_active", "disabled_reason", "receive_all"]
    list_select_related = ["owner"]
    search_fields = ["url", "owner__email", "description"]
    fields = ENDPOINT_FIELDS
    readonly_fields = ENDPOINT_FIELDS
    actions = ["enable_endpoints"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        """For the action only; a row's page is view-only (owners change endpoints in the API)."""
        return obj is None and super().has_change_permission(request)

    @admin.action(description="Re-enable selected endpoints", permissions=["change"])
    def enable_endpoints(self, request, queryset) -> TemplateResponse | None:
        endpoints = list(queryset.select_related("owner"))
        if not confirmed(request):
            return confirmation_page(
                self,
                request,
                endpoints,
                action="enable_endpoints",
                title="Re-enable webhook endpoints",
                question="Turn these endpoints on again? New events go to them; failed ones come back with recover.",
                items=[f"{e.url} of {e.owner.email}" for e in endpoints],
            )
        off = [e for e in endpoints if not e.is_active]
        for endpoint in off:
            services.endpoint_enable(endpoint=endpoint)
            self.log_change(request, endpoint, "Re-enabled by staff.")
        note = already_note(len(endpoints) - len(off), "enabled")
        self.message_user(request, f"Re-enabled {counted(len(off), 'endpoint')}{note}.", messages.SUCCESS)
        return None


@admin.register(WebhookMessage)
class WebhookMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "event_type", "created_at"]
    list_filter = ["event_type"]
    date_hierarchy = "created_at"
    fields = ("id", "event_type", "created_at", "body")
    readonly_fields = fields
    inlines = [DeliveryInline]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["message", "endpoint", "status", "attempts", "last_status_code", "next_attempt_at", "created_at"]
    list_filter = ["status", "message__event_type"]
    list_select_related = ["message", "endpoint"]
    search_fields = ["endpoint__url", "endpoint__owner__email"]
    fields = DELIVERY_FIELDS
    readonly_fields = DELIVERY_FIELDS
    inlines = [AttemptInline]
    actions = ["resend_deliveries"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Resend selected deliveries", permissions=["change"])
    def resend_deliveries(self, request, queryset) -> TemplateResponse | None:
        deliveries = list(queryset.select_related("endpoint", "message"))
        if not confirmed(request):
            return confirmation_page(
                self,
                request,
                deliveries,
                action="resend_deliveries",
                title="Resend webhook deliveries",
                question="Send these events again, with their original webhook-id?",
                items=[f"{d.message.event_type} {d.message.webhook_id} to {d.endpoint.url}" for d in deliveries],
            )
        sendable = [d for d in deliveries if d.endpoint.is_active]
        for delivery in sendable:
            services.delivery_resend(delivery=delivery)
            self.log_change(request, delivery, "Resent by staff.")
        note = already_note(len(deliveries) - len(sendable), "on a disabled endpoint")
        self.message_user(request, f"Resent {counted(len(sendable), 'delivery')}{note}.", messages.SUCCESS)
        return None
