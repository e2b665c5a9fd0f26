"""The vendor's receivables (seed 003): what the platform owes it per order
line, with status and tags, filterable, as HTML or CSV; and its payouts with
the lines each paid.

Every query is scoped to the vendor the request works for (portal.context,
cash.selectors): another vendor's lines and payouts are never read.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from itertools import groupby

from django.http import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_safe

from cash.models import ReceivableStatus, ReceivableTag
from cash.selectors import vendor_payout_allocations, vendor_receivables
from lib.downloads import download
from lib.money import format_amount

from .context import PortalRequest, portal_view

CSV_COLUMNS = [
    "order",
    "line",
    "currency",
    "amount",
    "refunded",
    "paid",
    "open",
    "due_date",
    "payment_date",
    "status",
    "tags",
]


@require_safe
@portal_view
def receivable_list(request: PortalRequest) -> HttpResponseBase:
    vendor = request.portal.vendor
    items = vendor_receivables(vendor.pk)
    status = request.GET.get("status", "")
    tag = request.GET.get("tag", "")
    if status in ReceivableStatus.values:
        items = items.filter(status=status)
    if tag in ReceivableTag.values:
        items = items.filter(**{tag: True})
    if request.GET.get("format") == "csv":
        return download(
            _csv(items), filename=f"receivables-{vendor.code}.csv", content_type="text/csv"
        )
    return render(
        request,
        "portal/receivables/list.html",
        {
            "portal": request.portal,
            "items": items[:500],
            "status": status,
            "tag": tag,
            "statuses": ReceivableStatus.choices,
            "tags": ReceivableTag.choices,
        },
    )


def _csv(items) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for item in items.iterator(chunk_size=500):
        writer.writerow(
            [
                item.order.number,
                item.order_line.sku if item.order_line else "shipping",
                item.currency,
                *(
                    format_amount(value, item.currency)
                    for value in (
                        item.amount,
                        item.refunded_amount,
                        item.paid_amount,
                        item.open_amount,
                    )
                ),
                item.due_date.isoformat(),
                item.payment_date.isoformat() if item.payment_date else "",
                item.status,
                " ".join(item.tags),
            ]
        )
    yield buffer.getvalue()


@require_safe
@portal_view
def payout_list(request: PortalRequest) -> HttpResponseBase:
    rows = list(vendor_payout_allocations(request.portal.vendor.pk)[:1000])
    payouts = [(payout, list(group)) for payout, group in groupby(rows, key=lambda r: r.payout)]
    return render(
        request, "portal/receivables/payouts.html", {"portal": request.portal, "payouts": payouts}
    )
