"""The case trace: one refund case followed from the request to the bank.

`case_trace(case, vendor_ids=None)` lists the steps in order, each with a
link, and the gaps (a step that should be there and is not) with why:

1. the request and every event of the case;
2. the refund journal(s) the ledger posted for the case;
3. the credit note(s);
4. the provider's refund row (cash.PayoutReportRow of type refund tied to
   the case, else found by the case's gateway reference) and the payout that
   carried it, and the bank line that payout was matched with;
5. per vendor that bears a part: the settlement statement whose period holds
   the refund journal's date (the one that deducted the vendor), the first
   vendor payout on or after that period's end, and the bank line that
   payout was matched with.

Vendors (`vendor_ids` given) see their own part only: events visible to them,
their own statement and payout; no journal, credit note, provider row or bank
line (those carry other vendors' amounts or the platform's bank details); a
bank step says only whether the payout is matched with the bank.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.urls import NoReverseMatch, reverse

from ledger.models import CreditNote, Journal, JournalKind, Payout, SettlementStatement
from refunds.models import CaseEvent, RefundCase, VendorLiability
from refunds.statuses import CaseStatus
from refunds.visibility import events_visible_to

from ..models import (
    Allocation,
    OpenItem,
    PayoutReport,
    PayoutReportRow,
    RowType,
    Suggestion,
    SuggestionStatus,
)


@dataclass
class TraceStep:
    kind: str
    label: str
    when: date | datetime | None = None
    amount: Decimal | None = None
    currency: str = ""
    link: str | None = None
    vendor: str = ""


@dataclass
class TraceGap:
    kind: str
    why: str
    vendor: str = ""


@dataclass
class CaseTrace:
    case_id: str
    status: str
    steps: list[TraceStep] = field(default_factory=list)
    gaps: list[TraceGap] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.gaps

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "status": self.status,
            "complete": self.complete,
            "steps": [asdict(s) for s in self.steps],
            "gaps": [asdict(g) for g in self.gaps],
        }


def _url(name: str, *args: Any) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _bank_step(
    trace: CaseTrace, kind: str, source_id: int, what: str, *, staff: bool, vendor: str = ""
) -> None:
    """The bank line an open item (a payout) was matched with, or the gap."""
    item = OpenItem.objects.filter(kind=kind, source_id=source_id).first()
    if item is None:
        trace.gaps.append(
            TraceGap(
                "bank_line",
                f"{what} is not an open item yet (no reconciliation run since).",
                vendor,
            )
        )
        return
    allocation = (
        Allocation.objects.filter(item=item, reversed_at__isnull=True)
        .select_related("line")
        .order_by("id")
        .first()
    )
    if allocation is None:
        pending = Suggestion.objects.filter(
            items__item=item, status=SuggestionStatus.PENDING
        ).exists()
        why = (
            f"{what} has a suggested bank line waiting for a person to confirm."
            if pending
            else f"No bank line is matched with {what} yet."
        )
        trace.gaps.append(TraceGap("bank_line", why, vendor))
        return
    line = allocation.line
    if not staff:
        trace.steps.append(
            TraceStep(
                "bank_line", f"{what} is matched with the bank", line.booking_date, vendor=vendor
            )
        )
        return
    trace.steps.append(
        TraceStep(
            "bank_line",
            f"Bank line {line.natural_key} ({allocation.get_method_display()})",
            line.booking_date,
            line.amount,
            line.currency,
            _url("admin:cash_bankstatementline_change", line.pk),
            vendor,
        )
    )


def _provider_side(trace: CaseTrace, case: RefundCase) -> None:
    rows = list(
        PayoutReportRow.objects.filter(refund_case=case, type=RowType.REFUND).select_related(
            "report"
        )
    )
    if not rows and case.gateway_reference:
        rows = list(
            PayoutReportRow.objects.filter(
                gateway_reference=case.gateway_reference, type=RowType.REFUND
            ).select_related("report")
        )
    if not rows:
        why = (
            "The case has no gateway reference to find the provider's refund by."
            if not case.gateway_reference
            else f"No imported payout report has a refund row with gateway reference "
            f"{case.gateway_reference} (import the provider's report for that day)."
        )
        trace.gaps.append(TraceGap("provider_refund", why))
        return
    reports: dict[int, PayoutReport] = {}
    for row in rows:
        trace.steps.append(
            TraceStep(
                "provider_refund",
                f"Provider refund row {row.gateway_reference} in payout {row.payout_id} "
                f"(row {row.row_number}, {row.match_status})",
                row.transaction_date,
                row.gross,
                row.currency,
                _url("admin:cash_payoutreport_change", row.report_id),
            )
        )
        reports[row.report_id] = row.report
    for report in reports.values():
        trace.steps.append(
            TraceStep(
                "provider_payout",
                f"Provider payout {report.payout_id}",
                report.arrival_date,
                report.payout_amount,
                report.currency,
                _url("admin:cash_payoutreport_change", report.pk),
            )
        )
        _bank_step(
            trace, "provider_payout", report.pk, f"provider payout {report.payout_id}", staff=True
        )


def _vendor_side(
    trace: CaseTrace, case: RefundCase, on: date | None, vendor_ids: Collection[int] | None
) -> None:
    staff = vendor_ids is None
    liabilities = VendorLiability.objects.filter(case=case).select_related("vendor")
    if vendor_ids is not None:
        liabilities = liabilities.filter(vendor_id__in=vendor_ids)
    for liability in liabilities.order_by("vendor__code"):
        vendor = liability.vendor
        if liability.vendor_share == 0:
            continue  # the platform bears it all: nothing deducted from this vendor
        if on is None:
            trace.gaps.append(
                TraceGap(
                    "settlement_statement", "No refund journal: nothing deducted yet.", vendor.code
                )
            )
            continue
        statement = (
            SettlementStatement.objects.filter(
                vendor=vendor, currency=case.currency, period_start__lte=on, period_end__gte=on
            )
            .order_by("period_start")
            .first()
        )
        if statement is None:
            trace.gaps.append(
                TraceGap(
                    "settlement_statement",
                    f"No settlement statement of {vendor.code} covers {on} yet "
                    "(made nightly once the period has closed).",
                    vendor.code,
                )
            )
            continue
        trace.steps.append(
            TraceStep(
                "settlement_statement",
                f"Settlement statement {statement} deducted {liability.vendor_share}",
                statement.period_end,
                -liability.vendor_share,
                statement.currency,
                _url("statements:detail", statement.pk),
                vendor.code,
            )
        )
        payout = (
            Payout.objects.filter(
                vendor=vendor, currency=case.currency, paid_on__gte=statement.period_end
            )
            .order_by("paid_on", "id")
            .first()
        )
        if payout is None:
            trace.gaps.append(
                TraceGap(
                    "vendor_payout",
                    f"No payout to {vendor.code} since the statement's period ended.",
                    vendor.code,
                )
            )
            continue
        trace.steps.append(
            TraceStep(
                "vendor_payout",
                f"Payout {payout.reference or payout.pk} to {vendor.code}",
                payout.paid_on,
                payout.amount,
                payout.currency,
                _url("admin:ledger_payout_change", payout.pk) if staff else None,
                vendor.code,
            )
        )
        _bank_step(
            trace,
            "vendor_payout",
            payout.pk,
            f"the payout to {vendor.code}",
            staff=staff,
            vendor=vendor.code,
        )


def case_trace(case: RefundCase, *, vendor_ids: Collection[int] | None = None) -> CaseTrace:
    """The case from request to bank; `vendor_ids` (a vendor user's) limits it to their part."""
    staff = vendor_ids is None
    trace = CaseTrace(case_id=case.case_id, status=case.status)
    events = CaseEvent.objects.filter(case=case).order_by("created_at", "id")
    if vendor_ids is not None:
        events = events.filter(events_visible_to(vendor_ids))
    case_link = _url("admin:refunds_refundcase_change", case.pk) if staff else None
    for event in events:
        change = f" {event.from_status} → {event.to_status}" if event.to_status else ""
        trace.steps.append(
            TraceStep(
                "event", f"{event.get_kind_display()}{change}", event.created_at, link=case_link
            )
        )
    journals = list(
        Journal.objects.filter(case=case, kind=JournalKind.REFUND).order_by("date", "id")
    )
    refund_day = journals[0].date if journals else None
    if not journals:
        why = (
            "The case is not completed: nothing is refunded yet."
            if case.completed_at is None
            else "The ledger has not posted the refund yet (the outbox is behind)."
        )
        trace.gaps.append(TraceGap("refund_journal", why))
    if staff:
        for journal in journals:
            trace.steps.append(
                TraceStep(
                    "refund_journal",
                    f"Refund journal {journal.posting_key}",
                    journal.date,
                    None,
                    journal.currency,
                    _url("admin:ledger_journal_change", journal.pk),
                )
            )
        notes = list(CreditNote.objects.filter(case=case).order_by("id"))
        for note in notes:
            trace.steps.append(
                TraceStep(
                    "credit_note",
                    f"Credit note {note}",
                    note.issue_date,
                    note.total_amount,
                    case.currency,
                    _url("admin:ledger_creditnote_change", note.pk),
                )
            )
        if journals and not notes:
            trace.gaps.append(TraceGap("credit_note", "No credit note was issued for the refund."))
        if case.status in (CaseStatus.COMPLETED, CaseStatus.CLOSED) or journals:
            _provider_side(trace, case)
    elif journals:
        trace.steps.append(TraceStep("refund_journal", "Refund posted", refund_day))
    _vendor_side(trace, case, refund_day, vendor_ids)
    return trace
