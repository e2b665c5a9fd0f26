from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from lib.admin import NoEditAdmin, add_domain_error

from . import catalogue, services, targets
from .errors import WebhookError
from .models import DeliveryStatus, WebhookDelivery, WebhookEndpoint


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=[(name, name) for name in catalogue.SUBSCRIBABLE],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event, also those added later.",
    )

    # Not the model's field: enabling and disabling are the services' (they
    # record when and why), never a bare flip of the flag.
    is_active = forms.BooleanField(required=False, initial=True)

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "events")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["is_active"].initial = self.instance.is_active

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.errors:
            try:
                targets.check_url(data["url"])
                catalogue.check_subscription(data.get("events") or [])
            except WebhookError as error:
                add_domain_error(self, error, error.field.split("[")[0])
        return data


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Changes go through webhooks.services, as the API's do; the secret is shown
    once, when the endpoint is added (rotate it over the API)."""

    form = WebhookEndpointForm
    list_display = ["url", "events", "is_active", "disabled_reason", "created_at"]
    list_filter = ["is_active", "disabled_reason"]
    readonly_fields = [
        "disabled_at",
        "disabled_reason",
        "failures_in_a_row",
        "previous_secret_expires_at",
        "created_at",
    ]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            services.update_endpoint(
                endpoint=obj,
                url=data["url"],
                events=data["events"],
                description=data["description"],
                is_active=data["is_active"],
            )
            obj.refresh_from_db()
            return
        created = services.create_endpoint(
            url=data["url"],
            events=data["events"],
            description=data["description"],
            actor=request.user,
        )
        if not data["is_active"]:
            services.disable_endpoint(endpoint=created)
        obj.pk = created.pk
        obj.refresh_from_db()
        messages.warning(
            request,
            f"The endpoint's signing secret, shown only now: {created.secret}",
        )


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
        count = 0
        for delivery in queryset.exclude(status=DeliveryStatus.DELIVERED).select_related(
            "endpoint"
        ):
            try:
                services.redeliver(delivery=delivery)
            except WebhookError:
                continue  # its endpoint is disabled
            count += 1
        noun = "delivery" if count == 1 else "deliveries"
        self.message_user(request, f"{count} {noun} will be retried now.")
