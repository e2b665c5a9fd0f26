"""Payout reports over the API, for finance staff: upload (multipart), list,
detail with rows; the exception queue and its resolution."""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from lib.api_filters import IdFilter
from lib.api_views import FileImportViewSet, ReadOnlyViewSet, named_or_404
from lib.errors import DomainError
from vendors.api.permissions import ApiAccess, change, staff_reads

from ..models import PayoutException, PayoutMapping, PayoutProvider, PayoutReport, PayoutReportRow
from ..services.payout_reports import import_payout_report, resolve_payout_exception
from .payout_serializers import (
    PayoutExceptionSerializer,
    PayoutImportSerializer,
    PayoutReportDetailSerializer,
    PayoutReportSerializer,
    PayoutUploadSerializer,
    ResolveExceptionSerializer,
)


class PayoutReportFilter(django_filters.FilterSet):
    provider = django_filters.CharFilter(field_name="provider__code", help_text="Provider code.")
    payout_id = django_filters.CharFilter()
    currency = django_filters.CharFilter()
    arrival_from = django_filters.DateFilter(field_name="arrival_date", lookup_expr="gte")
    arrival_to = django_filters.DateFilter(field_name="arrival_date", lookup_expr="lte")

    class Meta:
        model = PayoutReport
        fields = ["provider", "payout_id", "currency"]


def _provider(code: str) -> PayoutProvider:
    if code:
        provider = PayoutProvider.objects.filter(code=code).first()
        if provider is None:
            raise DomainError("provider", f"No payout provider {code!r}.", code="not_found")
        return provider
    # Left out, it is the one provider there is: none (404) or several (409) is a
    # matter of what the platform holds, not of the request's form.
    providers = list(PayoutProvider.objects.all()[:2])
    if not providers:
        raise DomainError("provider", "There is no payout provider yet.", code="not_found")
    if len(providers) > 1:
        raise DomainError(
            "provider", "Name the provider whose payouts the file reports.", code="ambiguous"
        )
    return providers[0]


class PayoutReportViewSet(FileImportViewSet):
    """Payment providers' payout reports: upload one (a Stripe itemized payout
    reconciliation CSV, a marketplace per-line CSV or a saved mapping), list
    them and read one with its rows. Staff only."""

    permission_classes = [ApiAccess]
    access = {
        **staff_reads("cash.view_payoutreport"),
        "create": change("cash.add_payoutreport"),
    }
    filterset_class = PayoutReportFilter
    list_serializer = PayoutReportSerializer
    detail_serializer = PayoutReportDetailSerializer
    upload_serializer = PayoutUploadSerializer
    import_serializer = PayoutImportSerializer

    def files(self):
        return PayoutReport.objects.select_related(
            "provider", "mapping", "bank_ledger_account", "imported_by"
        )

    def rows(self):
        rows = PayoutReportRow.objects.select_related("order", "refund_case", "exception")
        return Prefetch("rows", queryset=rows.order_by("row_number"))

    @extend_schema(
        request={"multipart/form-data": PayoutUploadSerializer},
        responses={201: PayoutImportSerializer, 200: PayoutImportSerializer},
    )
    def create(self, request):
        values = self.upload(request)
        mappings = PayoutMapping.objects.all()
        upload = values["file"]
        result = import_payout_report(
            data=upload.read(),
            provider=_provider(values["provider"]),
            file_name=upload.name or "",
            fmt=values["format"],
            mapping=named_or_404(mappings, "mapping", values["mapping"], "saved payout mapping"),
            currency=values["currency"],
            payout_amount=values.get("payout_amount") or None,
            user=request.user,
        )
        return self.imported(result, new=bool(result.new_rows))


class PayoutExceptionFilter(django_filters.FilterSet):
    provider = django_filters.CharFilter(field_name="row__provider__code")
    report = IdFilter(field_name="row__report_id")

    class Meta:
        model = PayoutException
        fields = ["status", "reason", "provider", "report"]


class PayoutExceptionViewSet(ReadOnlyViewSet):
    """Payout report rows that matched no payment or refund case: the queue staff
    work through, and resolving one with a note. Staff only."""

    serializer_class = PayoutExceptionSerializer
    permission_classes = [ApiAccess]
    access = {
        **staff_reads("cash.view_payoutexception"),
        "resolve": change("cash.change_payoutexception"),
    }
    lookup_value_regex = r"[0-9]+"
    filterset_class = PayoutExceptionFilter
    queryset = PayoutException.objects.select_related("row__provider", "resolved_by")

    @extend_schema(request=ResolveExceptionSerializer, responses={200: PayoutExceptionSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        data = ResolveExceptionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        exception = self.get_object()
        resolved = resolve_payout_exception(
            exception=exception, note=data.validated_data["note"], user=request.user
        )
        fresh = self.get_queryset().get(pk=resolved.pk)
        return Response(PayoutExceptionSerializer(fresh).data)
