"""The integrator API for orders, refund cases and reasons: parse, call the
service, render. Scoping is in refunds.selectors; rules in refunds.services."""

from decimal import Decimal

from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.settings import api_settings

from lib.api_views import ReadOnlyViewSet, described
from lib.money import format_amount
from vendors.api.permissions import ApiAccess, change, read, reads
from vendors.models import Vendor
from vendors.permissions import VendorAction, vendors_allowing
from vendors.selectors import is_finance_staff, visible_vendor_ids

from ..errors import RefundError
from ..models import Order, ReasonPolicy, RefundCase
from ..selectors import case_rows, case_scope, cases_for, opened_case_rows, orders_for
from ..services import cases as case_services
from ..services import transitions
from ..services.cases import LineRequest, ShareOverride
from ..services.orders import OrderLineRequest, PaymentRequest, create_order
from . import serializers as s
from .filters import OrderFilter, RefundCaseFilter


@described(
    list="Orders, newest first. A vendor user sees the orders with its lines, and "
    "of them only its own lines and amounts.",
    retrieve="One order by its number: lines, payments, what is refunded so far.",
)
class OrderViewSet(ReadOnlyViewSet):
    serializer_class = s.OrderSerializer
    lookup_field = "number"
    lookup_value_regex = "[^/]+"
    permission_classes = [ApiAccess]
    access = {
        **reads("refunds.view_order"),
        "create": change("refunds.add_order"),
    }
    filterset_class = OrderFilter

    def get_queryset(self):
        return orders_for(self.request.user)

    def get_serializer_context(self):
        vendor_view = visible_vendor_ids(self.request.user) is not None
        return {**super().get_serializer_context(), "vendor_view": vendor_view}

    @extend_schema(
        description="Record a paid order: its lines (each sold by a vendor, priced net with a "
        "tax rate) and the captured payment, which must equal the total (net + tax + "
        "shipping). Posts the sale to the ledger.",
        request=s.OrderCreateSerializer,
        responses={201: s.OrderSerializer},
    )
    def create(self, request):
        data = s.OrderCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        order = create_order(
            number=v["number"],
            currency=v["currency"],
            source=v["channel"]["source"],
            subsource=v["channel"].get("subsource", ""),
            shipping_amount=v["shipping_amount"],
            customer_name=v["customer_name"],
            customer_email=v.get("customer_email", ""),
            customer_address=v["customer_address"],
            placed_at=v.get("placed_at"),
            lines=[OrderLineRequest(**line) for line in v["lines"]],
            payments=[PaymentRequest(**v["payment"])],
        )
        return Response(
            s.OrderSerializer(self.get_queryset().get(pk=order.pk)).data,
            status=status.HTTP_201_CREATED,
        )


def _case_kwargs(validated: dict, user, *, by_number: bool = False) -> dict:
    """open_case's arguments. With `by_number`, a caller who sees every order
    names it by number, and open_case finds it as it locks it (one query less);
    it answers a missing order with the same error."""
    if by_number and visible_vendor_ids(user) is None:
        order = {"order_number": validated["order"]}
    else:
        order_id = (
            orders_for(user).filter(number=validated["order"]).values_list("pk", flat=True).first()
        )
        if order_id is None:
            raise RefundError("order", f"Order {validated['order']!r} does not exist.", "not_found")
        order = {"order": order_id}
    return {
        **order,
        "lines": [
            LineRequest(
                order_line_id=line["order_line"],
                reason=line["reason"],
                quantity=line.get("quantity"),
                amount=line.get("amount"),
            )
            for line in validated["lines"]
        ],
        "shipping_amount": validated.get("shipping_amount"),
        "shipping_reason": validated.get("shipping_reason"),
    }


@described(
    list="Refund cases, newest first, with their lines, per-vendor liabilities, "
    "events and attachments. A vendor user sees the cases that touch its vendors, and "
    "of them its own part.",
)
class RefundCaseViewSet(ReadOnlyViewSet):
    serializer_class = s.RefundCaseSerializer
    lookup_field = "case_id"
    lookup_value_regex = "[^/]+"
    permission_classes = [ApiAccess]
    filterset_class = RefundCaseFilter
    access = {
        **reads("refunds.view_refundcase"),
        "create": change("refunds.add_refundcase"),
        "preview": change("refunds.add_refundcase"),
        "approve": change("refunds.change_refundcase"),
        "complete": change("refunds.change_refundcase"),
        "reject": change("refunds.change_refundcase"),
        "cancel": change("refunds.change_refundcase"),
        "resolve": change("refunds.change_refundcase"),
        "notes": change("refunds.change_refundcase"),
        # What a vendor may answer: its role's actions (vendors.permissions), for its part.
        "acknowledge": change("refunds.change_refundcase", vendor=VendorAction.ACKNOWLEDGE),
        "dispute": change("refunds.change_refundcase", vendor=VendorAction.DISPUTE),
        "attachments": change("refunds.change_refundcase", vendor=VendorAction.ATTACH),
    }

    def get_queryset(self):
        return cases_for(self.request.user)

    @extend_schema(description="One refund case by its ID (RFND-YYYYMMDD-XXXXXX).")
    def retrieve(self, request, case_id=None):
        # Plain rows rendered by hand (s.case_detail_data): the JSON of
        # RefundCaseSerializer without building model instances. The filter
        # backends apply to a detail as in DRF's get_object; with no query
        # parameters they filter nothing, so they are skipped then.
        cases = case_scope(request.user)
        if request.query_params:
            cases = self.filter_queryset(cases)
        rows = case_rows(request.user, cases, case_id=case_id)
        if rows is None:
            raise Http404
        return Response(s.case_detail_data(rows))

    def _render(self, case, code=status.HTTP_200_OK) -> Response:
        rows = case_rows(self.request.user, pk=case.pk)
        if rows is None:
            raise RefundCase.DoesNotExist
        return Response(s.case_detail_data(rows), status=code)

    @extend_schema(
        description="Open a refund case on an order: lines by quantity or gross amount, each "
        "with a reason, and optionally shipping. Priced by the reasons' policies and split "
        "per vendor; refused whole (409 `over_refund`) if anything exceeds what remains.",
        request=s.RefundCaseCreateSerializer,
        responses={201: s.RefundCaseSerializer},
    )
    def create(self, request):
        validated = s.case_request(request.data)
        case = case_services.open_case(
            **_case_kwargs(validated, request.user, by_number=True),
            note=validated["note"],
            actor=request.user,
            channel="api",
        )
        if visible_vendor_ids(request.user) is None:
            # What open_case wrote is what a read would find: render it, and
            # read only the vendors' codes.
            rows = opened_case_rows(case)
            return Response(s.case_detail_data(rows), status=status.HTTP_201_CREATED)
        return self._render(case, status.HTTP_201_CREATED)

    @extend_schema(
        description="Price a refund exactly as creating it would, and write nothing; also "
        "shows what of the order remains refundable.",
        request=s.RefundCaseCreateSerializer,
        responses={200: s.PreviewSerializer},
    )
    @action(detail=False, methods=["post"])
    def preview(self, request):
        kwargs = _case_kwargs(s.case_request(request.data), request.user)
        pieces, liabilities = case_services.preview_case(**kwargs)
        order = Order.objects.prefetch_related("lines").get(pk=kwargs["order"])
        currency = order.currency
        vendors = dict(
            Vendor.objects.filter(pk__in={row.vendor_id for row in liabilities}).values_list(
                "pk", "code"
            )
        )

        def money(amount: Decimal) -> str:
            return format_amount(amount, currency)

        return Response(
            {
                "currency": currency,
                "total_refund_amount": money(sum((p.gross for p in pieces), Decimal(0))),
                "lines": [
                    {
                        "kind": p.kind,
                        "order_line": p.order_line.pk if p.order_line else None,
                        "quantity": p.quantity,
                        "reason": p.reason.code,
                        "net": money(p.net),
                        "tax": money(p.tax),
                        "shipping": money(p.shipping),
                        "gross": money(p.gross),
                    }
                    for p in pieces
                ],
                "liabilities": [
                    {
                        "vendor": vendors[row.vendor_id],
                        **{name: money(getattr(row, name)) for name in s.LIABILITY_AMOUNTS},
                    }
                    for row in liabilities
                ],
                "refundable": {
                    "order": money(order.captured_amount - order.refunded_amount),
                    "shipping": money(order.shipping_amount - order.refunded_shipping),
                    "lines": [
                        {
                            "order_line": line.pk,
                            "sku": line.sku,
                            "quantity": line.quantity - line.refunded_quantity,
                            "amount": money(line.gross_amount - line.refunded_gross),
                        }
                        for line in order.lines.all()
                    ],
                },
            }
        )

    def _case(self):
        return self.get_object()

    def _move(self, request, serializer_class, service, field: str) -> Response:
        """A status move that takes one text (`note` or `reason`) from the body."""
        data = serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        text = data.validated_data[field]
        return self._render(service(case=self._case(), actor=request.user, **{field: text}))

    def _acting_vendor(self, code: str | None, action: VendorAction) -> Vendor | None:
        """The vendor named in the body, if the caller may do `action` for it: staff
        for any vendor, a vendor user for those its role allows (vendors.permissions)."""
        if not code:
            return None
        vendors = Vendor.objects.filter(code=code)
        if not is_finance_staff(self.request.user):
            vendors = vendors.filter(pk__in=vendors_allowing(self.request.user, action))
        vendor = vendors.first()
        if vendor is None:
            raise RefundError("vendor", "Unknown vendor, or not one you act for.", "not_found")
        return vendor

    @extend_schema(
        description="Approve a pending case (409 `invalid_transition` from any other status).",
        request=s.NoteSerializer,
        responses={200: s.RefundCaseSerializer},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, case_id=None):
        return self._move(request, s.NoteSerializer, case_services.approve_case, "note")

    @extend_schema(
        description="Complete an approved case once the money went back to the customer: "
        "posts the refund journal and issues the credit note.",
        request=s.CompleteSerializer,
        responses={200: s.RefundCaseSerializer},
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, case_id=None):
        data = s.CompleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = case_services.complete_case(
            case=self._case(),
            actor=request.user,
            gateway_reference=data.validated_data["gateway_reference"],
            note=data.validated_data["note"],
        )
        return self._render(case)

    @extend_schema(
        description="Reject a pending case; what it reserved is refundable again.",
        request=s.ReasonTextSerializer,
        responses={200: s.RefundCaseSerializer},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, case_id=None):
        return self._move(request, s.ReasonTextSerializer, case_services.reject_case, "reason")

    @extend_schema(
        description="Cancel a pending or approved case; what it reserved is refundable again.",
        request=s.ReasonTextSerializer,
        responses={200: s.RefundCaseSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, case_id=None):
        return self._move(request, s.ReasonTextSerializer, case_services.cancel_case, "reason")

    @extend_schema(
        description="A vendor disputes its part of a pending, approved or completed case. "
        "Evidence files (at most 5) go with it as multipart/form-data, or not at all.",
        request={
            "application/json": s.DisputeSerializer,
            "multipart/form-data": s.DisputeUploadSerializer,
        },
        responses={200: s.RefundCaseSerializer},
    )
    @action(
        detail=True,
        methods=["post"],
        parser_classes=[*api_settings.DEFAULT_PARSER_CLASSES, MultiPartParser],
    )
    def dispute(self, request, case_id=None):
        with_files = request.content_type.startswith("multipart/")
        data = (s.DisputeUploadSerializer if with_files else s.DisputeSerializer)(data=request.data)
        data.is_valid(raise_exception=True)
        case = self._case()
        vendor = self._acting_vendor(data.validated_data["vendor"], VendorAction.DISPUTE)
        files = data.validated_data.get("files", [])
        if files:
            # Evidence is an attachment: the caller must also be allowed to attach.
            self._acting_vendor(data.validated_data["vendor"], VendorAction.ATTACH)
        case = transitions.dispute_case(
            case=case,
            vendor=vendor,
            message=data.validated_data["message"],
            actor=request.user,
            files=files,
        )
        return self._render(case)

    @extend_schema(
        description="A vendor accepts its part of the case (staff may record it for a vendor).",
        request=s.AcknowledgeSerializer,
        responses={200: s.RefundCaseSerializer},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, case_id=None):
        data = s.AcknowledgeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = self._case()
        vendor = self._acting_vendor(data.validated_data["vendor"], VendorAction.ACKNOWLEDGE)
        case_services.acknowledge_case(
            case=case, vendor=vendor, message=data.validated_data["message"], actor=request.user
        )
        return self._render(case)

    @extend_schema(
        description="Resolve a dispute: the case returns to the status it had, optionally "
        "with new shares per vendor (after completion, a correcting journal is posted).",
        request=s.ResolveSerializer,
        responses={200: s.RefundCaseSerializer},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, case_id=None):
        data = s.ResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        shares = {
            row["vendor"]: ShareOverride(
                row["vendor_share"], row["platform_share"], row["commission_reversal"]
            )
            for row in data.validated_data.get("liabilities") or []
        }
        case = case_services.resolve_dispute(
            case=self._case(),
            message=data.validated_data["message"],
            actor=request.user,
            shares=shares or None,
        )
        return self._render(case)

    @extend_schema(
        description="Add a note to the case's log; `internal` notes are for staff only.",
        request=s.CaseNoteSerializer,
        responses={201: s.EventSerializer},
    )
    @action(detail=True, methods=["post"])
    def notes(self, request, case_id=None):
        data = s.CaseNoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = case_services.add_note(
            case=self._case(),
            text=data.validated_data["text"],
            actor=request.user,
            channel=data.validated_data["channel"],
            internal=data.validated_data["internal"],
        )
        return Response(s.EventSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        description="Attach a file (multipart/form-data) to the case: PDF, image, text, CSV or "
        "e-mail, typed by its bytes. A vendor user names the vendor it attaches for.",
        request={"multipart/form-data": s.AttachmentUploadSerializer},
        responses={201: s.AttachmentSerializer},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def attachments(self, request, case_id=None):
        data = s.AttachmentUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = self._case()
        vendor = self._acting_vendor(data.validated_data["vendor"], VendorAction.ATTACH)
        if not is_finance_staff(request.user):
            # A vendor's file is evidence for its own part, under its name.
            if vendor is None:
                raise RefundError("vendor", "Name the vendor you attach the file for.", "required")
            if not case.liabilities.filter(vendor=vendor).exists():
                raise RefundError("vendor", "That vendor has no part in this case.", "not_found")
        with transaction.atomic():
            attachment = case_services.add_attachment(
                case=case,
                vendor=vendor,
                file=data.validated_data["file"],
                actor=request.user,
                note=data.validated_data["note"],
                channel="api",
                internal=data.validated_data["internal"],
            )
        return Response(s.AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


@described(
    list="The reason codes a refund line may give, each with its policy: the "
    "vendor's share of the net and whether the commission goes back to the vendor."
)
class ReasonViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = s.ReasonSerializer
    permission_classes = [ApiAccess]
    access = {"list": read("refunds.view_reasonpolicy")}
    pagination_class = None
    queryset = ReasonPolicy.objects.order_by("code")
