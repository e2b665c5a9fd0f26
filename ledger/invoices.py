"""Invoices: the sales invoices of a paid order and the platform's commission
documents to its vendors.

When an order is paid (the ledger's consumer posts its sale journal, and in
the same transaction calls `issue_invoices`) it gets:

- one sales invoice per seller of record (`refunds.tax.tax_model_of`): the
  platform for the goods of facilitator vendors, in the platform's series
  (INV-2026-000001), and each seller-of-record vendor for its own goods, issued
  on its behalf in its own series (ACME-INV-2026-000001) with its name and VAT
  ID. Goods lines carry the order line's rate and tax (rounded per line, as
  sold); shipping is split by `refunds.tax.split_shipping` (the rules the sale
  journal posts by) and each part goes on the invoice of the seller of record
  of whoever earns it (the platform, or a vendor by its share of the goods).
- one commission invoice per vendor with commission on the order: the
  platform invoices the vendor its commission plus the platform's tax on it,
  `ledger.tax.commission_tax` of the vendor's commission in the order, the
  amount the sale journal takes the tax on (COM-2026-000001).

A completed refund case gets a commission credit note per vendor whose
commission it gives back (CCN-2026-000001, the commission reversal of the
breakdown the refund journal posted, tax by the same function), and a dispute
resolved after completion that moves a commission reversal gets a commission
credit note (more given back) or a commission invoice (less) for the
difference, its tax the difference of the tax on each side, as a correcting
journal posts it. Customer credit notes are ledger.credit_notes.

Each document is dated by the journal it documents (issue date = journal
date), so documents and books fall in the same period. Numbers are gapless per
series and year, as credit notes' (the series row is locked and incremented in
the issuing transaction). Issuing is idempotent: what exists is skipped,
checked again under the series locks, and unique constraints are the last
line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import QuerySet

from lib.money import ZERO, format_amount
from refunds.models import CaseEvent, CaseStatus, Channel, Order, OrderLine, RefundCase
from refunds.tax import GoodsShare, split_shipping, tax_model_of
from vendors.models import TaxModel, Vendor

from .models import (
    ChannelMapping,
    CreditNoteSettings,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceLineKind,
    InvoiceSeries,
    IssuerProfile,
    Journal,
    JournalKind,
)
from .models.documents import NumberSeries
from .tax import TaxCodes, commission_tax, commission_tax_rate

INVOICE_PREFIX = "INV-"
COMMISSION_PREFIX = "COM-"
COMMISSION_CREDIT_PREFIX = "CCN-"
SHIPPING_DESCRIPTION = "Shipping"

# A document's identity: what it documents, issued once.
Identity = tuple[str, int | None, int | None]


def identity(invoice: Invoice) -> Identity:
    if invoice.event_id is not None:
        return ("correction", invoice.event_id, invoice.billed_vendor_id)
    if invoice.kind == InvoiceKind.SALE:
        return ("sale", invoice.order_id, invoice.seller_vendor_id)
    if invoice.kind == InvoiceKind.COMMISSION:
        return ("commission", invoice.order_id, invoice.billed_vendor_id)
    return ("commission_credit", invoice.case_id, invoice.billed_vendor_id)


def vendor_prefix(vendor: Vendor, prefix: str) -> str:
    """A seller-of-record vendor's own series: its code before the platform's prefix."""
    return f"{vendor.code}-{prefix}"


def seller_of_record(vendor: Vendor, channel: Channel) -> int | None:
    """The vendor's id when it is seller of record of its goods, None for the platform."""
    return vendor.pk if tax_model_of(vendor, channel) == TaxModel.SELLER else None


def order_goods(lines: Iterable[OrderLine]) -> list[GoodsShare]:
    """The goods shipping is split over, as the sale journal splits it."""
    return [GoodsShare(line.vendor_id, line.net_amount, line.tax_rate) for line in lines]


def describe(order_line: OrderLine | None) -> str:
    if order_line is None:
        return ""
    if order_line.description:
        return f"{order_line.sku} {order_line.description}"[:400]
    return order_line.sku


def tax_type_name(rate: Decimal, code_type: str) -> str:
    # Unnamed rates are written as a percentage, for finance to map on import.
    return code_type or f"{(rate * 100).normalize():f}%"


# ---------------------------------------------------------------- context


@dataclass
class Parties:
    """Who issues and who receives, as printed on documents."""

    settings: CreditNoteSettings
    issuer: IssuerProfile
    mappings: dict[tuple[str, str], ChannelMapping]
    tax_codes: TaxCodes

    @classmethod
    def load(cls) -> Parties:
        return cls(
            settings=CreditNoteSettings.load(),
            issuer=IssuerProfile.load(),
            mappings={(m.source, m.subsource): m for m in ChannelMapping.objects.all()},
            tax_codes=TaxCodes(),
        )

    def mapping_for(self, channel: Channel) -> ChannelMapping | None:
        """The channel's own mapping, else its source's catch-all (blank subsource)."""
        if not self.settings.channel_mapping_enabled:
            return None
        return self.mappings.get((channel.source, channel.subsource)) or self.mappings.get(
            (channel.source, "")
        )

    def platform(self) -> tuple[str, str, str]:
        """The platform's name, address and VAT ID."""
        name = self.issuer.legal_name or self.settings.platform_name
        return name, self.issuer.address.strip(), self.issuer.vat_id

    def customer(self, order: Order) -> tuple[str, str, str]:
        """The order's customer (name, email, address), or the channel's contact."""
        mapping = self.mapping_for(order.channel)
        if mapping is not None and mapping.customer_name:
            # Invoiced to the channel's contact: the shopper's email and address are not theirs.
            return mapping.customer_name[:200], "", ""
        name = order.customer_name or self.settings.default_customer_name
        return name[:200], order.customer_email, order.customer_address[:500]

    def tax(self, rate: Decimal, jurisdiction: str) -> tuple[str, str]:
        """The tax code and the accounting system's tax type of a rate."""
        # The code the journal books the tax to, made on first use as posting does.
        code = self.tax_codes.ensure(rate, jurisdiction)
        return code.code, tax_type_name(rate, code.tax_type)

    def line_amounts(
        self, rate: Decimal, jurisdiction: str, net: Decimal, tax: Decimal
    ) -> dict[str, Any]:
        """A document line's tax and amounts (invoice and credit note lines alike):
        the rate, its tax code and type, net, tax and gross."""
        tax_code, tax_type = self.tax(rate, jurisdiction)
        return {
            "tax_rate": rate,
            "tax_code": tax_code,
            "tax_type": tax_type,
            "net_amount": net,
            "tax_amount": tax,
            "gross_amount": net + tax,
        }


@dataclass
class Draft:
    invoice: Invoice
    lines: list[InvoiceLine] = field(default_factory=list)
    # The seller-of-record vendor whose series numbers it (None: the platform's).
    series_vendor: Vendor | None = None
    prefix: str = INVOICE_PREFIX

    def add(self, line: InvoiceLine) -> None:
        line.position = len(self.lines) + 1
        self.lines.append(line)
        self.invoice.net_amount += line.net_amount
        self.invoice.tax_amount += line.tax_amount
        self.invoice.total_amount = self.invoice.net_amount + self.invoice.tax_amount


def _new_invoice(**fields: Any) -> Invoice:
    return Invoice(net_amount=ZERO, tax_amount=ZERO, total_amount=ZERO, **fields)


# ---------------------------------------------------------------- sales and commission


def sale_drafts(
    order: Order, lines: Sequence[OrderLine], on: date, parties: Parties
) -> list[Draft]:
    """The order's sales invoices (one per seller of record) and commission
    invoices (one per vendor with commission), unsaved and unnumbered.
    `lines` are the order's lines with their vendors."""
    channel = order.channel
    currency = order.currency
    vendors = {line.vendor_id: line.vendor for line in lines}
    seller = {vendor_id: seller_of_record(v, channel) for vendor_id, v in vendors.items()}
    customer_name, customer_email, customer_address = parties.customer(order)
    sales: dict[int | None, Draft] = {}

    def sale(seller_id: int | None) -> Draft:
        if seller_id not in sales:
            if seller_id is None:
                name, address, vat_id = parties.platform()
                series_vendor = None
                prefix = INVOICE_PREFIX
            else:
                vendor = vendors[seller_id]
                name, address, vat_id = vendor.invoice_name, vendor.address.strip(), vendor.vat_id
                series_vendor = vendor
                prefix = vendor_prefix(vendor, INVOICE_PREFIX)
            sales[seller_id] = Draft(
                _new_invoice(
                    kind=InvoiceKind.SALE,
                    order=order,
                    seller_vendor=series_vendor,
                    order_number=order.number,
                    issue_date=on,
                    currency=currency,
                    seller_name=name[:200],
                    seller_address=address[:500],
                    seller_vat_id=vat_id,
                    customer_name=customer_name,
                    customer_email=customer_email,
                    customer_address=customer_address,
                ),
                series_vendor=series_vendor,
                prefix=prefix,
            )
        return sales[seller_id]

    for line in lines:
        sale(seller[line.vendor_id]).add(
            InvoiceLine(
                kind=InvoiceLineKind.GOODS,
                order_line=line,
                description=describe(line),
                quantity=line.quantity,
                unit_amount=line.unit_price,
                **parties.line_amounts(
                    line.tax_rate, channel.jurisdiction, line.net_amount, line.tax_amount
                ),
            )
        )
    for part in split_shipping(order.shipping_amount, order_goods(lines), channel, currency):
        earner = part.earner_vendor_id
        sale(None if earner is None else seller[earner]).add(
            InvoiceLine(
                kind=InvoiceLineKind.SHIPPING,
                earner_vendor=None if earner is None else vendors[earner],
                description=SHIPPING_DESCRIPTION,
                quantity=1,
                unit_amount=part.net,
                **parties.line_amounts(part.rate, channel.jurisdiction, part.net, part.tax),
            )
        )
    drafts = [sales[key] for key in sorted(sales, key=lambda k: (k is not None, k or 0))]

    commission: dict[int, Decimal] = defaultdict(lambda: ZERO)
    sold: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        commission[line.vendor_id] += line.commission_amount
        sold[line.vendor_id] += line.net_amount
    for vendor_id in sorted(commission):
        if commission[vendor_id] > 0:
            drafts.append(
                commission_draft(
                    kind=InvoiceKind.COMMISSION,
                    order=order,
                    vendor=vendors[vendor_id],
                    amount=commission[vendor_id],
                    tax=commission_tax(commission[vendor_id], currency),
                    on=on,
                    parties=parties,
                    description=f"Commission on order {order.number} (sales net of tax "
                    f"{format_amount(sold[vendor_id], currency)} {currency})",
                )
            )
    return drafts


def commission_draft(
    *,
    kind: str,
    order: Order,
    vendor: Vendor,
    amount: Decimal,
    tax: Decimal,
    on: date,
    parties: Parties,
    description: str,
    case: RefundCase | None = None,
    event: CaseEvent | None = None,
    corrects: Invoice | None = None,
) -> Draft:
    """A commission invoice or commission credit note of the platform to a vendor."""
    name, address, vat_id = parties.platform()
    rate = commission_tax_rate()
    draft = Draft(
        _new_invoice(
            kind=kind,
            order=order,
            case=case,
            event=event,
            billed_vendor=vendor,
            corrects=corrects,
            order_number=order.number,
            reference=case.case_id if case is not None else "",
            issue_date=on,
            currency=order.currency,
            seller_name=name[:200],
            seller_address=address[:500],
            seller_vat_id=vat_id,
            customer_name=vendor.invoice_name[:200],
            customer_email=vendor.email,
            customer_address=vendor.address.strip()[:500],
            customer_vat_id=vendor.vat_id,
        ),
        prefix=COMMISSION_PREFIX if kind == InvoiceKind.COMMISSION else COMMISSION_CREDIT_PREFIX,
    )
    draft.add(
        InvoiceLine(
            kind=InvoiceLineKind.COMMISSION,
            description=description[:400],
            quantity=1,
            unit_amount=amount,
            **parties.line_amounts(rate, django_settings.COMMISSION_TAX_JURISDICTION, amount, tax),
        )
    )
    return draft


def lines_by_order(order_ids: Iterable[int]) -> defaultdict[int, list[OrderLine]]:
    """The orders' lines (with their vendor) by order id, in line order."""
    lines: defaultdict[int, list[OrderLine]] = defaultdict(list)
    for line in (
        OrderLine.objects.filter(order_id__in=order_ids)
        .select_related("vendor")
        .order_by("order_id", "id")
    ):
        lines[line.order_id].append(line)
    return lines


def invoice_drafts(order_ids: Sequence[int], issued: set[Identity]) -> list[Draft]:
    """The sales and commission invoices of the orders not yet `issued`, dated
    by each order's sale journal (its date when posted, else the date it will
    post on)."""
    orders_by_id = {
        o.pk: o for o in Order.objects.select_related("channel").filter(pk__in=order_ids)
    }
    lines = lines_by_order(order_ids)
    dates = journal_dates(JournalKind.SALE, order_ids)
    parties = Parties.load()
    drafts: list[Draft] = []
    for order_id in sorted(order_ids):
        order = orders_by_id.get(order_id)
        if order is None or not lines[order_id]:
            continue
        on = dates.get(order_id) or order.placed_at.date()
        drafts += [
            d
            for d in sale_drafts(order, lines[order_id], on, parties)
            if identity(d.invoice) not in issued
        ]
    return drafts


def journal_dates(kind: str, ids: Sequence[int]) -> dict[int, date]:
    """The date of the `kind` journal of each order (sale) or case (refund)."""
    column = "order_id" if kind == JournalKind.SALE else "case_id"
    return dict(
        Journal.objects.filter(kind=kind, **{f"{column}__in": ids}).values_list(column, "date")
    )


def _issued(order_ids: Sequence[int]) -> set[Identity]:
    return {
        identity(invoice)
        for invoice in Invoice.objects.filter(order_id__in=order_ids).only(
            "kind", "order_id", "case_id", "event_id", "seller_vendor_id", "billed_vendor_id"
        )
    }


# ---------------------------------------------------------------- commission credit notes


def completion_event(case: RefundCase) -> CaseEvent | None:
    """The event that completed the case (approved -> completed): its data
    holds the breakdown the refund journal posted."""
    return (
        CaseEvent.objects.filter(
            case=case, from_status=CaseStatus.APPROVED, to_status=CaseStatus.COMPLETED
        )
        .order_by("id")
        .first()
    )


def commission_credit_drafts(
    case: RefundCase,
    breakdown: Sequence[dict[str, Any]],
    on: date,
    parties: Parties,
    vendors: dict[int, Vendor],
    commission_invoices: dict[tuple[int, int], Invoice],
) -> list[Draft]:
    """A commission credit note per vendor of `breakdown` (the completion
    snapshot) whose commission the case gives back."""
    currency = case.currency
    drafts = []
    for row in sorted(breakdown, key=lambda r: int(r["vendor_id"])):
        reversal = Decimal(row["commission_reversal"])
        if reversal <= 0:
            continue
        vendor = vendors[int(row["vendor_id"])]
        corrects = commission_invoices.get((case.order_id, vendor.pk))
        drafts.append(
            commission_draft(
                kind=InvoiceKind.COMMISSION_CREDIT,
                order=case.order,
                vendor=vendor,
                amount=reversal,
                tax=commission_tax(reversal, currency),
                on=on,
                parties=parties,
                case=case,
                corrects=corrects,
                description=f"Commission given back on refund {case.case_id} "
                f"(order {case.order.number})",
            )
        )
    return drafts


def commission_credit_notes_drafts(
    case_ids: Sequence[int], issued: set[Identity], pending: dict[tuple[int, int], Invoice]
) -> list[Draft]:
    """Commission credit notes of the completed cases not yet `issued`, from
    the breakdown their refund journals posted; dated as those journals."""
    found = list(
        RefundCase.objects.select_related("order").filter(
            pk__in=case_ids, completed_at__isnull=False
        )
    )
    if not found:
        return []
    order_ids = sorted({c.order_id for c in found})
    completions = {
        event.case_id: event
        for event in CaseEvent.objects.filter(
            case_id__in=case_ids,
            from_status=CaseStatus.APPROVED,
            to_status=CaseStatus.COMPLETED,
        ).order_by("-id")
    }
    breakdowns = {
        case_id: event.data.get("liabilities", []) for case_id, event in completions.items()
    }
    vendor_ids = {int(r["vendor_id"]) for rows in breakdowns.values() for r in rows}
    vendors = Vendor.objects.in_bulk(vendor_ids)
    dates = journal_dates(JournalKind.REFUND, case_ids)
    parties = Parties.load()
    commission_invoices = {**pending, **_commission_invoices(order_ids)}
    drafts: list[Draft] = []
    for case in sorted(found, key=lambda c: (c.completed_at, c.pk)):
        event = completions.get(case.pk)
        if event is None:
            continue
        on = dates.get(case.pk) or event.created_at.date()
        drafts += [
            d
            for d in commission_credit_drafts(
                case, breakdowns[case.pk], on, parties, vendors, commission_invoices
            )
            if identity(d.invoice) not in issued
        ]
    return drafts


def _commission_invoices(order_ids: Sequence[int]) -> dict[tuple[int, int], Invoice]:
    return {
        (invoice.order_id, invoice.billed_vendor_id): invoice
        for invoice in Invoice.objects.filter(
            order_id__in=order_ids, kind=InvoiceKind.COMMISSION, event__isnull=True
        )
        if invoice.billed_vendor_id is not None
    }


def is_correction(event: CaseEvent) -> bool:
    """A resolution back to completed that changed shares: it posts a correction."""
    return (
        event.to_status == CaseStatus.COMPLETED
        and event.from_status != CaseStatus.APPROVED
        and bool(event.data.get("correction"))
        and bool(event.data.get("changes"))
    )


def correction_drafts(
    events: QuerySet[CaseEvent], issued: set[Identity], pending: dict[tuple[int, int], Invoice]
) -> list[Draft]:
    """For each dispute resolved after completion that moved a vendor's
    commission reversal: a commission credit note for more given back, a
    commission invoice for less. Its tax is the difference of the tax on the
    reversal after and before, as the correcting journal posts it."""
    events_by_id = {
        e.pk: e for e in events.select_related("case", "case__order") if is_correction(e)
    }
    if not events_by_id:
        return []
    order_ids = sorted({e.case.order_id for e in events_by_id.values()})
    codes = {c["vendor"] for e in events_by_id.values() for c in e.data["changes"]}
    vendors = {v.code: v for v in Vendor.objects.filter(code__in=codes)}
    dates = dict(
        Journal.objects.filter(
            posting_key__in=[f"correction:{pk}" for pk in events_by_id]
        ).values_list("posting_key", "date")
    )
    parties = Parties.load()
    commission_invoices = {**pending, **_commission_invoices(order_ids)}
    drafts: list[Draft] = []
    for pk in sorted(events_by_id):
        event = events_by_id[pk]
        case = event.case
        currency = case.currency
        on = dates.get(f"correction:{pk}") or event.created_at.date()
        for change in sorted(event.data["changes"], key=lambda c: c["vendor"]):
            vendor = vendors[change["vendor"]]
            before = Decimal(change["before"]["commission_reversal"])
            after = Decimal(change["after"]["commission_reversal"])
            if after == before:
                continue
            tax = commission_tax(after, currency) - commission_tax(before, currency)
            more = after > before
            draft = commission_draft(
                kind=InvoiceKind.COMMISSION_CREDIT if more else InvoiceKind.COMMISSION,
                order=case.order,
                vendor=vendor,
                amount=abs(after - before),
                tax=abs(tax),
                on=on,
                parties=parties,
                case=case,
                event=event,
                corrects=commission_invoices.get((case.order_id, vendor.pk)),
                description=f"Commission {'given back' if more else 'charged again'} "
                f"after the dispute on refund {case.case_id} was resolved "
                f"(order {case.order.number})",
            )
            if identity(draft.invoice) not in issued:
                drafts.append(draft)
    return drafts


def issue_documents(
    *,
    orders: Iterable[Order | int] = (),
    cases: Iterable[RefundCase | int] = (),
    events: Iterable[CaseEvent | int] = (),
) -> list[Invoice]:
    """Issue what is missing of: the sales and commission invoices of `orders`,
    the commission credit notes of completed `cases`, and the commission
    corrections of the dispute resolutions among `events`. Returns the
    documents issued now.

    One call numbers everything in one go, taking the series locks in one
    sorted order: a transaction that issues documents calls this once, before
    it issues customer credit notes (ledger.credit_notes), so concurrent
    issuers always lock series in the same order and cannot deadlock.
    """
    order_ids = sorted({o if isinstance(o, int) else o.pk for o in orders})
    case_ids = sorted({c if isinstance(c, int) else c.pk for c in cases})
    given = list(events)
    event_ids = sorted({e if isinstance(e, int) else e.pk for e in given})
    if not (order_ids or case_ids or event_ids):
        return []
    event_rows = CaseEvent.objects.filter(pk__in=event_ids)
    rows = [e for e in given if not isinstance(e, int)]
    if rows and len(rows) == len(given):
        # Found again by (id, created_at) too: events are partitioned by month
        # of created_at, and by id alone every month's partition is probed.
        event_rows = event_rows.filter(created_at__in={e.created_at for e in rows})
    with transaction.atomic():
        touched = set(order_ids)
        touched.update(
            RefundCase.objects.filter(pk__in=case_ids).values_list("order_id", flat=True)
        )
        touched.update(event_rows.values_list("case__order_id", flat=True))
        issued = _issued(sorted(touched))
        drafts = invoice_drafts(order_ids, issued) if order_ids else []
        # Commission invoices issued in this same call, for credit notes to correct.
        pending = {
            (d.invoice.order_id, d.invoice.billed_vendor_id): d.invoice
            for d in drafts
            if d.invoice.kind == InvoiceKind.COMMISSION and d.invoice.billed_vendor_id
        }
        if case_ids:
            drafts += commission_credit_notes_drafts(case_ids, issued, pending)
        if event_ids:
            drafts += correction_drafts(event_rows, issued, pending)
        return issue_drafts(drafts)


def issue_invoices(orders: Iterable[Order | int]) -> list[Invoice]:
    """The sales and commission invoices of `orders` that have none yet."""
    return issue_documents(orders=orders)


# ---------------------------------------------------------------- numbering and writing


def issue_drafts(drafts: Sequence[Draft]) -> list[Invoice]:
    """Number and write `drafts`, leaving out any a concurrent issuer wrote
    first: every issuer locks the series it numbers in before it checks, so
    once we hold them, what another committed is visible."""
    if not drafts:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("issue_drafts must run inside the issuing transaction")
    keys = sorted({(d.prefix, d.invoice.issue_date.year) for d in drafts})
    vendors = {(d.prefix, d.invoice.issue_date.year): d.series_vendor for d in drafts}
    series = {key: lock_series(*key, vendor=vendors[key]) for key in keys}
    issued = _issued(sorted({d.invoice.order_id for d in drafts}))
    todo = [d for d in drafts if identity(d.invoice) not in issued]
    if not todo:
        return []
    number_documents(series, [((d.prefix, d.invoice.issue_date.year), d.invoice) for d in todo])
    # Documents that correct one written in this call go in after it (they need its id).
    ready = [d for d in todo if d.invoice.corrects is None or d.invoice.corrects.pk]
    later = [d for d in todo if d.invoice.corrects is not None and not d.invoice.corrects.pk]
    todo = ready + later
    invoices = Invoice.objects.bulk_create([d.invoice for d in ready])
    invoices += Invoice.objects.bulk_create([d.invoice for d in later])
    lines: list[InvoiceLine] = []
    for invoice, draft in zip(invoices, todo, strict=True):
        for line in draft.lines:
            line.invoice_id = invoice.pk
            lines.append(line)
    InvoiceLine.objects.bulk_create(lines, batch_size=2000)
    return invoices


def lock_series(prefix: str, year: int, *, vendor: Vendor | None = None) -> InvoiceSeries:
    """The series row, created on first use and locked until the transaction
    ends. Callers lock in (prefix, year) order, so issuers cannot deadlock."""
    series, _ = InvoiceSeries.objects.get_or_create(
        prefix=prefix, year=year, defaults={"vendor": vendor}
    )
    return InvoiceSeries.objects.select_for_update().get(pk=series.pk)


def number_documents(
    series: Mapping[tuple[str, int], NumberSeries], documents: Sequence[tuple[tuple[str, int], Any]]
) -> None:
    """Number `documents` (invoices, credit notes), each given with the key
    (prefix, year) of its series in `series` (locked by the caller): each
    series' next numbers, in the order given."""
    by_series: dict[tuple[str, int], list[Any]] = defaultdict(list)
    for key, document in documents:
        by_series[key].append(document)
    for key, group in by_series.items():
        first = series[key].take_numbers(len(group))
        for offset, document in enumerate(group):
            document.series = series[key]
            document.sequence = first + offset
            document.number = series[key].format(first + offset)


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class TaxRow:
    """One rate of a document's tax summary."""

    rate: Decimal
    tax_code: str
    tax_type: str
    net: Decimal
    tax: Decimal


def tax_summary(lines: Iterable[Any]) -> list[TaxRow]:
    """Net and tax per rate (and tax code) of invoice or credit note lines, by rate."""
    sums: dict[tuple[Decimal, str, str], list[Decimal]] = {}
    for line in lines:
        key = (line.tax_rate, line.tax_code, line.tax_type)
        row = sums.setdefault(key, [ZERO, ZERO])
        row[0] += line.net_amount
        row[1] += line.tax_amount
    return [
        TaxRow(rate, code, tax_type, net, tax)
        for (rate, code, tax_type), (net, tax) in sorted(sums.items())
    ]


# ---------------------------------------------------------------- backfill


@dataclass
class Backfilled:
    invoices: int = 0
    credit_notes: int = 0


def issue_missing_documents(chunk_size: int = 500) -> Backfilled:
    """Issue every document the books say is due and that does not exist:
    for orders whose sale journal is posted, their invoices; for cases whose
    refund journal is posted, their credit notes and commission credit notes;
    for posted corrections, their commission documents. Dated as those
    journals. For data from before invoices existed (`manage.py
    issue_invoices`); each chunk commits on its own, and a second run issues
    nothing. Credit notes issued before invoices stay as they were issued
    (they are never changed) and keep no invoice."""
    from .credit_notes import issue_credit_notes

    done = Backfilled()
    orders = (
        Journal.objects.filter(kind=JournalKind.SALE, order_id__isnull=False)
        .exclude(order__invoices__kind=InvoiceKind.SALE)
        .values_list("order_id", flat=True)
        .order_by("order_id")
    )
    for chunk in _chunks(list(orders), chunk_size):
        done.invoices += len(issue_documents(orders=chunk))
    cases = list(
        Journal.objects.filter(kind=JournalKind.REFUND, case_id__isnull=False)
        .values_list("case_id", flat=True)
        .order_by("case_id")
    )
    for chunk in _chunks(cases, chunk_size):
        with transaction.atomic():
            done.invoices += len(issue_documents(cases=chunk))
            completed = RefundCase.objects.filter(pk__in=chunk).order_by("pk")
            done.credit_notes += len(issue_credit_notes(completed))
    corrections = list(
        CaseEvent.objects.filter(
            pk__in=[
                int(key.removeprefix("correction:"))
                for key in Journal.objects.filter(kind=JournalKind.CORRECTION).values_list(
                    "posting_key", flat=True
                )
                if key.startswith("correction:")
            ]
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for chunk in _chunks(corrections, chunk_size):
        done.invoices += len(issue_documents(events=chunk))
    return done


def _chunks(ids: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
