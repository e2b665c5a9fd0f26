"""Accrued refunds: cases approved and not yet completed at the end of a day,
what each vendor's part and the platform's come to, per currency.

A case's status at a date is the status its last status-bearing event
(CaseEvent.to_status) up to the end of that day moved it to, so the report of
a past date is what the books knew then, whatever happened since.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import OuterRef, Subquery, Sum
from django.utils import timezone

from lib.money import ZERO, quantize
from refunds.models import CaseEvent, RefundCase, RefundLine
from refunds.statuses import TRANSITIONS, CaseStatus

from .base import Column, Report
from .rates import RateTable, reporting_currency

# Statuses from which the next step is completing the refund (paying it): an
# approved case. A disputed one can complete too, but its outcome is open
# (it may go back to pending): it is not accrued until resolved.
ACCRUED_STATUSES: tuple[str, ...] = tuple(
    status
    for status in CaseStatus
    if CaseStatus.COMPLETED in TRANSITIONS[status] and status != CaseStatus.DISPUTED
)

PLATFORM = "(platform)"

COLUMNS = [
    Column("vendor", "Vendor"),
    Column("currency", "Currency"),
    Column("cases", "Cases"),
    Column("gross", "Refund (gross)", "currency"),
    Column("vendor_share", "Borne by the vendor", "currency"),
    Column("platform_share", "Borne by the platform", "currency"),
]
REPORTING_COLUMNS = [Column("reporting_gross", "Refund (reporting)")]


def end_of_day(day: date) -> datetime:
    """The first instant after `day`, in the project's time zone."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def accrued_case_ids(at: date) -> list[int]:
    last_status = (
        CaseEvent.objects.filter(case=OuterRef("pk"), created_at__lt=end_of_day(at))
        .exclude(to_status="")
        .order_by("-created_at", "-id")
        .values("to_status")[:1]
    )
    return list(
        RefundCase.objects.annotate(status_at=Subquery(last_status))
        .filter(status_at__in=ACCRUED_STATUSES)
        .values_list("pk", flat=True)
    )


def accrued_refunds(*, at: date, convert: bool = True) -> Report:
    """Per vendor (a shipping refund: the platform) and currency, the refunds
    of the cases approved and not completed at the end of `at`."""
    case_ids = accrued_case_ids(at)
    parts = (
        RefundLine.objects.filter(case_id__in=case_ids)
        .values("vendor__code", "case__currency")
        .annotate(
            gross=Sum("gross_amount"),
            vendor_share=Sum("vendor_share"),
            platform_share=Sum("platform_share"),
        )
        .order_by()
    )
    cases: dict[tuple[str, str], set[int]] = defaultdict(set)
    for vendor, currency, case_id in RefundLine.objects.filter(case_id__in=case_ids).values_list(
        "vendor__code", "case__currency", "case_id"
    ):
        cases[(vendor or PLATFORM, currency)].add(case_id)
    rates = RateTable(at) if convert else None
    rows = []
    for part in sorted(parts, key=lambda p: (p["case__currency"], p["vendor__code"] or "")):
        currency = part["case__currency"]
        vendor = part["vendor__code"] or PLATFORM
        row: dict[str, object] = {
            "vendor": vendor,
            "currency": currency,
            "cases": len(cases[(vendor, currency)]),
            **{
                name: quantize(part[name] or ZERO, currency)
                for name in ("gross", "vendor_share", "platform_share")
            },
        }
        if rates is not None:
            gross = row["gross"]
            assert isinstance(gross, Decimal)
            row["reporting_gross"] = rates.convert(gross, currency)
        rows.append(row)
    return Report(
        title=f"Accrued refunds at {at:%Y-%m-%d}",
        columns=COLUMNS + (REPORTING_COLUMNS if convert else []),
        rows=rows,
        reporting_currency=reporting_currency(),
        params={"at": f"{at:%Y-%m-%d}"},
    )
