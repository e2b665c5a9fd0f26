"""Serializers of the integrator API. Input serializers check shape only; the
rules (and their field-named errors) live in the services."""

import re

from rest_framework import serializers

from lib.api_fields import (
    AMOUNT_PATTERN,
    ID_MAXIMUM,
    JSONBooleanField,
    RateOutputField,
    TextField,
    WholeNumberField,
    related,
)
from lib.money import CURRENCY_CHOICES, ZERO, format_amount

from ..models import (
    REASON_POLICY_FIELDS,
    Attachment,
    CaseEvent,
    EventChannel,
    Order,
    OrderLine,
    Payment,
    PaymentMethod,
    ReasonPolicy,
    RefundCase,
    RefundLine,
    RefundLineKind,
    VendorLiability,
)
from ..selectors import LIABILITY_AMOUNTS
from ..visibility import STAFF_LABEL, is_staff_actor
from .fields import AmountField, MoneyField, RateField

REASON_HELP = "A reason code: one of GET /api/v1/reasons/ (the reasons are data, kept by staff)."
VENDOR_HELP = "A vendor's code."


# ---------------------------------------------------------------- orders


class ChannelSerializer(serializers.Serializer):
    source = TextField(max_length=50, help_text="Where the order was placed, e.g. web.")
    subsource = TextField(max_length=100, required=False, allow_blank=True, default="")


class PaymentSerializer(serializers.ModelSerializer):
    amount = MoneyField(currency="order.currency")

    class Meta:
        model = Payment
        fields = ["method", "amount", "reference", "captured_at"]


class OrderLineSerializer(serializers.ModelSerializer):
    vendor = serializers.CharField(source="vendor.code", read_only=True)
    unit_price = MoneyField(currency="order.currency")
    tax_rate = RateOutputField()
    commission_rate = RateOutputField()
    net = MoneyField(amount="net_amount", currency="order.currency")
    tax = MoneyField(amount="tax_amount", currency="order.currency")
    gross = MoneyField(amount="gross_amount", currency="order.currency")
    commission = MoneyField(amount="commission_amount", currency="order.currency")
    refunded_gross = MoneyField(currency="order.currency")

    class Meta:
        model = OrderLine
        fields = [
            "id",
            "vendor",
            "sku",
            "description",
            "quantity",
            "unit_price",
            "tax_rate",
            "commission_rate",
            "net",
            "tax",
            "gross",
            "commission",
            "refunded_quantity",
            "refunded_gross",
        ]


class OrderSerializer(serializers.ModelSerializer):
    """An order. A vendor user sees its own lines only, and amounts of those
    lines only: net, tax, total, captured and refunded of its lines, no
    shipping and no payments (they would tell what the other vendors sold)."""

    channel = ChannelSerializer(read_only=True)
    shipping_amount = MoneyField()
    net_amount = MoneyField()
    tax_amount = MoneyField()
    total_amount = MoneyField()
    captured_amount = MoneyField()
    refunded_amount = MoneyField()
    payment = serializers.SerializerMethodField()
    payments = PaymentSerializer(many=True, read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "number",
            "currency",
            "channel",
            "customer_name",
            "customer_email",
            "customer_address",
            "placed_at",
            "shipping_amount",
            "net_amount",
            "tax_amount",
            "total_amount",
            "captured_amount",
            "refunded_amount",
            "payment",
            "payments",
            "lines",
        ]

    def get_payment(self, order) -> dict | None:
        payments = list(order.payments.all())
        return PaymentSerializer(payments[0]).data if payments else None

    def to_representation(self, order: Order) -> dict:
        data = super().to_representation(order)
        if self.context.get("vendor_view"):
            lines = list(order.lines.all())  # already only the caller's vendors' lines
            net = sum((line.net_amount for line in lines), ZERO)
            tax = sum((line.tax_amount for line in lines), ZERO)
            refunded = sum((line.refunded_net + line.refunded_tax for line in lines), ZERO)
            currency = order.currency
            data.update(
                shipping_amount=format_amount(ZERO, currency),
                net_amount=format_amount(net, currency),
                tax_amount=format_amount(tax, currency),
                total_amount=format_amount(net + tax, currency),
                captured_amount=format_amount(net + tax, currency),
                refunded_amount=format_amount(refunded, currency),
                payment=None,
                payments=[],
            )
        return data


class PaymentInputSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    amount = AmountField(help_text="What was captured; payments add up to the order's total.")
    reference = TextField(max_length=128, required=False, allow_blank=True, default="")


class OrderLineInputSerializer(serializers.Serializer):
    vendor = TextField(max_length=32, help_text=VENDOR_HELP)
    sku = TextField(max_length=64)
    description = TextField(max_length=300, required=False, allow_blank=True, default="")
    quantity = WholeNumberField(min_value=1, max_value=1_000_000_000)
    unit_price = AmountField(help_text="Net price of one unit, before tax.")
    tax_rate = RateField(required=False, default="0")


class OrderCreateSerializer(serializers.Serializer):
    number = TextField(max_length=64, help_text="The shop's order number, unique.")
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES)
    channel = ChannelSerializer()
    payment = PaymentInputSerializer()
    shipping_amount = AmountField(required=False, default="0")
    customer_name = TextField(max_length=200, required=False, allow_blank=True, default="")
    # No default: a blank default is not an e-mail address (the schema would not validate).
    customer_email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    customer_address = TextField(max_length=500, required=False, allow_blank=True, default="")
    placed_at = serializers.DateTimeField(required=False)
    lines = OrderLineInputSerializer(many=True, allow_empty=False, max_length=500)


# ---------------------------------------------------------------- cases


class RefundLineSerializer(serializers.ModelSerializer):
    order_line = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    sku = serializers.CharField(source="order_line.sku", read_only=True, default="")
    vendor = related("vendor.code")
    reason = serializers.CharField(source="reason.code", read_only=True)
    net = MoneyField(amount="net_amount", currency="case.currency")
    tax = MoneyField(amount="tax_amount", currency="case.currency")
    shipping = MoneyField(amount="shipping_amount", currency="case.currency")
    gross = MoneyField(amount="gross_amount", currency="case.currency")
    policy_version = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="The version of the reason policy that priced the line (null: priced before "
        "versions were kept); the policy's history in the admin shows its terms.",
    )

    class Meta:
        model = RefundLine
        fields = [
            "id",
            "kind",
            "order_line",
            "sku",
            "vendor",
            "quantity",
            "net",
            "tax",
            "shipping",
            "gross",
            "reason",
            "policy_version",
        ]


class LiabilitySerializer(serializers.ModelSerializer):
    vendor = serializers.CharField(source="vendor.code", read_only=True)
    refund_amount = MoneyField(currency="case.currency")
    net_amount = MoneyField(currency="case.currency")
    tax_amount = MoneyField(currency="case.currency")
    shipping_amount = MoneyField(currency="case.currency")
    vendor_share = MoneyField(currency="case.currency")
    platform_share = MoneyField(currency="case.currency")
    commission_reversal = MoneyField(currency="case.currency")

    class Meta:
        model = VendorLiability
        fields = ["vendor", *LIABILITY_AMOUNTS, "overridden", "acknowledged_at"]


class EventSerializer(serializers.ModelSerializer):
    actor = related("actor.username")
    vendor = related("vendor.code")

    class Meta:
        model = CaseEvent
        fields = [
            "id",
            "kind",
            "from_status",
            "to_status",
            "actor",
            "vendor",
            "channel",
            "text",
            "internal",
            "created_at",
        ]


class AttachmentSerializer(serializers.ModelSerializer):
    internal = serializers.SerializerMethodField(
        help_text="Staff only: never shown to vendors (their answers leave it out)."
    )

    class Meta:
        model = Attachment
        fields = ["id", "filename", "content_type", "size", "internal", "created_at"]

    def get_internal(self, attachment: Attachment) -> bool:
        return attachment.event is not None and attachment.event.internal


class RefundCaseSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number", read_only=True)
    owner = related("owner.username")
    total_refund_amount = MoneyField()
    shipping_refund_amount = MoneyField()
    lines = RefundLineSerializer(many=True, read_only=True)
    liabilities = LiabilitySerializer(many=True, read_only=True)
    events = EventSerializer(many=True, read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = RefundCase
        fields = [
            "case_id",
            "order",
            "status",
            "status_before_dispute",
            "currency",
            "total_refund_amount",
            "shipping_refund_amount",
            "owner",
            "gateway_reference",
            "note",
            "initiated_at",
            "approved_at",
            "completed_at",
            "closed_at",
            "lines",
            "liabilities",
            "events",
            "attachments",
        ]

    def to_representation(self, case: RefundCase) -> dict:
        data = super().to_representation(case)
        # A vendor user's totals are those of its own part (refunds.selectors.cases_for).
        if getattr(case, "visible_total_refund_amount", None) is not None:
            data["total_refund_amount"] = format_amount(
                case.visible_total_refund_amount, case.currency
            )
            data["shipping_refund_amount"] = format_amount(
                case.visible_shipping_refund_amount, case.currency
            )
            # Staff stay anonymous to vendors (refunds.visibility.author_label).
            if case.owner_id is not None:
                data["owner"] = STAFF_LABEL
            for row, event in zip(data["events"], case.events.all(), strict=True):
                if is_staff_actor(event.actor):
                    row["actor"] = STAFF_LABEL
        return data


class RefundLineInputSerializer(serializers.Serializer):
    order_line = WholeNumberField(min_value=1, help_text="The id of a line of the order.")
    quantity = WholeNumberField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=1_000_000_000,
        help_text="Units to refund; give this or `amount`.",
    )
    amount = AmountField(
        required=False, allow_null=True, help_text="Gross amount to refund; or `quantity`."
    )
    reason = TextField(max_length=40, help_text=REASON_HELP)


class RefundCaseCreateSerializer(serializers.Serializer):
    order = TextField(max_length=64, help_text="Order number.")
    lines = RefundLineInputSerializer(many=True, required=False, default=list, max_length=500)
    shipping_amount = AmountField(required=False, allow_null=True)
    shipping_reason = TextField(
        required=False, allow_null=True, max_length=40, help_text=REASON_HELP
    )
    note = TextField(required=False, allow_blank=True, default="", max_length=5000)


# What RefundCaseCreateSerializer reads from a body and from each of its lines.
# The limits the fast path checks are read from the serializers' own fields, so
# the two cannot disagree when a field changes.
_CASE_FIELDS = RefundCaseCreateSerializer._declared_fields
_LINE_FIELDS = RefundLineInputSerializer._declared_fields
_CASE_KEYS = frozenset(_CASE_FIELDS)
_LINE_KEYS = frozenset(_LINE_FIELDS)
_ORDER_MAX = _CASE_FIELDS["order"].max_length
_LINES_MAX = _CASE_FIELDS["lines"].max_length
_NOTE_MAX = _CASE_FIELDS["note"].max_length
_SHIPPING_REASON_MAX = _CASE_FIELDS["shipping_reason"].max_length
_REASON_MAX = _LINE_FIELDS["reason"].max_length
_QUANTITY_MAX = _LINE_FIELDS["quantity"].max_value
_AMOUNT = re.compile(AMOUNT_PATTERN.removeprefix("^").removesuffix("$"))


def _plain_text(value, max_length: int, *, allow_blank: bool = False) -> str | None:
    """`value` as TextField(max_length) validates it, for printable ASCII; None
    for anything else (the serializer decides then). DRF trims it, refuses it
    blank, too long, with NUL or surrogate characters."""
    if type(value) is not str or not value.isascii() or not value.isprintable():
        return None
    text = value.strip()
    if (not text and not allow_blank) or len(text) > max_length:
        return None
    return text


def _whole(value, maximum: int = ID_MAXIMUM) -> int | None:
    """`value` as WholeNumberField(min_value=1) takes a JSON integer up to
    `maximum`; None for anything else (a float, a bool, a string, out of range)."""
    if type(value) is not int or not 1 <= value <= maximum:
        return None
    return value


def _fast_case_request(data) -> dict | None:
    """RefundCaseCreateSerializer's validated data for a body of the usual shape
    (known keys only, 1 to the serializer's most lines, plain ASCII text, integers, null or
    well-formed amounts), built without instantiating the serializer and its
    fields; None for any other body, valid or not, which the serializer then
    validates and, if need be, refuses with its own errors. Every value given
    here is what the serializer gives for the same body (tests/api/
    test_case_request.py compares them)."""
    if type(data) is not dict or not data.keys() <= _CASE_KEYS:
        return None
    order = _plain_text(data.get("order"), _ORDER_MAX)
    lines = data.get("lines")
    if order is None or type(lines) is not list or not 1 <= len(lines) <= _LINES_MAX:
        return None
    validated: dict = {"order": order, "lines": []}
    for line in lines:
        if type(line) is not dict or not line.keys() <= _LINE_KEYS:
            return None
        order_line = _whole(line.get("order_line"))
        reason = _plain_text(line.get("reason"), _REASON_MAX)
        if order_line is None or reason is None:
            return None
        row: dict = {"order_line": order_line}
        if "quantity" in line:
            quantity = line["quantity"]
            if quantity is not None and _whole(quantity, _QUANTITY_MAX) is None:
                return None
            row["quantity"] = quantity
        if "amount" in line:
            amount = line["amount"]
            if amount is not None and (type(amount) is not str or not _AMOUNT.fullmatch(amount)):
                return None
            row["amount"] = amount
        row["reason"] = reason
        validated["lines"].append(row)
    if "shipping_amount" in data:
        amount = data["shipping_amount"]
        if amount is not None and (type(amount) is not str or not _AMOUNT.fullmatch(amount)):
            return None
        validated["shipping_amount"] = amount
    if "shipping_reason" in data:
        reason = data["shipping_reason"]
        if reason is not None and (reason := _plain_text(reason, _SHIPPING_REASON_MAX)) is None:
            return None
        validated["shipping_reason"] = reason
    note = _plain_text(data.get("note", ""), _NOTE_MAX, allow_blank=True)
    if note is None:
        return None
    validated["note"] = note
    return validated


def case_request(data) -> dict:
    """The validated body of a case creation or preview: what
    RefundCaseCreateSerializer(data=data).validated_data is, or its
    ValidationError. The usual body is checked by hand (_fast_case_request):
    building the serializer's fields for each request cost more than the rest
    of the request's Python outside the service."""
    validated = _fast_case_request(data)
    if validated is not None:
        return validated
    serializer = RefundCaseCreateSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class RefundableLineSerializer(serializers.Serializer):
    order_line = serializers.IntegerField()
    sku = serializers.CharField()
    quantity = serializers.IntegerField(help_text="Units not yet refunded (open cases count).")
    amount = serializers.CharField(help_text="Gross not yet refunded (open cases count).")


class RefundableSerializer(serializers.Serializer):
    order = serializers.CharField(help_text="Captured and not yet refunded (open cases count).")
    shipping = serializers.CharField(help_text="Shipping not yet refunded.")
    lines = RefundableLineSerializer(many=True)


class PreviewLineSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RefundLineKind.choices)
    order_line = serializers.IntegerField(allow_null=True)
    quantity = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    net = serializers.CharField()
    tax = serializers.CharField()
    shipping = serializers.CharField()
    gross = serializers.CharField()


class PreviewLiabilitySerializer(serializers.Serializer):
    vendor = serializers.CharField()
    refund_amount = serializers.CharField()
    net_amount = serializers.CharField()
    tax_amount = serializers.CharField()
    shipping_amount = serializers.CharField()
    vendor_share = serializers.CharField()
    platform_share = serializers.CharField()
    commission_reversal = serializers.CharField()


class PreviewSerializer(serializers.Serializer):
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES)
    total_refund_amount = serializers.CharField()
    lines = PreviewLineSerializer(many=True)
    liabilities = PreviewLiabilitySerializer(many=True)
    refundable = RefundableSerializer()


class NoteSerializer(serializers.Serializer):
    note = TextField(required=False, allow_blank=True, default="", max_length=5000)


class CompleteSerializer(NoteSerializer):
    gateway_reference = TextField(
        required=False,
        allow_blank=True,
        default="",
        max_length=128,
        help_text="The payment gateway's refund reference.",
    )


class ReasonTextSerializer(serializers.Serializer):
    reason = TextField(max_length=2000, help_text="Why, in words.")


class DisputeSerializer(serializers.Serializer):
    vendor = TextField(max_length=32, help_text="The vendor disputing its part.")
    message = TextField(max_length=5000)


class DisputeUploadSerializer(serializers.Serializer):
    """The dispute with evidence (multipart): the files land with it or not at all."""

    vendor = TextField(max_length=32, help_text="The vendor disputing its part.")
    message = TextField(max_length=5000)
    files = serializers.ListField(
        child=serializers.FileField(), required=False, default=list, max_length=5
    )


class AcknowledgeSerializer(serializers.Serializer):
    vendor = TextField(max_length=32, help_text="The vendor accepting its part.")
    message = TextField(required=False, allow_blank=True, default="", max_length=5000)


class ShareSerializer(serializers.Serializer):
    vendor = TextField(max_length=32, help_text=VENDOR_HELP)
    vendor_share = AmountField()
    platform_share = AmountField()
    commission_reversal = AmountField(required=False, default="0")


class ResolveSerializer(serializers.Serializer):
    message = TextField(max_length=5000)
    liabilities = ShareSerializer(
        many=True,
        required=False,
        max_length=100,
        help_text="New shares per vendor; each must add up to the vendor's net and shipping.",
    )


INTERNAL_HELP = "Staff only: vendors never see it (portal, API, email). Default false."


class CaseNoteSerializer(serializers.Serializer):
    text = TextField(max_length=10000)
    channel = serializers.ChoiceField(
        choices=EventChannel.choices,
        required=False,
        default=EventChannel.API,
        help_text="Where the communication happened.",
    )
    internal = JSONBooleanField(required=False, default=False, help_text=INTERNAL_HELP)


class AttachmentUploadSerializer(serializers.Serializer):
    """Multipart: every value is text, so `internal` is "true" or "false"."""

    file = serializers.FileField()
    vendor = TextField(
        max_length=32,
        required=False,
        allow_blank=True,
        default="",
        help_text="The vendor the file is evidence for: required for vendor users.",
    )
    note = TextField(required=False, allow_blank=True, default="", max_length=5000)
    internal = serializers.BooleanField(required=False, default=False, help_text=INTERNAL_HELP)


class ReasonSerializer(serializers.ModelSerializer):
    vendor_share_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, coerce_to_string=True, read_only=True
    )

    class Meta:
        model = ReasonPolicy
        fields = list(REASON_POLICY_FIELDS)


# ---------------------------------------------------------------- case detail, fast

# A case read renders plain rows (refunds.selectors.case_rows) with these
# functions instead of RefundCaseSerializer over model instances: the same JSON
# (tests/api/test_api_queries.py compares the two on every kind of
# case), at a fraction of the CPU. RefundCaseSerializer stays the reference, and
# what lists and the schema use. DRF's own fields format what is not a string.
_DATETIME = serializers.DateTimeField(read_only=True)


def _when(value):
    return None if value is None else _DATETIME.to_representation(value)


def _money(value, currency: str) -> str:
    return format_amount(value, currency)


def case_detail_data(rows) -> dict:
    """RefundCaseSerializer's output, from a refunds.selectors.CaseRows."""
    case = rows.case
    currency = case["currency"]
    return {
        "case_id": case["case_id"],
        "order": case["order_number"],
        "status": case["status"],
        "status_before_dispute": case["status_before_dispute"],
        "currency": currency,
        "total_refund_amount": _money(case["total_refund_amount"], currency),
        "shipping_refund_amount": _money(case["shipping_refund_amount"], currency),
        "owner": case["owner_username"],
        "gateway_reference": case["gateway_reference"],
        "note": case["note"],
        "initiated_at": _when(case["initiated_at"]),
        "approved_at": _when(case["approved_at"]),
        "completed_at": _when(case["completed_at"]),
        "closed_at": _when(case["closed_at"]),
        "lines": [
            {
                "id": line["id"],
                "kind": line["kind"],
                "order_line": line["order_line_id"],
                "sku": "" if line["sku"] is None else line["sku"],
                "vendor": line["vendor_code"],
                "quantity": line["quantity"],
                "net": _money(line["net_amount"], currency),
                "tax": _money(line["tax_amount"], currency),
                "shipping": _money(line["shipping_amount"], currency),
                "gross": _money(line["gross_amount"], currency),
                "reason": line["reason_code"],
                "policy_version": line["policy_version"],
            }
            for line in rows.lines
        ],
        "liabilities": [
            {
                "vendor": row["vendor_code"],
                **{name: _money(row[name], currency) for name in LIABILITY_AMOUNTS},
                "overridden": row["overridden"],
                "acknowledged_at": _when(row["acknowledged_at"]),
            }
            for row in rows.liabilities
        ],
        "events": [
            {
                "id": event["id"],
                "kind": event["kind"],
                "from_status": event["from_status"],
                "to_status": event["to_status"],
                "actor": event["actor_username"],
                "vendor": event["vendor_code"],
                "channel": event["channel"],
                "text": event["text"],
                "internal": event["internal"],
                "created_at": _when(event["created_at"]),
            }
            for event in rows.events
        ],
        "attachments": [
            {
                "id": attachment["id"],
                "filename": attachment["filename"],
                "content_type": attachment["content_type"],
                "size": attachment["size"],
                "internal": bool(attachment["internal"]),
                "created_at": _when(attachment["created_at"]),
            }
            for attachment in rows.attachments
        ],
    }
