"""Read-only ledger API for finance staff (with the view permissions) and the
read-only group; vendors read their figures in the portal's statements."""

import re
from datetime import date
from typing import Any

import django_filters
from django.db.models import Q
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lib.api_renderers import PDFRenderer, pdf_attachment
from lib.api_views import ReadOnlyViewSet, described
from lib.errors import DomainError
from lib.money import CURRENCY_CHOICES, CURRENCY_EXPONENTS, format_amount
from vendors.api.permissions import ApiAccess, change, read, reads, staff_read, staff_reads

from ..closing import (
    PeriodError,
    close_period,
    parse_month,
    period_row,
    period_rows,
    reopen_period,
)
from ..detached import first_attached_day
from ..detached_journals import JOURNAL_ARCHIVED_NOTE, archived_journal_date
from ..models import Account, CreditNote, Invoice, InvoiceKind, Journal, JournalKind, TaxCode
from ..pdf import credit_note_pdf, invoice_pdf
from ..selectors import invoices_for, trial_balance
from .serializers import (
    AccountSerializer,
    CreditNoteSerializer,
    InvoiceSerializer,
    JournalSerializer,
    PeriodSerializer,
    ReopenSerializer,
    TaxCodeSerializer,
    TrialBalanceSerializer,
)


class JournalFilter(django_filters.FilterSet):
    case = django_filters.CharFilter(field_name="case__case_id", help_text="Case ID.")
    order = django_filters.CharFilter(field_name="order__number", help_text="Order number.")
    kind = django_filters.ChoiceFilter(choices=JournalKind.choices)
    currency = django_filters.ChoiceFilter(choices=CURRENCY_CHOICES)
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = Journal
        fields = ["case", "order", "kind", "currency"]


class JournalArchived(APIException):
    """410: the journal's month was detached (ledger.detached_journals)."""

    status_code = status.HTTP_410_GONE
    default_detail = JOURNAL_ARCHIVED_NOTE
    default_code = "journal_archived"


@described(
    list="Posted journals, newest first: each with its balanced entries (debit and "
    "credit per account). Filter by case, order, kind, currency and date. Journals of "
    "detached (archived) months are not listed; a journal whose entries' month was "
    "detached is, with `entries_archived` true and no entries.",
    retrieve="One journal and its entries; 410 `journal_archived` once its month was detached.",
)
class JournalViewSet(ReadOnlyViewSet):
    serializer_class = JournalSerializer
    permission_classes = [ApiAccess]
    access = staff_reads("ledger.view_journal")
    filterset_class = JournalFilter
    queryset = Journal.objects.select_related("case", "order", "posted_by").prefetch_related(
        "entries__account"
    )

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "first_attached_day": first_attached_day()}

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().retrieve(request, *args, **kwargs)
        except Http404:
            if archived_journal_date(kwargs.get("pk")) is not None:
                raise JournalArchived() from None
            raise


@described(
    list="The chart of accounts with each account's balance per currency "
    "(debit, credit, balance = debit - credit).",
    retrieve="One account and its balances.",
)
class AccountViewSet(ReadOnlyViewSet):
    serializer_class = AccountSerializer
    permission_classes = [ApiAccess]
    access = staff_reads("ledger.view_account")
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    filterset_fields = ["role", "kind"]
    queryset = Account.objects.select_related("vendor", "tax_code", "settles_to").prefetch_related(
        "balances"
    )


class TrialBalanceQuery(serializers.Serializer):
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES)
    as_of = serializers.DateField(required=False)

    def validate(self, attrs):
        # Each parameter once: the serializer would read the last of several.
        repeated = {
            name: ["Give this parameter once."]
            for name in self.fields
            if len(self.initial_data.getlist(name)) > 1
        }
        if repeated:
            raise serializers.ValidationError(repeated)
        return attrs


class TrialBalanceView(APIView):
    permission_classes = [ApiAccess]
    access = {"get": staff_read("ledger.view_account")}

    @extend_schema(
        description="Every account's debit, credit and balance in one currency, as of a date "
        "(default: today); `balanced` is true when debits equal credits.",
        parameters=[
            OpenApiParameter(
                "currency", str, required=True, enum=[code for code, _ in CURRENCY_CHOICES]
            ),
            OpenApiParameter("as_of", OpenApiTypes.DATE, required=False),
        ],
        responses={200: TrialBalanceSerializer},
    )
    def get(self, request):
        query = TrialBalanceQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        currency = query.validated_data["currency"].upper()
        if currency not in CURRENCY_EXPONENTS:
            raise DomainError("currency", f"{currency!r} is not a supported currency.")
        balance = trial_balance(currency, query.validated_data.get("as_of"))

        def money(amount) -> str:
            return format_amount(amount, currency)

        return Response(
            {
                "currency": currency,
                "as_of": balance.as_of,
                "rows": [
                    {
                        "code": r.code,
                        "name": r.name,
                        "kind": r.kind,
                        "debit": money(r.debit),
                        "credit": money(r.credit),
                        "balance": money(r.balance),
                    }
                    for r in balance.rows
                ],
                "total_debit": money(balance.total_debit),
                "total_credit": money(balance.total_credit),
                "balanced": balance.balanced,
            }
        )


class CreditNoteFilter(django_filters.FilterSet):
    case = django_filters.CharFilter(field_name="reference", help_text="Case ID.")
    order = django_filters.CharFilter(field_name="order_number", help_text="Order number.")
    issued_from = django_filters.DateFilter(field_name="issue_date", lookup_expr="gte")
    issued_to = django_filters.DateFilter(field_name="issue_date", lookup_expr="lte")

    class Meta:
        model = CreditNote
        fields = ["case", "order", "currency"]


@described(
    list="Credit notes issued for completed refunds, newest first; each links its PDF.",
    retrieve="One credit note and its lines.",
)
class CreditNoteViewSet(ReadOnlyViewSet):
    serializer_class = CreditNoteSerializer
    permission_classes = [ApiAccess]
    access = {
        **staff_reads("ledger.view_creditnote"),
        "pdf": staff_read("ledger.view_creditnote"),
    }
    lookup_field = "number"
    lookup_value_regex = "[^/]+"
    filterset_class = CreditNoteFilter
    queryset = CreditNote.objects.select_related("invoice").prefetch_related("lines", "refunds")

    @extend_schema(
        description="The credit note as a PDF (the document sent to the customer). Send "
        "`Accept: application/pdf` or nothing; errors are problem+json.",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"], renderer_classes=[PDFRenderer])
    def pdf(self, request, number=None):
        note = self.get_object()
        return pdf_attachment(credit_note_pdf(note), note.number)


# The month in a period's path: the URL takes any YYYY-MM-shaped text (2026-13
# is a 400 naming `month`), the schema states the months there are: those with a
# month before and after them (a period is closed after the one before it and
# reopened before the one after it), 0001-02 to 9999-11.
PERIOD_MONTH_PATTERN = (
    r"^(0001-(0[2-9]|1[0-2])"
    r"|(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
    r"-(0[1-9]|1[0-2])"
    r"|9999-(0[1-9]|1[01]))$"
)
MONTH = OpenApiParameter(
    "month",
    {"type": "string", "pattern": PERIOD_MONTH_PATTERN},
    OpenApiParameter.PATH,
    description="The month, YYYY-MM, from 0001-02 to 9999-11.",
)


def _period_month(value: str) -> date:
    if not re.fullmatch(PERIOD_MONTH_PATTERN.strip("^$"), value):
        parse_month(value)  # the error for what is not a month at all
        raise PeriodError("month", f"{value!r} is not a month of the books: 0001-02 to 9999-11.")
    return parse_month(value)


class PeriodViewSet(viewsets.ViewSet):
    """Accounting periods (calendar months): list, close, reopen (ledger.closing)."""

    permission_classes = [ApiAccess]
    access = {
        **staff_reads("ledger.view_accountingperiod"),
        "close": change("ledger.close_accountingperiod"),
        "reopen": change("ledger.reopen_accountingperiod"),
    }
    lookup_field = "month"
    lookup_value_regex = r"[0-9]{4}-[0-9]{2}"

    @extend_schema(responses={200: PeriodSerializer(many=True)})
    def list(self, request):
        # Every month of the books, newest first: a dozen a year, not paginated.
        return Response(PeriodSerializer(period_rows(), many=True).data)

    @extend_schema(parameters=[MONTH], responses={200: PeriodSerializer})
    def retrieve(self, request, month=None):
        wanted = _period_month(month)
        for row in period_rows():
            if row.month == wanted:
                return Response(PeriodSerializer(row).data)
        raise NotFound(f"No period {month} in the books.")

    @extend_schema(parameters=[MONTH], request=None, responses={200: PeriodSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request, month=None):
        request.data  # noqa: B018 -- the body is read (and a hostile one refused) as on every POST
        period = close_period(month=_period_month(month), user=request.user, process="api")
        return Response(PeriodSerializer(period_row(period)).data)

    @extend_schema(parameters=[MONTH], request=ReopenSerializer, responses={200: PeriodSerializer})
    @action(detail=True, methods=["post"])
    def reopen(self, request, month=None):
        data = ReopenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        period = reopen_period(
            month=_period_month(month),
            user=request.user,
            process="api",
            reason=data.validated_data.get("reason", ""),
        )
        return Response(PeriodSerializer(period_row(period)).data)


class InvoiceFilter(django_filters.FilterSet):
    order = django_filters.CharFilter(field_name="order_number", help_text="Order number.")
    vendor = django_filters.CharFilter(
        method="for_vendor",
        help_text="Vendor code: invoices issued on its behalf and its commission documents.",
    )
    kind = django_filters.ChoiceFilter(choices=InvoiceKind.choices)
    date_from = django_filters.DateFilter(field_name="issue_date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="issue_date", lookup_expr="lte")

    class Meta:
        model = Invoice
        fields = ["order", "vendor", "kind", "currency"]

    def for_vendor(self, queryset, name, value):
        return queryset.filter(Q(seller_vendor__code=value) | Q(billed_vendor__code=value))


class InvoiceViewSet(ReadOnlyViewSet):
    """Sales invoices (per order and seller of record) and the platform's
    commission invoices and credit notes. Vendor users see those issued on
    their behalf and those billed to them."""

    serializer_class = InvoiceSerializer
    permission_classes = [ApiAccess]
    access = {
        **reads("ledger.view_invoice"),
        "pdf": read("ledger.view_invoice"),
    }
    lookup_field = "number"
    lookup_value_regex = "[^/]+"
    filterset_class = InvoiceFilter

    def get_queryset(self):
        return invoices_for(self.request.user).prefetch_related("lines")

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def pdf(self, request, number=None):
        invoice = self.get_object()
        return pdf_attachment(invoice_pdf(invoice), invoice.number)


class TaxCodeViewSet(ReadOnlyViewSet):
    """Tax codes: a rate in a jurisdiction and the accounting system's name for it.
    Staff only."""

    serializer_class = TaxCodeSerializer
    permission_classes = [ApiAccess]
    access = staff_reads("ledger.view_taxcode")
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    filterset_fields = ["jurisdiction"]
    queryset = TaxCode.objects.all()
