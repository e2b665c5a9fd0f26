"""The ledger's outbox consumer: turns refund events into journals, a batch at
a time, inside the outbox's transaction (see refunds.outbox.drain)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Prefetch

from refunds import outbox
from refunds.models import CaseEvent, CaseStatus, Order, OutboxMessage, Payment, RefundLine
from vendors.models import Vendor

from .credit_notes import issue_credit_notes
from .invoices import is_correction, issue_documents
from .posting import (
    OUTBOX,
    Chart,
    JournalDraft,
    correction_journal,
    post_journals,
    refund_journal,
    sale_journal,
)


def handle_batch(messages: Sequence[OutboxMessage]) -> None:
    order_ids = [m.order_id for m in messages if m.topic == "order.paid" and m.order_id]

    orders = list(
        Order.objects.filter(pk__in=order_ids)
        .select_related("channel")
        .prefetch_related("lines", "payments")
    )
    events = [
        event
        for event in outbox.events_of(m for m in messages if m.topic == "case.status_changed")
        .select_related("case", "case__order", "case__order__channel")
        .prefetch_related(
            Prefetch("case__order__payments", queryset=Payment.objects.order_by("id")),
            Prefetch(
                "case__lines",
                queryset=RefundLine.objects.select_related("order_line", "reason").order_by("id"),
            ),
            "case__liabilities",
        )
        .order_by("id")
        if _posts(event)
    ]
    vendor_ids = {line.vendor_id for order in orders for line in order.lines.all()}
    vendor_codes: dict[str, int] = {}
    for event in events:
        for row in event.data.get("liabilities", []):
            vendor_ids.add(int(row["vendor_id"]))
        codes = [change["vendor"] for change in event.data.get("changes", [])]
        if codes:
            vendor_codes.update(Vendor.objects.filter(code__in=codes).values_list("code", "id"))
    vendor_ids.update(vendor_codes.values())
    chart = Chart(vendor_ids)

    drafts: list[JournalDraft] = [sale_journal(order, chart) for order in orders]
    for event in events:
        on = event.created_at.date()
        if event.from_status == CaseStatus.APPROVED:
            drafts.append(refund_journal(event.case, event.data["liabilities"], on, chart))
        else:
            draft = correction_journal(
                event.case, event.pk, event.data["changes"], on, chart, vendor_codes
            )
            if draft is not None:
                drafts.append(draft)
    post_journals(drafts, posted_by=OUTBOX)
    # After the journals, in the same transaction (dated as they are, exactly
    # once): each paid order's invoices and commission invoices, each
    # completed case's commission credit notes and the commission corrections
    # of disputes resolved after completion (ledger.invoices), then the
    # customers' credit notes (ledger.credit_notes), which correct the invoices.
    completed = [e.case for e in events if e.from_status == CaseStatus.APPROVED]
    issue_documents(
        orders=[*orders, *(case.order_id for case in completed)],
        cases=completed,
        events=[e for e in events if is_correction(e)],
    )
    issue_credit_notes(events)


def _posts(event: CaseEvent) -> bool:
    """Completion posts the refund; a resolution back to completed with new
    shares posts a correction. Other status changes move no money."""
    if event.to_status != CaseStatus.COMPLETED:
        return False
    if event.from_status == CaseStatus.APPROVED:
        return True
    return bool(event.data.get("correction")) and bool(event.data.get("changes"))
