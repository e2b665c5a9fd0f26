"""The reports over the API: JSON, or CSV with Accept: text/csv or ?format=csv.

Thin: parse the dates, call the report selector (ledger.reports), render.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from lib.replica import reads_from_replica
from vendors.api.permissions import ApiAccess, staff_read

from ..reports import Report, accrued_refunds, customer_aging, report_csv, tax_report, vendor_aging

PERMISSION = "ledger.view_journal"


class ReportCsvRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context=None):
        if isinstance(data, Report):
            return report_csv(data)
        # An error: its fields and messages, one line each.
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["field", "message"])
        for field, messages in (data or {}).items():
            for message in messages if isinstance(messages, list) else [messages]:
                writer.writerow([field, message])
        return out.getvalue()


class ReportJsonRenderer(JSONRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context=None):
        if isinstance(data, Report):
            data = {
                "title": data.title,
                "reporting_currency": data.reporting_currency,
                **data.params,
                "columns": [{"key": c.key, "title": c.title} for c in data.columns],
                "rows": data.records(),
            }
        return super().render(data, accepted_media_type, renderer_context)


class DateRange(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    convert = serializers.BooleanField(default=True)


class AtDate(serializers.Serializer):
    at = serializers.DateField()
    convert = serializers.BooleanField(default=True)


REPORT_RESPONSE = inline_serializer(
    "Report",
    {
        "title": serializers.CharField(),
        "reporting_currency": serializers.CharField(),
        "columns": serializers.ListField(child=serializers.DictField()),
        "rows": serializers.ListField(child=serializers.DictField()),
    },
)
CONVERT = OpenApiParameter(
    "convert",
    OpenApiTypes.BOOL,
    required=False,
    description="Add the reporting-currency columns (default true; needs exchange rates).",
)
AT = OpenApiParameter("at", OpenApiTypes.DATE, required=True)


class ReportView(APIView):
    permission_classes = [ApiAccess]
    access = {"get": staff_read(PERMISSION)}
    renderer_classes = [ReportJsonRenderer, ReportCsvRenderer]

    def respond(self, report: Report) -> Response:
        response = Response(report)
        if getattr(self.request.accepted_renderer, "format", "") == "csv":
            name = report.title.lower().replace(" ", "-")
            response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response


class TaxReportView(ReportView):
    """Tax by tax code and jurisdiction for a period (sales, credits, net, tax) from the
    platform's own documents, tied to the output-tax accounts' movement."""

    @extend_schema(
        parameters=[
            OpenApiParameter("date_from", OpenApiTypes.DATE, required=True),
            OpenApiParameter(
                "date_to",
                OpenApiTypes.DATE,
                required=True,
                description="On or after date_from; otherwise a 400 naming date_from.",
            ),
            CONVERT,
        ],
        responses={200: REPORT_RESPONSE},
    )
    @reads_from_replica
    def get(self, request):
        query = DateRange(data=request.query_params)
        query.is_valid(raise_exception=True)
        return self.respond(tax_report(**query.validated_data))


class AtDateReportView(ReportView):
    """A report at a date (`at`), made by `report(at=, convert=)`."""

    report: Any = None

    @extend_schema(parameters=[AT, CONVERT], responses={200: REPORT_RESPONSE})
    @reads_from_replica
    def get(self, request):
        query = AtDate(data=request.query_params)
        query.is_valid(raise_exception=True)
        return self.respond(type(self).report(**query.validated_data))


class AccruedRefundsView(AtDateReportView):
    """Refunds approved and not yet completed at a date, per vendor and currency."""

    report = staticmethod(accrued_refunds)


class VendorAgingView(AtDateReportView):
    """What vendors owe the platform at a date (receivables and payable debit
    balances), aged 0-30, 31-60, 61-90 and 90+ days."""

    report = staticmethod(vendor_aging)


class CustomerAgingView(AtDateReportView):
    """What the payment providers still owe per payment method at a date (gateway
    clearing), aged 0-30, 31-60, 61-90 and 90+ days."""

    report = staticmethod(customer_aging)
