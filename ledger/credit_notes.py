"""Credit notes: the customer's document for a completed refund case.

One completed case gets exactly one credit note, mirroring the original
invoice's lines for what was refunded: one credit note line per refund line (a
quantity of an order line, an amount against one, or shipping), with the
order line's SKU and description, quantity, net unit amount, tax rate and tax,
and the accounting codes that apply. The total is the case's
total_refund_amount to the minor unit, because it documents that money.

Coding (CreditNoteSettings):
- Channel mapping ON: the order's channel (source and subsource, else the
  source's catch-all mapping) decides the sales account, the tracking category
  and the contact; unmapped channels get the default account, no tracking and
  the order's customer. Lines carry the original invoice's tax: the order
  line's rate and the tax actually refunded (shipping was sold untaxed, so it
  is credited at 0%). This is what the refund journal posted, so documents and
  ledger agree to the cent.
- Channel mapping OFF: the default sales account and the default refund tax
  rate apply to every line (shipping included). The tax is worked out
  tax-inclusive from what the customer got back on the line:
  net = quantize(gross / (1 + rate)), tax = gross - net. We keep the gross
  rather than computing quantize(net × rate) on the refunded net because a
  credit note that does not add up to the money refunded is wrong whatever the
  rate; the two ways differ by at most one minor unit per line, and when the
  default rate is the one the sale used (the usual reason to turn mapping off)
  an amount refund gives exactly the refunded net and tax.

Numbering: sequential per series (prefix and year of the issue date), without
gaps. Numbers are taken by incrementing the series row in the transaction that
inserts the credit notes; the row stays locked until commit, so concurrent
issuers queue in order and a transaction that rolls back gives its numbers
back.

Issuing is idempotent: a case with a credit note is skipped, checked again
under the series lock, so two issuers cannot both see "none yet" (the unique
case constraint is the last line). The ledger's outbox consumer calls
`issue_credit_notes` in the batch transaction that posts the refund journal;
staff and tests call `issue_credit_note`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from lib.errors import DomainError
from lib.money import ZERO, quantize
from refunds import outbox
from refunds.models import (
    CaseEvent,
    CaseStatus,
    Channel,
    OrderLine,
    Payment,
    RefundCase,
    RefundLine,
    RefundLineKind,
)

from .models import (
    Account,
    AccountRole,
    ChannelMapping,
    CreditNote,
    CreditNoteLine,
    CreditNoteSeries,
    CreditNoteSettings,
    TaxCode,
)

SHIPPING_DESCRIPTION = "Shipping"


class CreditNoteError(DomainError):
    pass


# ---------------------------------------------------------------- issuing


def issue_credit_note(case: RefundCase | str) -> CreditNote:
    """The credit note of one completed case, issued now if it has none yet."""
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
        return CreditNote.objects.get(case=found)


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
        settings = CreditNoteSettings.load()
        # Every issuer of a series queues on its row, so once we hold it a
        # credit note another issuer committed for one of our cases is visible:
        # check again, and no case is credited twice. Cases are locked only at
        # the end, one short UPDATE each in case order, by the outbox numbering
        # their messages; staff working a case never wait on a series, so
        # the two cannot deadlock.
        series = {
            year: lock_series(settings.number_prefix, year)
            for year in sorted({issue_date(c).year for c in cases})
        }
        todo = _without_credit_note(cases)
        if not todo:
            return []
        # Numbers follow completion order.
        todo.sort(key=lambda c: (c.completed_at, c.pk))
        context = IssueContext.load(todo, settings)
        drafts = [build_draft(case, context) for case in todo]
        _number(drafts, series)
        notes = CreditNote.objects.bulk_create([d.note for d in drafts])
        lines: list[CreditNoteLine] = []
        for note, draft in zip(notes, drafts, strict=True):
            for line in draft.lines:
                line.credit_note_id = note.pk
                lines.append(line)
        CreditNoteLine.objects.bulk_create(lines, batch_size=2000)
        # Integrators hear of each note (webhook credit_note.created).
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
    # The refund journal's date (see ledger.consumers), so exports agree.
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
    mappings: dict[tuple[str, str], ChannelMapping]
    tax_types: dict[Decimal, str]
    bank_codes: dict[str, str]
    refund_lines: dict[int, list[RefundLine]]
    payments: dict[int, list[Payment]]

    @classmethod
    def load(cls, cases: Sequence[RefundCase], settings: CreditNoteSettings) -> IssueContext:
        case_ids = [c.pk for c in cases]
        order_ids = {c.order_id for c in cases}
        refund_lines: dict[int, list[RefundLine]] = defaultdict(list)
        for line in (
            RefundLine.objects.filter(case_id__in=case_ids)
            .select_related("order_line")
            .order_by("case_id", "id")
        ):
            refund_lines[line.case_id].append(line)
        payments: dict[int, list[Payment]] = defaultdict(list)
        for payment in Payment.objects.filter(order_id__in=order_ids).order_by("id"):
            payments[payment.order_id].append(payment)
        return cls(
            settings=settings,
            mappings={(m.source, m.subsource): m for m in ChannelMapping.objects.all()},
            tax_types=dict(TaxCode.objects.values_list("rate", "tax_type")),
            bank_codes=dict(
                Account.objects.filter(role=AccountRole.GATEWAY_CLEARING).values_list(
                    "payment_method", "bank_account_code"
                )
            ),
            refund_lines=refund_lines,
            payments=payments,
        )

    def mapping_for(self, channel: Channel) -> ChannelMapping | None:
        """The channel's own mapping, else its source's catch-all (blank subsource)."""
        return self.mappings.get((channel.source, channel.subsource)) or self.mappings.get(
            (channel.source, "")
        )

    def tax_type(self, rate: Decimal) -> str:
        # Unnamed rates are written as a percentage, for finance to map on import.
        return self.tax_types.get(rate) or f"{(rate * 100).normalize():f}%"


@dataclass(frozen=True)
class Coding:
    account_code: str
    tracking_name: str
    tracking_option: str
    customer_name: str
    mapped: bool


def coding_for(case: RefundCase, context: IssueContext) -> Coding:
    """Sales account, tracking and contact of the case's credit note."""
    settings = context.settings
    mapping = context.mapping_for(case.order.channel) if settings.channel_mapping_enabled else None
    if mapping is None:
        return Coding(settings.default_sales_account_code, "", "", "", mapped=False)
    return Coding(
        account_code=mapping.sales_account_code or settings.default_sales_account_code,
        tracking_name=mapping.tracking_name,
        tracking_option=mapping.tracking_option,
        customer_name=mapping.customer_name,
        mapped=True,
    )


# ---------------------------------------------------------------- building


@dataclass
class Draft:
    note: CreditNote
    lines: list[CreditNoteLine] = field(default_factory=list)


def build_draft(case: RefundCase, context: IssueContext) -> Draft:
    """The credit note of `case`, unnumbered and unsaved."""
    order = case.order
    settings = context.settings
    coding = coding_for(case, context)
    method = refund_payment_method(context.payments.get(order.pk, []))
    if coding.customer_name:
        # Credited to the channel's contact: the shopper's email and address are not theirs.
        customer_name, customer_email, customer_address = coding.customer_name, "", ""
    else:
        customer_name = order.customer_name or settings.default_customer_name
        customer_email = order.customer_email
        customer_address = order.customer_address
    lines = [
        build_line(refund_line, position, case.currency, coding, context)
        for position, refund_line in enumerate(context.refund_lines.get(case.pk, []), start=1)
    ]
    net = sum((line.net_amount for line in lines), ZERO)
    tax = sum((line.tax_amount for line in lines), ZERO)
    if net + tax != case.total_refund_amount:
        raise CreditNoteError(
            "total",
            f"Credit note lines of {case.case_id} add up to {net + tax}, "
            f"not the {case.total_refund_amount} refunded.",
            code="mismatch",
        )
    note = CreditNote(
        case=case,
        order=order,
        reference=case.case_id,
        order_number=order.number,
        issue_date=issue_date(case),
        currency=case.currency,
        customer_name=customer_name[:200],
        customer_email=customer_email,
        customer_address=customer_address[:500],
        payment_method=method,
        bank_account_code=context.bank_codes.get(method, ""),
        channel_mapping_applied=coding.mapped,
        net_amount=net,
        tax_amount=tax,
        total_amount=net + tax,
    )
    return Draft(note, lines)


def build_line(
    refund_line: RefundLine, position: int, currency: str, coding: Coding, context: IssueContext
) -> CreditNoteLine:
    settings = context.settings
    order_line = refund_line.order_line
    quantity = refund_line.quantity or 1
    account = coding.account_code
    if refund_line.kind == RefundLineKind.SHIPPING:
        description = SHIPPING_DESCRIPTION
        if settings.channel_mapping_enabled and settings.shipping_account_code:
            account = settings.shipping_account_code
    else:
        description = describe(order_line)
    if settings.channel_mapping_enabled:
        # The original invoice's tax: shipping was sold untaxed.
        rate = order_line.tax_rate if order_line is not None else ZERO
        net = refund_line.net_amount + refund_line.shipping_amount
        tax = refund_line.tax_amount
    else:
        rate = settings.default_refund_tax_rate
        gross = refund_line.gross_amount
        net = quantize(gross / (1 + rate), currency)
        tax = gross - net
    preferred = (
        order_line.unit_price
        if order_line is not None and refund_line.kind == RefundLineKind.QUANTITY
        else None
    )
    return CreditNoteLine(
        refund_line=refund_line,
        position=position,
        kind=refund_line.kind,
        description=description,
        quantity=quantity,
        unit_amount=unit_amount(net, quantity, preferred, currency),
        tax_rate=rate,
        tax_type=context.tax_type(rate),
        tax_amount=tax,
        net_amount=net,
        gross_amount=net + tax,
        account_code=account,
        tracking_name=coding.tracking_name,
        tracking_option=coding.tracking_option,
    )


def describe(order_line: OrderLine | None) -> str:
    if order_line is None:
        return ""
    if order_line.description:
        return f"{order_line.sku} {order_line.description}"[:400]
    return order_line.sku


def unit_amount(net: Decimal, quantity: int, preferred: Decimal | None, currency: str) -> Decimal:
    """The invoice's unit price when quantity × it is the net credited; else
    net / quantity (rounded when it does not divide, e.g. after an earlier
    amount refund on the line: the line's net stays the exact figure)."""
    if preferred is not None and preferred * quantity == net:
        return preferred
    return quantize(net / quantity, currency)


def refund_payment_method(payments: Sequence[Payment]) -> str:
    """The method that took most of the order's money (earliest on a tie):
    its clearing account's bank is where the refund is paid from."""
    if not payments:
        return ""
    return max(payments, key=lambda p: (p.amount, -p.pk)).method


# ---------------------------------------------------------------- numbering


def _number(drafts: Sequence[Draft], series: dict[int, CreditNoteSeries]) -> None:
    by_year: dict[int, list[Draft]] = defaultdict(list)
    for draft in drafts:
        by_year[draft.note.issue_date.year].append(draft)
    for year, group in by_year.items():
        first = take_numbers(series[year], len(group))
        for offset, draft in enumerate(group):
            draft.note.series = series[year]
            draft.note.sequence = first + offset
            draft.note.number = series[year].format(first + offset)


def lock_series(prefix: str, year: int) -> CreditNoteSeries:
    """The series row, created on first use and locked until the transaction ends.

    Callers lock series in (prefix, year) order, so concurrent issuers cannot
    deadlock on them.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_series must run inside the credit notes' transaction")
    series, _ = CreditNoteSeries.objects.get_or_create(prefix=prefix, year=year)
    return CreditNoteSeries.objects.select_for_update().get(pk=series.pk)


def take_numbers(series: CreditNoteSeries, count: int) -> int:
    """Reserve `count` consecutive numbers of a series locked by `lock_series`;
    returns the first. A rollback of the transaction gives them back."""
    first = series.next_number
    CreditNoteSeries.objects.filter(pk=series.pk).update(next_number=F("next_number") + count)
    series.next_number = first + count
    return first
