"""Every portal read, scoped to one vendor in the query itself.

Views and templates never filter: whatever these return is what the vendor may
see. Rules:

- A case is the vendor's when it has a liability row for the vendor.
- Refund lines: the vendor's own only (the shared shipping line is left out; the
  vendor's part of shipping is in its liability).
- Case events and attachments: exactly what `refunds.visibility` lets the
  vendor see (one rule for portal, inbox, email and API). `data` is never
  shown: status changes to completed carry every vendor's breakdown there.
- The status timeline shows every status change, but only statuses and times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeAlias, TypedDict

from django.db import connection
from django.db.models import Exists, F, FilteredRelation, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from ledger.models import AccountBalance, AccountRole
from refunds.models import (
    Attachment,
    CaseEvent,
    EventKind,
    ReasonPolicy,
    RefundCase,
    RefundLine,
    VendorLiability,
)
from refunds.statuses import ANSWERABLE_STATUSES, PAID_STATUSES
from refunds.visibility import attachments_visible_to, events_visible_to
from vendors.models import Vendor

from .models import Notification

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

# Cases that wait for the vendor to accept or dispute its part are those in
# ANSWERABLE_STATUSES; a paid refund is deducted from the vendor's payouts.
DEDUCTED_STATUSES = PAID_STATUSES


def cases_for(vendor: Vendor) -> QuerySet[RefundCase]:
    return RefundCase.objects.filter(
        Exists(VendorLiability.objects.filter(case=OuterRef("pk"), vendor=vendor))
    )


class MyPart(TypedDict):
    """What with_my_part annotates a case with: the vendor's own figures."""

    my_refund: Decimal
    my_vendor_share: Decimal
    my_acknowledged_at: datetime | None


CaseWithMyPart: TypeAlias = "WithAnnotations[RefundCase, MyPart]"


def with_my_part(cases: QuerySet[RefundCase], vendor: Vendor) -> QuerySet[CaseWithMyPart]:
    """Each case with the vendor's own liability figures as `my_*` (one join)."""
    return cases.annotate(
        mine=FilteredRelation("liabilities", condition=Q(liabilities__vendor=vendor)),
        my_refund=F("mine__refund_amount"),
        my_vendor_share=F("mine__vendor_share"),
        my_acknowledged_at=F("mine__acknowledged_at"),
    )


def my_cases(vendor: Vendor) -> QuerySet[CaseWithMyPart]:
    """The vendor's cases with its part as `my_*`: an inner join on its liability.

    The same rows as `with_my_part(cases_for(vendor), vendor)`, one per case
    (a case has at most one liability per vendor), but the planner may start
    from the liabilities: the vendor's amounts in index order, or its cases by
    id, rather than probing every case of every vendor.
    """
    # The liability's vendor is NULL on the outer join exactly where the case has
    # no liability of the vendor: this keeps the vendor's cases, PostgreSQL turns
    # the join into an inner one, and both columns the join tests are in the
    # unique (case, vendor) index, so telling whether a case is the vendor's
    # reads no liability row (an index-only probe) unless its figures are shown.
    return (
        with_my_part(RefundCase.objects.all(), vendor)
        .alias(my_vendor=F("mine__vendor_id"))
        .filter(my_vendor__isnull=False)
    )


def waiting_for_answer(vendor: Vendor) -> QuerySet[CaseWithMyPart]:
    return (
        my_cases(vendor)  # type: ignore[misc]  # __isnull, as in my_cases
        .filter(status__in=ANSWERABLE_STATUSES, my_acknowledged_at__isnull=True)
        .select_related("order")
    )


def recent_deductions(vendor: Vendor) -> QuerySet[VendorLiability]:
    # completed_at is set on every completed or closed case (a CHECK says so);
    # saying it here lets the partial index on completed_at serve the order.
    return (
        VendorLiability.objects.filter(
            vendor=vendor, case__status__in=DEDUCTED_STATUSES, case__completed_at__isnull=False
        )
        .select_related("case")
        .order_by("-case__completed_at", "-case_id")
    )


@dataclass(frozen=True)
class Payable:
    currency: str
    amount: Decimal  # what the platform owes the vendor: credit minus debit


def payable_balances(vendor: Vendor) -> list[Payable]:
    """The vendor's payable account per currency, in one read.

    The same maintained AccountBalance rows `ledger.selectors.account_balance`
    reads, fetched for all currencies at once; that balance is debit minus
    credit, so what the vendor is owed is its negation.
    """
    rows = (
        AccountBalance.objects.filter(
            account__role=AccountRole.VENDOR_PAYABLE, account__vendor=vendor
        )
        .order_by("currency")
        .values_list("currency", "debit", "credit")
    )
    return [Payable(currency, credit - debit) for currency, debit, credit in rows]


# ---------------------------------------------------------------- case list


@dataclass(frozen=True)
class CaseQuery:
    status: str = ""
    reason: str = ""
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    sort: str = "-date"
    waiting: bool = False


SORTS = {
    "-date": ("-initiated_at", "-id"),
    "date": ("initiated_at", "id"),
    "-amount": ("-my_refund", "-id"),
    "amount": ("my_refund", "id"),
}


def case_list(vendor: Vendor, query: CaseQuery) -> QuerySet[CaseWithMyPart]:
    cases = my_cases(vendor).select_related("order")
    if query.status:
        cases = cases.filter(status=query.status)
    if query.waiting:
        cases = cases.filter(status__in=ANSWERABLE_STATUSES, my_acknowledged_at__isnull=True)  # type: ignore[misc]
    if query.reason:
        cases = cases.filter(
            Exists(
                RefundLine.objects.filter(
                    case=OuterRef("pk"), vendor=vendor, reason__code=query.reason
                )
            )
        )
    if query.date_from:
        cases = cases.filter(initiated_at__gte=_start_of(query.date_from))
    if query.date_to:
        cases = cases.filter(initiated_at__lt=_start_of(query.date_to, days=1))
    if query.q:
        cases = cases.filter(pk__in=matching_case_ids(vendor, query.q))
    return cases.order_by(*SORTS.get(query.sort, SORTS["-date"]))


def case_list_page(
    vendor: Vendor, query: CaseQuery, offset: int, limit: int
) -> list[CaseWithMyPart]:
    """`case_list(vendor, query)[offset:offset + limit]`, in one statement that
    finds the page's cases first and only then reads them, their order and the
    vendor's figures: OFFSET skips rows one by one, and skipping the ids of
    cases (index entries) costs less than skipping whole joined rows; a
    search's matches are sorted by date without their orders."""
    page = case_list(vendor, query).values("pk")[offset : offset + limit]
    return list(
        my_cases(vendor)
        .filter(pk__in=page)
        .select_related("order")
        .order_by(*SORTS.get(query.sort, SORTS["-date"]))
    )


def matching_case_ids(vendor: Vendor, term: str) -> QuerySet[Any]:
    """Ids of the cases whose case ID, order number or one of the vendor's SKUs
    contains `term` (any case).

    A union of three lookups, each served by its trigram index on PostgreSQL,
    rather than one OR across three tables, which no index can serve: the
    matches are found first and only they are joined to the vendor's cases.
    SKUs only among the vendor's own lines: no probing other vendors' items.
    Other vendors' cases found by ID or order number drop out at the join.
    """
    by_case_id = RefundCase.objects.filter(case_id__icontains=term).values("pk").order_by()
    by_order = RefundCase.objects.filter(order__number__icontains=term).values("pk").order_by()
    if connection.vendor == "postgresql":
        sku_lines = RefundLine.objects.filter(
            vendor=vendor,
            order_line_id__in=RawSQL(VENDOR_SKU_LINES, [vendor.pk, vendor.pk, vendor.pk, term]),
        )
    else:
        sku_lines = RefundLine.objects.filter(vendor=vendor, order_line__sku__icontains=term)
    return by_case_id.union(by_order, sku_lines.values("case_id").order_by())


# The vendor's order lines whose SKU contains the term (any case), without the
# trigram index: every SKU shares trigrams with thousands of others (a common
# prefix, runs of digits), so the trigram scan reads most of its posting lists
# (~280 ms on a million cases). Instead a loose scan of the vendor's distinct
# SKUs in `order_line_vendor_sku_idx` (vendor_id, UPPER(sku) text_pattern_ops),
# one index probe per SKU it sells (2,000 for the bench's vendor), keeps those
# containing the term, and reads their lines from the same index. The same
# matches as `order_line__sku__icontains=term` (LIKE with %, _ and \ escaped as
# Django escapes them); the refund lines are then the vendor's own, as before.
VENDOR_SKU_LINES = r"""
WITH RECURSIVE skus (sku) AS (
    (SELECT UPPER(sku::text) FROM refunds_orderline WHERE vendor_id = %s
     ORDER BY UPPER(sku::text) USING ~<~ LIMIT 1)
    UNION ALL
    SELECT (SELECT UPPER(ol.sku::text) FROM refunds_orderline ol
            WHERE ol.vendor_id = %s AND UPPER(ol.sku::text) ~>~ skus.sku
            ORDER BY UPPER(ol.sku::text) USING ~<~ LIMIT 1)
    FROM skus WHERE skus.sku IS NOT NULL
)
SELECT ol.id FROM refunds_orderline ol
WHERE ol.vendor_id = %s
  AND UPPER(ol.sku::text) IN (
      SELECT sku FROM skus
      WHERE sku LIKE '%%' || UPPER(replace(replace(replace(%s, '\', '\\'), '%%', '\%%'), '_', '\_')) || '%%'
  )
"""


def _start_of(day: date, days: int = 0) -> datetime:
    moment = datetime.combine(day, time.min) + timedelta(days=days)
    return timezone.make_aware(moment)


def reason_choices() -> list[tuple[str, str]]:
    return list(ReasonPolicy.objects.order_by("code").values_list("code", "label"))


# ---------------------------------------------------------------- one case


def my_liability(vendor: Vendor, case_id: str) -> VendorLiability | None:
    """The vendor's part of a case, with the case and order: None if not its case."""
    return (
        VendorLiability.objects.filter(vendor=vendor, case__case_id=case_id)
        .select_related("case", "case__order")
        .first()
    )


def my_refund_lines(vendor: Vendor, case: RefundCase) -> QuerySet[RefundLine]:
    return (
        RefundLine.objects.filter(case=case, vendor=vendor)
        .select_related("order_line", "reason")
        .order_by("id")
    )


def visible_events(vendor: Vendor, case: RefundCase) -> QuerySet[CaseEvent]:
    return (
        CaseEvent.objects.filter(case=case)
        .filter(events_visible_to(vendor.pk))
        .select_related("actor", "attachment")
        .defer("data")
        .order_by("created_at", "id")
    )


def status_timeline(case: RefundCase) -> QuerySet[CaseEvent]:
    return (
        CaseEvent.objects.filter(case=case, kind__in=[EventKind.OPENED, EventKind.STATUS_CHANGED])
        .order_by("created_at", "id")
        .only("id", "kind", "from_status", "to_status", "created_at")
    )


def visible_attachments(vendor: Vendor, case: RefundCase) -> QuerySet[Attachment]:
    return Attachment.objects.filter(case=case).filter(attachments_visible_to(vendor.pk))


# ---------------------------------------------------------------- inbox


def notifications_for(vendor: Vendor) -> QuerySet[Notification]:
    return Notification.objects.filter(vendor=vendor).select_related("case")


def unread_count(vendor: Vendor) -> int:
    return Notification.objects.filter(vendor=vendor, read_at__isnull=True).count()
