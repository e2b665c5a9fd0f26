"""Every webhook event there is: its one name, what it means and its payload.

The names are the outbox topics they come from (refunds.outbox): an endpoint
subscribes to some of them (`WebhookEndpoint.events`, none = all), and a name
that is not here is refused. `webhook.test` is sent only on request (the send
test event action), whatever the endpoint subscribes to.

Each payload is `{"id", "type", "timestamp", "data"}`; the serializers below
describe it. They are the schema published in the OpenAPI document's
`webhooks` section (webhooks/openapi.py) and listed at /api/v1/webhook-events/;
tests/webhooks check that what is delivered matches them.
"""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework import serializers

from refunds.statuses import CaseStatus

from .errors import WebhookError

CASE_OPENED = "case.opened"
CASE_STATUS_CHANGED = "case.status_changed"
CREDIT_NOTE_CREATED = "credit_note.created"
TEST = "webhook.test"


# ---------------------------------------------------------------- payloads

AMOUNT_HELP = 'Decimal string with the currency\'s minor digits, e.g. "18.00".'


def amount(help_text: str = AMOUNT_HELP) -> serializers.CharField:
    return serializers.CharField(help_text=help_text)


class LiabilityPayload(serializers.Serializer):
    vendor = serializers.CharField(help_text="The vendor's code.")
    refund_amount = amount()
    vendor_share = amount()
    platform_share = amount()
    commission_reversal = amount()


class CaseData(serializers.Serializer):
    case_id = serializers.CharField(help_text="e.g. RFND-20261206-ABC234.")
    sequence = serializers.IntegerField(
        min_value=1,
        help_text="The case's message number: 1 for its opening, then one more for each "
        "message about the case, in the order they were written. Order a case's "
        "events by it; numbers of events you are not subscribed to are skipped.",
    )
    order = serializers.CharField(help_text="The order's number.")
    status = serializers.ChoiceField(
        choices=CaseStatus.choices, help_text="The case's status when the message was made."
    )
    currency = serializers.CharField(help_text="ISO 4217 code.")
    total_refund_amount = amount()
    liabilities = LiabilityPayload(many=True, help_text="Each vendor's part of the refund.")


class CaseStatusChangedData(CaseData):
    from_status = serializers.ChoiceField(choices=CaseStatus.choices)
    to_status = serializers.ChoiceField(choices=CaseStatus.choices)


class CreditNotePayload(serializers.Serializer):
    number = serializers.CharField()
    issue_date = serializers.DateField()
    total_amount = amount()
    tax_amount = amount()


class CreditNoteCreatedData(CaseData):
    credit_note = CreditNotePayload(allow_null=True)


class WebhookTestData(serializers.Serializer):
    endpoint = serializers.IntegerField(help_text="The endpoint's id.")
    message = serializers.CharField()


def envelope(name: str, data: type[serializers.Serializer], component: str) -> type:
    """The payload serializer of the event `name`: the common envelope around its data."""
    fields = {
        "id": serializers.CharField(
            help_text="The message's id, also sent as the webhook-id header: the same on "
            "every retry and redelivery, so receivers deduplicate by it."
        ),
        "type": serializers.ChoiceField(choices=[name], help_text="The event's name."),
        "timestamp": serializers.DateTimeField(help_text="When the event happened (UTC)."),
        "data": data(),
    }
    return type(component, (serializers.Serializer,), fields)


# ---------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    payload: type
    subscribable: bool = True


CATALOGUE: dict[str, EventType] = {
    event.name: event
    for event in [
        EventType(
            CASE_OPENED,
            "A refund case was opened (pending), with its breakdown per vendor.",
            envelope(CASE_OPENED, CaseData, "CaseOpenedEvent"),
        ),
        EventType(
            CASE_STATUS_CHANGED,
            "A case moved from one status to another (approved, completed, closed, "
            "rejected, cancelled, disputed, or back from a dispute).",
            envelope(CASE_STATUS_CHANGED, CaseStatusChangedData, "CaseStatusChangedEvent"),
        ),
        EventType(
            CREDIT_NOTE_CREATED,
            "The credit note of a completed case was issued.",
            envelope(CREDIT_NOTE_CREATED, CreditNoteCreatedData, "CreditNoteCreatedEvent"),
        ),
        EventType(
            TEST,
            "Sent on request (POST /api/v1/webhook-endpoints/{id}/test/) to check an "
            "endpoint; never subscribed to.",
            envelope(TEST, WebhookTestData, "WebhookTestEvent"),
            subscribable=False,
        ),
    ]
}

SUBSCRIBABLE: list[str] = [e.name for e in CATALOGUE.values() if e.subscribable]


def check_subscription(events: object) -> list[str]:
    """The event names an endpoint subscribes to, each once, in the order given;
    an unknown name is refused."""
    if not isinstance(events, list | tuple) or not all(isinstance(e, str) for e in events):
        raise WebhookError("events", "A list of event names.", code="invalid")
    for index, name in enumerate(events):
        if name not in SUBSCRIBABLE:
            raise WebhookError(
                f"events[{index}]",
                f"Unknown event {name!r}; the events are {', '.join(SUBSCRIBABLE)}.",
                code="unknown_event",
            )
    return list(dict.fromkeys(events))
