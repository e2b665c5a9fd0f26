"""Read queries scoped by who is asking: a vendor user sees only what touches
its vendors; finance staff and the read-only group see everything."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as AuthUser
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum

from lib.money import ZERO
from vendors.models import Vendor
from vendors.selectors import visible_vendor_ids

from .models import (
    LIABILITY_AMOUNTS,
    Attachment,
    CaseEvent,
    Order,
    OrderLine,
    Payment,
    RefundCase,
    RefundLine,
    RefundLineKind,
    VendorLiability,
)
from .services.opening import opened_vendor_codes
from .visibility import STAFF_LABEL, attachments_visible_to, events_visible_to

User = AuthUser | AnonymousUser


def orders_for(user: User) -> QuerySet[Order]:
    ids = visible_vendor_ids(user)
    lines = OrderLine.objects.select_related("vendor").order_by("id")
    queryset = Order.objects.select_related("channel")
    if ids is not None:
        queryset = queryset.filter(
            Exists(OrderLine.objects.filter(order=OuterRef("pk"), vendor_id__in=ids))
        )
        lines = lines.filter(vendor_id__in=ids)
    return queryset.prefetch_related(
        Prefetch("lines", queryset=lines),
        Prefetch("payments", queryset=Payment.objects.order_by("id")),
    )


def _case_scope(ids: set[int] | None) -> dict[str, Q | None]:
    """What of a case a caller with visible vendors `ids` (None: all) may see:
    the case itself (one of its liabilities is theirs), and which liabilities,
    lines and events. None where nothing is hidden."""
    if ids is None:
        return {
            "case": None,
            "liabilities": None,
            "lines": None,
            "events": None,
            "attachments": None,
        }
    return {
        "case": Q(Exists(VendorLiability.objects.filter(case=OuterRef("pk"), vendor_id__in=ids))),
        "liabilities": Q(vendor_id__in=ids),
        "lines": Q(vendor_id__in=ids) & ~Q(kind=RefundLineKind.SHIPPING),
        # The one rule of what a vendor sees of a case's log (refunds.visibility).
        "events": events_visible_to(ids),
        "attachments": attachments_visible_to(ids),
    }


def _visible_sum(ids: set[int], column: str) -> Subquery:
    """The sum of `column` over the case's liabilities of vendors `ids`."""
    rows = (
        VendorLiability.objects.filter(case=OuterRef("pk"), vendor_id__in=ids)
        .order_by()
        .values("case")
        .annotate(total=Sum(column))
        .values("total")
    )
    return Subquery(rows)


def _scoped(queryset: QuerySet, condition: Q | None) -> QuerySet:
    return queryset if condition is None else queryset.filter(condition)


def case_scope(user: User) -> QuerySet[RefundCase]:
    """The cases `user` may see, with nothing joined or prefetched."""
    return _scoped(RefundCase.objects.all(), _case_scope(visible_vendor_ids(user))["case"])


def cases_for(user: User) -> QuerySet[RefundCase]:
    """The cases `user` may see, with what they may see of each. For a vendor
    user the case's totals are those of its own part (`visible_*`): the rest of
    a shared case is another vendor's business."""
    ids = visible_vendor_ids(user)
    scope = _case_scope(ids)
    liabilities = VendorLiability.objects.select_related("vendor").order_by("vendor__code")
    lines = RefundLine.objects.select_related("order_line", "vendor", "reason").order_by("id")
    events = CaseEvent.objects.select_related("actor", "vendor").order_by("created_at", "id")
    queryset = _scoped(RefundCase.objects.select_related("order", "owner"), scope["case"])
    if ids is not None:
        queryset = queryset.annotate(
            visible_total_refund_amount=_visible_sum(ids, "refund_amount"),
            visible_shipping_refund_amount=_visible_sum(ids, "shipping_amount"),
        )
    attachments = Attachment.objects.select_related("event").order_by("created_at", "id")
    return queryset.prefetch_related(
        Prefetch("liabilities", queryset=_scoped(liabilities, scope["liabilities"])),
        Prefetch("lines", queryset=_scoped(lines, scope["lines"])),
        Prefetch("events", queryset=_scoped(events, scope["events"])),
        Prefetch("attachments", queryset=_scoped(attachments, scope["attachments"])),
    )


# ---------------------------------------------------------------- one case, as rows

# The API's case detail, read as plain rows (values()) rather than model
# instances: the fields refunds.api.serializers.RefundCaseSerializer shows, each
# joined column under the name of its related field. Same scoping and order as
# cases_for; refunds.api.serializers.case_detail_data renders them.
CASE_COLUMNS = (
    "id",
    "case_id",
    "status",
    "status_before_dispute",
    "currency",
    "total_refund_amount",
    "shipping_refund_amount",
    "gateway_reference",
    "note",
    "initiated_at",
    "approved_at",
    "completed_at",
    "closed_at",
)


@dataclass
class CaseRows:
    case: dict[str, Any]
    liabilities: list[dict[str, Any]]
    lines: list[dict[str, Any]]
    events: list[dict[str, Any]]
    attachments: list[dict[str, Any]]


def case_rows(user: User, cases: QuerySet[RefundCase] | None = None, **lookup) -> CaseRows | None:
    """The case matching `lookup` among `cases` (default: `case_scope(user)`),
    with what `user` may see of it; None if there is no such case."""
    scope = _case_scope(visible_vendor_ids(user))
    if cases is None:
        cases = _scoped(RefundCase.objects.all(), scope["case"])
    case = (
        cases.filter(**lookup)
        .values(*CASE_COLUMNS, order_number=F("order__number"), owner_username=F("owner__username"))
        .first()
    )
    if case is None:
        return None
    pk = case["id"]
    liabilities = list(
        _scoped(VendorLiability.objects.filter(case_id=pk), scope["liabilities"])
        .order_by("vendor__code")
        .values(*LIABILITY_AMOUNTS, "overridden", "acknowledged_at", vendor_code=F("vendor__code"))
    )
    vendor_view = scope["liabilities"] is not None
    if vendor_view:
        # A vendor's totals are those of its own part (as cases_for's visible_*).
        case["total_refund_amount"] = sum((row["refund_amount"] for row in liabilities), ZERO)
        case["shipping_refund_amount"] = sum((row["shipping_amount"] for row in liabilities), ZERO)
        # Staff stay anonymous to vendors (refunds.visibility.author_label).
        if case["owner_username"] is not None:
            case["owner_username"] = STAFF_LABEL
    lines = _scoped(RefundLine.objects.filter(case_id=pk), scope["lines"])
    events = _scoped(CaseEvent.objects.filter(case_id=pk), scope["events"])
    attachments = _scoped(Attachment.objects.filter(case_id=pk), scope["attachments"])
    event_rows = list(
        events.order_by("created_at", "id").values(
            "id",
            "kind",
            "from_status",
            "to_status",
            "channel",
            "text",
            "internal",
            "created_at",
            actor_username=F("actor__username"),
            actor_is_staff=F("actor__is_staff"),
            vendor_code=F("vendor__code"),
        )
    )
    for event in event_rows:
        # Staff stay anonymous to vendors (refunds.visibility.author_label).
        if event.pop("actor_is_staff") and vendor_view:
            event["actor_username"] = STAFF_LABEL
    return CaseRows(
        case=case,
        liabilities=liabilities,
        lines=list(
            lines.order_by("id").values(
                "id",
                "kind",
                "order_line_id",
                "quantity",
                "net_amount",
                "tax_amount",
                "shipping_amount",
                "gross_amount",
                "policy_version",
                sku=F("order_line__sku"),
                vendor_code=F("vendor__code"),
                reason_code=F("reason__code"),
            )
        ),
        events=event_rows,
        attachments=list(
            attachments.order_by("created_at", "id").values(
                "id",
                "filename",
                "content_type",
                "size",
                "created_at",
                internal=F("event__internal"),
            )
        ),
    )


def opened_case_rows(case: RefundCase) -> CaseRows:
    """case_rows of a case open_case has just returned, everything visible,
    from what it wrote (in the case's prefetch cache) and the vendors' codes
    it read with the order's lines, in the database's order of them (as
    case_rows sorts); without those, one query for the codes."""
    lines = list(case.lines.all())
    liabilities = list(case.liabilities.all())
    events = list(case.events.all())
    vendor_ids = (
        {row.vendor_id for row in liabilities}
        | {row.vendor_id for row in lines}
        | {row.vendor_id for row in events}
    ) - {None}
    read = opened_vendor_codes(case)
    codes: dict[int | None, str]
    if read is not None and vendor_ids <= read.keys():
        codes = {vendor_id: code for vendor_id, code in read.items() if vendor_id in vendor_ids}
    else:
        codes = dict(
            Vendor.objects.filter(pk__in=vendor_ids).order_by("code").values_list("pk", "code")
        )
    rank = {vendor_id: index for index, vendor_id in enumerate(codes)}
    owner = case.owner
    return CaseRows(
        case={
            **{name: getattr(case, name) for name in CASE_COLUMNS},
            "order_number": case.order.number,
            "owner_username": None if owner is None else owner.username,
        },
        liabilities=[
            {
                **{name: getattr(row, name) for name in LIABILITY_AMOUNTS},
                "overridden": row.overridden,
                "acknowledged_at": row.acknowledged_at,
                "vendor_code": codes[row.vendor_id],
            }
            for row in sorted(liabilities, key=lambda row: rank[row.vendor_id])
        ],
        lines=[
            {
                "id": line.pk,
                "kind": line.kind,
                "order_line_id": line.order_line_id,
                "quantity": line.quantity,
                "net_amount": line.net_amount,
                "tax_amount": line.tax_amount,
                "shipping_amount": line.shipping_amount,
                "gross_amount": line.gross_amount,
                "sku": None if line.order_line is None else line.order_line.sku,
                "vendor_code": codes.get(line.vendor_id),
                "reason_code": line.reason.code,
                "policy_version": line.policy_version,
            }
            for line in sorted(lines, key=lambda line: line.pk)
        ],
        events=[
            {
                "id": event.pk,
                "kind": event.kind,
                "from_status": event.from_status,
                "to_status": event.to_status,
                "channel": event.channel,
                "text": event.text,
                "internal": event.internal,
                "created_at": event.created_at,
                "actor_username": None if event.actor is None else event.actor.username,
                "vendor_code": codes.get(event.vendor_id),
            }
            for event in sorted(events, key=lambda event: (event.created_at, event.pk))
        ],
        attachments=[
            {
                "id": attachment.pk,
                "filename": attachment.filename,
                "content_type": attachment.content_type,
                "size": attachment.size,
                "created_at": attachment.created_at,
                "internal": False,
            }
            for attachment in case.attachments.all()
        ],
    )
