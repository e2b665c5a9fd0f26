"""Credit notes: the customer's documents for a completed refund case.

A credit note corrects one invoice (ledger.invoices): a completed case gets
one credit note per invoice it touches, so a case over the goods of two
sellers of record (the platform for facilitator vendors, and a vendor that is
seller of record itself) gets two, each in its seller's series (CN-2026-…, or
ACME-CN-2026-… issued on the vendor's behalf). Each mirrors its invoice for
what was refunded: the invoice's customer, one line per refund line (a
quantity of an order line, or an amount against one) with the order line's
SKU, description, quantity, net unit amount and tax rate, and for refunded
shipping one line per part of `refunds.tax.split_shipping` (by earner and
rate, split over the goods the case refunds: the rules the refund journal
posts by) on the invoice of the seller of record of whoever earned it.

Tax is always the tax actually refunded: each goods line carries the refund
line's tax at the order line's rate, and shipping the tax extracted from each
part. That is what the refund journal debits from output tax (or from the
vendor that is seller of record), so documents and books agree to the cent,
whatever the coding settings say. The notes of a case add up to its
total_refund_amount to the minor unit.

Refunds: the case's total goes back over the order's payments by
`refunds.payments.refund_by_payment`, as the refund journal credits their
clearing accounts; each credit note carries one refund row per payment method
with its part (the notes of a case take their parts in turn, each spread over
what the payments have left, so the rows of all notes add up per payment).
The note's own payment_method / bank_account_code name the method that
refunded most of it.

Coding (CreditNoteSettings), for the accounting export:
- Channel mapping ON: the order's channel (source and subsource, else the
  source's catch-all mapping) decides the sales account and the tracking
  category (and the contact, on the invoice the note mirrors); unmapped
  channels get the default account and no tracking.
- Channel mapping OFF: the default sales account and no tracking on every
  line. The default refund tax rate is no longer applied: a rate other than
  the one sold at would make the note disagree with the money refunded and
  with the books (issue 11: tax 0.00 on the note, 7.30 in the journal).

Numbering: sequential per series (prefix and year of the issue date), without
gaps. Numbers are taken by incrementing the series row in the transaction that
inserts the credit notes; the row stays locked until commit, so concurrent
issuers queue in order and a transaction that rolls back gives its numbers
back.

Issuing is idempotent: a case with credit notes is skipped, checked again
under the series locks, so two issuers cannot both see "none yet" (the unique
(case, invoice) constraint is the last line). The ledger's outbox consumer
calls `issue_credit_notes` in the batch transaction that posts the refund
journal; staff and tests call `issue_credit_note`. Either issues first what
the notes need and is missing (the order's invoices, and the case's
commission credit notes to vendors: ledger.invoices.issue_documents).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import transaction

from lib.errors import DomainError
from lib.money import ZERO, allocate, quantize
from refunds import outbox
from refunds.models import (
    CaseEvent,
    CaseStatus,
    OrderLine,
    Payment,
    RefundCase,
    RefundLine,
    RefundLineKind,
)
from refunds.payments import refund_by_payment
from refunds.tax import refund_goods, split_shipping

from .invoices import (
    SHIPPING_DESCRIPTION,
    Parties,
    describe,
    issue_documents,
    journal_dates,
    lines_by_order,
    number_documents,
    order_goods,
    seller_of_record,
    vendor_prefix,
)
from .models import (
    Account,
    AccountRole,
    CreditNote,
    CreditNoteLine,
    CreditNoteRefund,
    CreditNoteSeries,
    CreditNoteSettings,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceLineKind,
    JournalKind,
)

__all__ = [
    "SHIPPING_DESCRIPTION",
    "CreditNoteError",
    "issue_credit_note",
    "issue_credit_notes",
]


class CreditNoteError(DomainError):
    pass


# ---------------------------------------------------------------- issuing


def issue_credit_note(case: RefundCase | str) -> CreditNote:
    """The credit notes of one completed case, issued now if it has none yet;
    returns the first (a case touching two sellers of record has two: see
    `case.credit_notes`)."""
    with transaction.atomic():
        found = _find_case(case)
        if found.completed_at is None:
            raise CreditNoteError(
                "case",
                f"Refund case {found.case_id} is {found.status}: only a completed case "
                "gets a credit note.",
                code="not_completed",
            )
        issue_credit_notes([found])
        return CreditNote.objects.filter(case=found).order_by("id").first()  # type: ignore[return-value]


def issue_credit_notes(items: Iterable[RefundCase | CaseEvent]) -> list[CreditNote]:
    """Issue credit notes for the completed cases among `items` that have none.

    `items` are cases, or outbox case events (only approved -> completed counts,
    so a ledger batch can pass all its events). Returns the notes issued now.
    """
    case_ids = _completed_case_ids(items)
    if not case_ids:
        return []
    with transaction.atomic():
        cases = _without_credit_note(
            RefundCase.objects.select_related("order", "order__channel")
            .filter(pk__in=case_ids, completed_at__isnull=False)
            .order_by("pk")
        )
        if not cases:
            return []
        # What the notes mirror, and the vendors' commission credit notes,
        # before any credit note series is locked (see issue_documents).
        issue_documents(orders={c.order_id for c in cases}, cases=cases)
        settings = CreditNoteSettings.load()
        context = IssueContext.load(cases, settings)
        # Numbers follow completion order.
        cases.sort(key=lambda c: (c.completed_at, c.pk))
        plans = {case.pk: build_drafts(case, context) for case in cases}
        # Every issuer of a series queues on its row, so once we hold it a
        # credit note another issuer committed for one of our cases is visible:
        # check again, and no case is credited twice. Cases are locked only at
        # the end, one short UPDATE each in case order, by the outbox numbering
        # their messages; staff working a case never wait on a series, so
        # the two cannot deadlock.
        keys = sorted({(d.prefix, d.note.issue_date.year) for p in plans.values() for d in p})
        series = {key: lock_series(*key) for key in keys}
        todo = _without_credit_note(cases)
        if not todo:
            return []
        drafts = [draft for case in todo for draft in plans[case.pk]]
        number_documents(series, [((d.prefix, d.note.issue_date.year), d.note) for d in drafts])
        notes = CreditNote.objects.bulk_create([d.note for d in drafts])
        lines: list[CreditNoteLine] = []
        refunds: list[CreditNoteRefund] = []
        for note, draft in zip(notes, drafts, strict=True):
            for line in draft.lines:
                line.credit_note_id = note.pk
                lines.append(line)
            for refund in draft.refunds:
                refund.credit_note_id = note.pk
                refunds.append(refund)
        CreditNoteLine.objects.bulk_create(lines, batch_size=2000)
        CreditNoteRefund.objects.bulk_create(refunds, batch_size=2000)
        # Integrators hear of each case's notes (webhook credit_note.created).
        outbox.emit_many(("credit_note.created", None, case, None) for case in todo)
    return notes


def _without_credit_note(cases: Iterable[RefundCase]) -> list[RefundCase]:
    cases = list(cases)
    issued = set(
        CreditNote.objects.filter(case_id__in=[c.pk for c in cases]).values_list(
            "case_id", flat=True
        )
    )
    return [c for c in cases if c.pk not in issued]


def issue_date(case: RefundCase) -> date:
    # The refund journal's date when it is posted (see IssueContext), so
    # documents, exports and books fall in the same period.
    assert case.completed_at is not None
    return case.completed_at.date()


def _find_case(case: RefundCase | str) -> RefundCase:
    query = (
        RefundCase.objects.filter(pk=case.pk)
        if isinstance(case, RefundCase)
        else RefundCase.objects.filter(case_id=str(case).strip())
    )
    found = query.first()
    if found is None:
        raise CreditNoteError("case", f"Refund case {case} does not exist.", code="not_found")
    return found


def _completed_case_ids(items: Iterable[RefundCase | CaseEvent]) -> list[int]:
    ids: set[int] = set()
    for item in items:
        if isinstance(item, CaseEvent):
            if item.from_status == CaseStatus.APPROVED and item.to_status == CaseStatus.COMPLETED:
                ids.add(item.case_id)
        elif isinstance(item, RefundCase):
            ids.add(item.pk)
        else:
            raise TypeError(f"Expected refund cases or case events, got {type(item).__name__}")
    return sorted(ids)


# ---------------------------------------------------------------- context


@dataclass
class IssueContext:
    """Everything building a batch of credit notes reads, in a few queries."""

    settings: CreditNoteSettings
    parties: Parties
    bank_codes: dict[str, str]
    refund_lines: dict[int, list[RefundLine]]
    order_lines: dict[int, list[OrderLine]]
    payments: dict[int, list[Payment]]
    dates: dict[int, date]
    # The order's sales invoices by seller of record (None: the platform), the
    # invoice of each order line, and of each earner's shipping (order, earner).
    invoices: dict[tuple[int, int | None], Invoice]
    line_invoices: dict[int, Invoice]
    shipping_invoices: dict[tuple[int, int | None], Invoice]

    @classmethod
    def load(cls, cases: Sequence[RefundCase], settings: CreditNoteSettings) -> IssueContext:
        case_ids = [c.pk for c in cases]
        order_ids = {c.order_id for c in cases}
        refund_lines: dict[int, list[RefundLine]] = defaultdict(list)
        for line in (
            RefundLine.objects.filter(case_id__in=case_ids)
            .select_related("order_line", "reason")
            .order_by("case_id", "id")
        ):
            refund_lines[line.case_id].append(line)
        order_lines = lines_by_order(order_ids)
        payments: dict[int, list[Payment]] = defaultdict(list)
        for payment in Payment.objects.filter(order_id__in=order_ids).order_by("id"):
            payments[payment.order_id].append(payment)
        invoices = {
            (invoice.order_id, invoice.seller_vendor_id): invoice
            for invoice in Invoice.objects.filter(order_id__in=order_ids, kind=InvoiceKind.SALE)
        }
        by_id = {invoice.pk: invoice for invoice in invoices.values()}
        line_invoices: dict[int, Invoice] = {}
        shipping_invoices: dict[tuple[int, int | None], Invoice] = {}
        for invoice_line in InvoiceLine.objects.filter(invoice_id__in=list(by_id)).only(
            "invoice_id", "kind", "order_line_id", "earner_vendor_id"
        ):
            invoice = by_id[invoice_line.invoice_id]
            if invoice_line.kind == InvoiceLineKind.GOODS and invoice_line.order_line_id:
                line_invoices[invoice_line.order_line_id] = invoice
            elif invoice_line.kind == InvoiceLineKind.SHIPPING:
                shipping_invoices[(invoice.order_id, invoice_line.earner_vendor_id)] = invoice
        return cls(
            settings=settings,
            parties=Parties.load(),
            bank_codes=dict(
                Account.objects.filter(role=AccountRole.GATEWAY_CLEARING).values_list(
                    "payment_method", "bank_account_code"
                )
            ),
            refund_lines=refund_lines,
            order_lines=order_lines,
            payments=payments,
            dates=journal_dates(JournalKind.REFUND, case_ids),
            invoices=invoices,
            line_invoices=line_invoices,
            shipping_invoices=shipping_invoices,
        )

    def invoice_for(self, case: RefundCase, vendor_id: int | None, what: str) -> Invoice:
        """The sales invoice of the seller of record of `vendor_id`'s goods (None: the
        platform's) on the case's order."""
        order = case.order
        seller = None
        if vendor_id is not None:
            vendors = {line.vendor_id: line.vendor for line in self.order_lines[order.pk]}
            seller = seller_of_record(vendors[vendor_id], order.channel)
        invoice = self.invoices.get((order.pk, seller))
        if invoice is None:
            raise CreditNoteError(
                "invoice",
                f"Order {order.number} has no invoice for {what} refunded by {case.case_id}.",
                code="no_invoice",
            )
        return invoice

    def goods_invoice(self, case: RefundCase, order_line: OrderLine) -> Invoice:
        found = self.line_invoices.get(order_line.pk)
        return found or self.invoice_for(case, order_line.vendor_id, order_line.sku)

    def shipping_invoice(self, case: RefundCase, earner: int | None) -> Invoice:
        found = self.shipping_invoices.get((case.order_id, earner))
        return found or self.invoice_for(case, earner, "shipping")


@dataclass(frozen=True)
class Coding:
    account_code: str
    tracking_name: str
    tracking_option: str
    mapped: bool


def coding_for(case: RefundCase, context: IssueContext) -> Coding:
    """Sales account and tracking of the case's credit notes."""
    settings = context.settings
    mapping = context.parties.mapping_for(case.order.channel)
    if mapping is None:
        return Coding(settings.default_sales_account_code, "", "", mapped=False)
    return Coding(
        account_code=mapping.sales_account_code or settings.default_sales_account_code,
        tracking_name=mapping.tracking_name,
        tracking_option=mapping.tracking_option,
        mapped=True,
    )


# ---------------------------------------------------------------- building


@dataclass
class Draft:
    note: CreditNote
    prefix: str
    lines: list[CreditNoteLine] = field(default_factory=list)
    refunds: list[CreditNoteRefund] = field(default_factory=list)


def build_drafts(case: RefundCase, context: IssueContext) -> list[Draft]:
    """The credit notes of `case`, one per invoice it corrects (the platform's
    first), unnumbered and unsaved."""
    order = case.order
    currency = case.currency
    coding = coding_for(case, context)
    by_invoice: dict[int, list[CreditNoteLine]] = defaultdict(list)
    invoices: dict[int, Invoice] = {}
    refund_lines = context.refund_lines.get(case.pk, [])
    refunded_goods = [
        (line.order_line.vendor_id, line.net_amount, line.order_line.tax_rate)
        for line in refund_lines
        if line.order_line is not None
    ]
    goods = refund_goods(refunded_goods, order_goods(context.order_lines[order.pk]))
    for refund_line in refund_lines:
        order_line = refund_line.order_line
        if refund_line.kind == RefundLineKind.SHIPPING or order_line is None:
            parts = split_shipping(refund_line.gross_amount, goods, order.channel, currency)
            for part in parts:
                invoice = context.shipping_invoice(case, part.earner_vendor_id)
                invoices[invoice.pk] = invoice
                by_invoice[invoice.pk].append(
                    credit_line(
                        refund_line,
                        SHIPPING_DESCRIPTION,
                        1,
                        part.rate,
                        part.net,
                        part.tax,
                        None,
                        shipping_coding(coding, context),
                        context,
                        order.channel.jurisdiction,
                        currency,
                    )
                )
            continue
        invoice = context.goods_invoice(case, order_line)
        invoices[invoice.pk] = invoice
        preferred = order_line.unit_price if refund_line.kind == RefundLineKind.QUANTITY else None
        by_invoice[invoice.pk].append(
            credit_line(
                refund_line,
                describe(order_line),
                refund_line.quantity or 1,
                order_line.tax_rate,
                refund_line.net_amount + refund_line.shipping_amount,
                refund_line.tax_amount,
                preferred,
                coding,
                context,
                order.channel.jurisdiction,
                currency,
            )
        )
    ordered = sorted(
        invoices.values(), key=lambda i: (i.seller_vendor_id is not None, i.seller_vendor_id or 0)
    )
    drafts = [
        draft_for(case, invoice, by_invoice[invoice.pk], coding, context) for invoice in ordered
    ]
    total = sum((d.note.total_amount for d in drafts), ZERO)
    if total != case.total_refund_amount:
        raise CreditNoteError(
            "total",
            f"Credit note lines of {case.case_id} add up to {total}, "
            f"not the {case.total_refund_amount} refunded.",
            code="mismatch",
        )
    add_refunds(case, drafts, context)
    return drafts


def shipping_coding(coding: Coding, context: IssueContext) -> Coding:
    settings = context.settings
    if settings.channel_mapping_enabled and settings.shipping_account_code:
        return Coding(
            settings.shipping_account_code, coding.tracking_name, coding.tracking_option, True
        )
    return coding


def credit_line(
    refund_line: RefundLine,
    description: str,
    quantity: int,
    rate: Decimal,
    net: Decimal,
    tax: Decimal,
    preferred_unit: Decimal | None,
    coding: Coding,
    context: IssueContext,
    jurisdiction: str,
    currency: str,
) -> CreditNoteLine:
    return CreditNoteLine(
        refund_line=refund_line,
        kind=refund_line.kind,
        description=description,
        quantity=quantity,
        unit_amount=unit_amount(net, quantity, preferred_unit, currency),
        **context.parties.line_amounts(rate, jurisdiction, net, tax),
        account_code=coding.account_code,
        tracking_name=coding.tracking_name,
        tracking_option=coding.tracking_option,
    )


def draft_for(
    case: RefundCase,
    invoice: Invoice,
    lines: list[CreditNoteLine],
    coding: Coding,
    context: IssueContext,
) -> Draft:
    for position, line in enumerate(lines, start=1):
        line.position = position
    net = sum((line.net_amount for line in lines), ZERO)
    tax = sum((line.tax_amount for line in lines), ZERO)
    prefix = context.settings.number_prefix
    if invoice.seller_vendor is not None:
        prefix = vendor_prefix(invoice.seller_vendor, prefix)
    note = CreditNote(
        case=case,
        invoice=invoice,
        order=case.order,
        reference=case.case_id,
        order_number=case.order.number,
        issue_date=context.dates.get(case.pk) or issue_date(case),
        currency=case.currency,
        # Mirrors the invoice it corrects.
        customer_name=invoice.customer_name,
        customer_email=invoice.customer_email,
        customer_address=invoice.customer_address,
        channel_mapping_applied=coding.mapped,
        net_amount=net,
        tax_amount=tax,
        total_amount=net + tax,
    )
    return Draft(note, prefix, lines)


def add_refunds(case: RefundCase, drafts: Sequence[Draft], context: IssueContext) -> None:
    """Each note's refund rows, one per payment method: the case's total over
    the order's payments as the refund journal spreads it, each note taking
    its share of what the payments have left in turn."""
    currency = case.currency
    payments = context.payments.get(case.order_id, [])
    if not payments:
        raise CreditNoteError(
            "payments", f"Order {case.order.number} has no payment to refund to.", code="invalid"
        )
    parts = refund_by_payment(case.total_refund_amount, payments, currency)
    left = [amount for _, amount in parts]
    for draft in drafts:
        shares = allocate(draft.note.total_amount, left, currency)
        left = [remaining - share for remaining, share in zip(left, shares, strict=True)]
        by_method: dict[str, Decimal] = {}
        for (payment, _), share in zip(parts, shares, strict=True):
            if share > 0:
                by_method[payment.method] = by_method.get(payment.method, ZERO) + share
        draft.refunds = [
            CreditNoteRefund(
                position=position,
                payment_method=method,
                bank_account_code=context.bank_codes.get(method, ""),
                amount=amount,
            )
            for position, (method, amount) in enumerate(by_method.items(), start=1)
        ]
        main = max(draft.refunds, key=lambda r: (r.amount, -r.position))
        draft.note.payment_method = main.payment_method
        draft.note.bank_account_code = main.bank_account_code


def unit_amount(net: Decimal, quantity: int, preferred: Decimal | None, currency: str) -> Decimal:
    """The invoice's unit price when quantity × it is the net credited; else
    net / quantity (rounded when it does not divide, e.g. after an earlier
    amount refund on the line: the line's net stays the exact figure)."""
    if preferred is not None and preferred * quantity == net:
        return preferred
    return quantize(net / quantity, currency)


# ---------------------------------------------------------------- numbering


def lock_series(prefix: str, year: int) -> CreditNoteSeries:
    """The series row, created on first use and locked until the transaction ends.

    Callers lock series in (prefix, year) order, so concurrent issuers cannot
    deadlock on them.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_series must run inside the credit notes' transaction")
    series, _ = CreditNoteSeries.objects.get_or_create(prefix=prefix, year=year)
    return CreditNoteSeries.objects.select_for_update().get(pk=series.pk)
