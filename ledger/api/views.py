"""Read-only ledger API for finance staff (with the view permissions) and the
read-only group; vendors read their figures in the portal's statements."""

import django_filters
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from lib.api_renderers import PDFRenderer
from lib.errors import DomainError
from lib.money import CURRENCY_CHOICES, CURRENCY_EXPONENTS, format_amount
from vendors.api.permissions import ApiAccess, staff_read

from ..models import Account, CreditNote, Journal, JournalKind
from ..pdf import credit_note_pdf
from ..selectors import trial_balance
from .serializers import (
    AccountSerializer,
    CreditNoteSerializer,
    JournalSerializer,
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


@extend_schema_view(
    list=extend_schema(
        description="Posted journals, newest first: each with its balanced entries (debit and "
        "credit per account). Filter by case, order, kind, currency and date."
    ),
    retrieve=extend_schema(description="One journal and its entries."),
)
class JournalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = JournalSerializer
    permission_classes = [ApiAccess]
    access = {
        "list": staff_read("ledger.view_journal"),
        "retrieve": staff_read("ledger.view_journal"),
    }
    filterset_class = JournalFilter
    queryset = Journal.objects.select_related("case", "order").prefetch_related("entries__account")


@extend_schema_view(
    list=extend_schema(
        description="The chart of accounts with each account's balance per currency "
        "(debit, credit, balance = debit - credit)."
    ),
    retrieve=extend_schema(description="One account and its balances."),
)
class AccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AccountSerializer
    permission_classes = [ApiAccess]
    access = {
        "list": staff_read("ledger.view_account"),
        "retrieve": staff_read("ledger.view_account"),
    }
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    filterset_fields = ["role", "kind"]
    queryset = Account.objects.select_related("vendor").prefetch_related("balances")


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


@extend_schema_view(
    list=extend_schema(
        description="Credit notes issued for completed refunds, newest first; each links its PDF."
    ),
    retrieve=extend_schema(description="One credit note and its lines."),
)
class CreditNoteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CreditNoteSerializer
    permission_classes = [ApiAccess]
    access = {
        "list": staff_read("ledger.view_creditnote"),
        "retrieve": staff_read("ledger.view_creditnote"),
        "pdf": staff_read("ledger.view_creditnote"),
    }
    lookup_field = "number"
    lookup_value_regex = "[^/]+"
    filterset_class = CreditNoteFilter
    queryset = CreditNote.objects.prefetch_related("lines")

    @extend_schema(
        description="The credit note as a PDF (the document sent to the customer). Send "
        "`Accept: application/pdf` or nothing; errors are problem+json.",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"], renderer_classes=[PDFRenderer])
    def pdf(self, request, number=None):
        note = self.get_object()
        response = HttpResponse(credit_note_pdf(note), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{note.number}.pdf"'
        return response
