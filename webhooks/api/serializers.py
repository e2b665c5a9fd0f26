"""Webhook endpoints, their deliveries and the event catalogue, as the API shows them."""

from rest_framework import serializers

from lib.api_fields import HttpUrlField, JSONBooleanField, TextField, WholeNumberField

from .. import catalogue
from ..models import DisabledReason, WebhookDelivery, WebhookEndpoint


def event_names(**kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=catalogue.SUBSCRIBABLE),
        help_text="The events to send (names from /api/v1/webhook-events/); empty: all of "
        "them, also those added later.",
        **kwargs,
    )


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = event_names(read_only=True)
    disabled_reason = serializers.ChoiceField(
        choices=DisabledReason.choices,
        allow_blank=True,
        read_only=True,
        help_text="Why it is disabled: `staff`, or `failing` (after "
        "WEBHOOK_DISABLE_AFTER_FAILURES deliveries failed in a row); empty while active.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "events",
            "is_active",
            "disabled_at",
            "disabled_reason",
            "failures_in_a_row",
            "previous_secret_expires_at",
            "created_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "previous_secret_expires_at": {
                "help_text": "Until then the secret replaced by the last rotation signs too."
            },
        }


class WebhookEndpointSecretSerializer(WebhookEndpointSerializer):
    """Only in the answers to create and rotate: the secret is never shown again."""

    secret = serializers.CharField(
        read_only=True,
        help_text="`whsec_` and the base64 of the signing key (Standard Webhooks). Shown "
        "only in this answer: keep it.",
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointCreateSerializer(serializers.Serializer):
    url = HttpUrlField(
        help_text="http or https; not on a loopback, private or link-local address.",
    )
    description = TextField(max_length=200, required=False, allow_blank=True, default="")
    events = event_names(required=False, default=list)


class WebhookEndpointUpdateSerializer(serializers.Serializer):
    url = HttpUrlField(required=False)
    description = TextField(max_length=200, required=False, allow_blank=True)
    events = event_names(required=False)
    is_active = JSONBooleanField(
        required=False,
        help_text="true enables a disabled endpoint (its count of failures starts afresh).",
    )


class RotateSerializer(serializers.Serializer):
    overlap_seconds = WholeNumberField(
        required=False,
        min_value=0,
        max_value=7 * 86400,
        help_text="How long the current secret keeps signing beside the new one "
        "(default WEBHOOK_SECRET_OVERLAP_SECONDS, a day); 0 drops it at once.",
    )


class WebhookDeliverySerializer(serializers.ModelSerializer):
    message_id = serializers.CharField(
        read_only=True, help_text="The webhook-id header: the same on every attempt."
    )
    last_status = serializers.IntegerField(
        source="response_status",
        read_only=True,
        allow_null=True,
        help_text="The HTTP status of the last attempt (null: no answer).",
    )
    last_error = serializers.CharField(
        source="error", read_only=True, help_text="Why the last attempt got no answer."
    )
    last_response = serializers.CharField(
        source="response_body",
        read_only=True,
        help_text="The first 4000 characters of the last answer.",
    )
    payload = serializers.JSONField(read_only=True, help_text="The body sent, as JSON.")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event_type",
            "message_id",
            "status",
            "attempts",
            "last_status",
            "last_error",
            "last_response",
            "last_attempt_at",
            "next_attempt_at",
            "delivered_at",
            "created_at",
            "payload",
        ]
        read_only_fields = fields


class WebhookEventSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    subscribable = serializers.BooleanField(
        help_text="false: sent only on request (the test event), never subscribed to."
    )
    schema = serializers.CharField(
        help_text="Where the payload's schema is: a JSON pointer into /api/schema/."
    )
