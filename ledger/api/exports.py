"""Exports for accounting software and vendors' settlement statements, over the API.

- `GET /api/v1/exports/<format>/?date_from=&date_to=`: the CSV exports of
  ledger.exports, streamed (the same rows the admin downloads), for staff with
  the format's permission.
- `/api/v1/settlement-statements/`: vendors' settlement statements (vendor
  users see their own vendors'; staff and the read-only group all), each as
  CSV (`csv/`, streamed) and PDF (`pdf/`), from ledger.settlements.
"""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.views import APIView

from lib.api_views import ReadOnlyViewSet
from lib.downloads import download
from lib.replica import reading_from_replica, reads_from_replica, replica_steps
from vendors.api.permissions import ApiAccess, read, reads, staff_read
from vendors.permissions import VendorAction, vendors_allowing
from vendors.selectors import visible_vendor_ids

from ..detached import ARCHIVED_NOTE, statement_archived
from ..exports import FORMATS, export_filename, export_lines
from ..models import SettlementStatement
from ..settlements.exports import statement_csv, statement_filename, statement_pdf


class StatementArchived(APIException):
    """410: the entries of the statement's month were detached (ledger.detached)."""

    status_code = status.HTTP_410_GONE
    default_detail = ARCHIVED_NOTE
    default_code = "statement_archived"


class CSVRenderer(BaseRenderer):
    """Lets a client that sends `Accept: text/csv` reach the view (the view
    answers with its own streamed response; errors are still JSON)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context=None):
        return data


class PDFRenderer(CSVRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None


# URL slug -> ledger.exports format.
API_FORMATS = {
    "journals": "journal",
    "quickbooks-journals": "quickbooks",
    "xero-credit-notes": "xero",
    "xero-invoices": "xero-invoices",
}


# The longest range one export covers: ten years (and a leap day or two).
EXPORT_MAX_DAYS = 3660


class ExportQuery(serializers.Serializer):
    date_from = serializers.DateField(help_text="First day, YYYY-MM-DD.")
    date_to = serializers.DateField(
        help_text="Last day, YYYY-MM-DD (inclusive): on or after date_from, and at most "
        f"{EXPORT_MAX_DAYS} days (ten years) after it; otherwise a 400 naming date_to."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": ["Must be on or after date_from."]})
        if (attrs["date_to"] - attrs["date_from"]).days > EXPORT_MAX_DAYS:
            raise serializers.ValidationError({"date_to": ["At most ten years at a time."]})
        return attrs


class ExportView(APIView):
    """One CSV export, streamed; `format_name` is set per URL."""

    permission_classes = [ApiAccess]
    renderer_classes = [JSONRenderer, CSVRenderer]
    format_name = ""
    access: dict = {}

    @classmethod
    def for_slug(cls, slug: str) -> type[ExportView]:
        export = FORMATS[API_FORMATS[slug]]
        name = "".join(part.title() for part in slug.split("-")) + "ExportView"
        view = type(
            name,
            (cls,),
            {
                "format_name": export.name,
                "access": {"get": staff_read(export.permission)},
                "__doc__": f"{export.label}, streamed, for the journals or documents dated "
                "in [date_from, date_to].",
            },
        )

        def get(self, request, *args, **kwargs):
            return ExportView.get(self, request, *args, **kwargs)

        view.get = extend_schema(  # type: ignore[method-assign]
            operation_id=f"exports_{slug.replace('-', '_')}",
            summary=export.label,
            description=f"{export.label}: one CSV, streamed, of what is dated in "
            f"[date_from, date_to] (inclusive). Needs the staff permission "
            f"`{export.permission}`. docs/accounting.md (Exports) says how it is coded.",
            parameters=[ExportQuery],
            responses={
                (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The CSV."),
            },
        )(get)
        return view

    @reads_from_replica
    def get(self, request, *args, **kwargs):
        query = ExportQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        date_from, date_to = query.validated_data["date_from"], query.validated_data["date_to"]
        return download(
            export_lines(self.format_name, date_from, date_to),
            filename=export_filename(self.format_name, date_from, date_to),
            content_type="text/csv; charset=utf-8",
        )


def export_urls() -> list:
    from django.urls import path

    return [
        path(f"v1/exports/{slug}/", ExportView.for_slug(slug).as_view(), name=f"export-{slug}")
        for slug in API_FORMATS
    ]


# ---------------------------------------------------------------- statements


class SettlementStatementSerializer(serializers.ModelSerializer):
    vendor = serializers.SlugRelatedField(slug_field="code", read_only=True)
    title = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = SettlementStatement
        fields = [
            "id",
            "title",
            "vendor",
            "currency",
            "frequency",
            "period_start",
            "period_end",
            "opening",
            "sales",
            "deductions",
            "adjustments",
            "payouts",
            "closing",
            "entry_count",
            "generated_at",
        ]


class SettlementStatementFilter(django_filters.FilterSet):
    vendor = django_filters.CharFilter(field_name="vendor__code", help_text="Vendor code.")
    currency = django_filters.CharFilter()
    period_from = django_filters.DateFilter(field_name="period_end", lookup_expr="gte")
    period_to = django_filters.DateFilter(field_name="period_start", lookup_expr="lte")

    class Meta:
        model = SettlementStatement
        fields = ["vendor", "currency"]


class SettlementStatementViewSet(ReadOnlyViewSet):
    """Vendors' settlement statements: vendor users read their own vendors'
    (and download them where their role allows), staff all."""

    serializer_class = SettlementStatementSerializer
    permission_classes = [ApiAccess]
    access = {
        **reads("ledger.view_settlementstatement"),
        "csv": read("ledger.view_settlementstatement", vendor=VendorAction.DOWNLOAD_STATEMENTS),
        "pdf": read("ledger.view_settlementstatement", vendor=VendorAction.DOWNLOAD_STATEMENTS),
    }
    filterset_class = SettlementStatementFilter

    def get_queryset(self):
        queryset = SettlementStatement.objects.select_related("vendor").order_by(
            "-period_end", "vendor__code", "currency", "-id"
        )
        user = self.request.user
        ids = visible_vendor_ids(user)
        if ids is None:
            return queryset
        if self.action in ("csv", "pdf"):
            ids = ids & vendors_allowing(user, VendorAction.DOWNLOAD_STATEMENTS)
        return queryset.filter(vendor_id__in=ids)

    @extend_schema(
        description="The statement as CSV (streamed): its lines and running balance.",
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, CSVRenderer])
    def csv(self, request, pk=None):
        statement = self.get_object()
        if statement_archived(statement):
            raise StatementArchived
        return download(
            replica_steps(statement_csv(statement)),
            filename=statement_filename(statement, "csv"),
            content_type="text/csv; charset=utf-8",
        )

    @extend_schema(
        description="The statement as PDF.",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, PDFRenderer])
    def pdf(self, request, pk=None):
        statement = self.get_object()
        if statement_archived(statement):
            raise StatementArchived
        with reading_from_replica():
            content = statement_pdf(statement)
        return download(
            content,
            filename=statement_filename(statement, "pdf"),
            content_type="application/pdf",
        )


__all__ = [
    "API_FORMATS",
    "ExportView",
    "SettlementStatementViewSet",
    "export_urls",
]
