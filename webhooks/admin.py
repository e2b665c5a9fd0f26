from django.contrib import admin
from django.utils import timezone

from lib.admin import NoEditAdmin

from .models import DeliveryStatus, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "events", "is_active", "created_at"]
    list_filter = ["is_active"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(NoEditAdmin):
    list_display = [
        "id",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "response_status",
        "last_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "event_type"]
    search_fields = ["event_key", "endpoint__url"]
    list_select_related = ["endpoint"]
    show_full_result_count = False
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["retry_now"]

    @admin.action(description="Retry the selected failed or pending deliveries now")
    def retry_now(self, request, queryset):
        count = queryset.exclude(status=DeliveryStatus.DELIVERED).update(
            status=DeliveryStatus.PENDING, next_attempt_at=timezone.now()
        )
        noun = "delivery" if count == 1 else "deliveries"
        self.message_user(request, f"{count} {noun} will be retried within a minute.")
