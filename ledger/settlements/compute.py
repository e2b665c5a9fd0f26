"""Settlement statements: what each vendor was owed, period by period.

A statement covers one vendor, one currency and one period: a Monday-to-Sunday
week or a calendar month, by the vendor's payout frequency. Its figures come
from the vendor's payable account, seen from the vendor's side (owed = credit
minus debit):

    closing = opening + sales - deductions + adjustments - payouts

Sales are sale journals (net of commission), deductions refund journals,
adjustments corrections and reversals, payouts payout journals.

Entries belong to a statement by journal date, as known at its cutoff (shortly
before it was generated). An entry posted after that cutoff but dated in or
before the period (a refund the outbox posted after midnight, a back-dated
reversal) is carried into the next statement as a line of its own: nothing is
lost and nothing already stated changes. So each opening is the previous
closing, a negative closing is simply carried forward, and every closing is
what the ledger says the vendor was owed at the end of the period; generation
checks that against the maintained account balance and refuses to store a
statement that disagrees.

Statements store totals only; their lines are the entries, which never change,
read again on demand (`statement_entries`). Beside them a statement lists the
commission invoices and commission credit notes the platform issued to the
vendor in the period and currency (`statement_documents`): the documents for
the commission its sales and refunds lines are net of.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import router, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    F,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Cast, Coalesce, Concat, NullIf
from django.utils import timezone

from lib.money import AMOUNT_DIGITS, AMOUNT_PLACES, ZERO
from lib.planning import key_lookups
from vendors.models import PayoutFrequency

from ..detached import (
    EntriesDetachedError,
    attached_months_held,
    first_attached_day,
    statement_archived,
)
from ..models import (
    COMMISSION_KINDS,
    AccountBalance,
    AccountDay,
    AccountRole,
    DetachedTotal,
    Entry,
    Invoice,
    JournalKind,
    SettlementStatement,
)
from ..models.journals import JOURNAL_OF_ITS_DATE

logger = logging.getLogger(__name__)

# A statement takes the entries posted up to this long before it is generated:
# a posting transaction that took its timestamp just before is committed by
# then, so no entry can fall between two statements.
CUTOFF_MARGIN = timedelta(minutes=5)

SALES = (JournalKind.SALE,)
DEDUCTIONS = (JournalKind.REFUND,)
ADJUSTMENTS = (JournalKind.CORRECTION, JournalKind.REVERSAL)
PAYOUTS = (JournalKind.PAYOUT,)

LINE_LABELS = {
    JournalKind.SALE: "Sale",
    JournalKind.REFUND: "Refund deduction",
    JournalKind.CORRECTION: "Adjustment (dispute correction)",
    JournalKind.REVERSAL: "Adjustment (reversal)",
    JournalKind.PAYOUT: "Payout",
    JournalKind.RECLASSIFICATION: "Adjustment (debit balance moved to receivable)",
}


# Sums of many amounts need more digits than one amount.
SUM_FIELD = DecimalField(max_digits=AMOUNT_DIGITS + 6, decimal_places=AMOUNT_PLACES)


class StatementMismatch(RuntimeError):
    """The entries do not add up to the maintained balance: nothing is stored."""


# ---------------------------------------------------------------- periods


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end


def period_containing(day: date, frequency: str) -> Period:
    if frequency == PayoutFrequency.WEEKLY:
        start = day - timedelta(days=day.weekday())
        return Period(start, start + timedelta(days=6))
    if frequency == PayoutFrequency.MONTHLY:
        start = day.replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
        return Period(start, following - timedelta(days=1))
    raise ValueError(f"Unknown payout frequency {frequency!r}")


def due_periods(start: date, today: date, frequency: str) -> list[Period]:
    """The periods from `start` that ended before `today`.

    The first one runs from `start` to the end of its period, so it is short
    when `start` is not a period's first day (the vendor changed frequency).
    """
    periods = []
    while (end := period_containing(start, frequency).end) < today:
        periods.append(Period(start, end))
        start = end + timedelta(days=1)
    return periods


# ---------------------------------------------------------------- figures


@dataclass
class Movements:
    """A period's movements, each a positive amount except adjustments (signed)."""

    sales: Decimal = ZERO
    deductions: Decimal = ZERO
    adjustments: Decimal = ZERO
    payouts: Decimal = ZERO
    entry_count: int = 0

    def add(self, kind: str, owed: Decimal, count: int) -> None:
        if kind in SALES:
            self.sales += owed
        elif kind in DEDUCTIONS:
            self.deductions -= owed
        elif kind in PAYOUTS:
            self.payouts -= owed
        else:
            self.adjustments += owed
        self.entry_count += count

    @property
    def net(self) -> Decimal:
        return self.sales - self.deductions + self.adjustments - self.payouts


@dataclass
class Generated:
    statements: list[SettlementStatement] = field(default_factory=list)
    # (vendor id, currency, what went wrong): those vendors are retried next run.
    failures: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    account_id: int
    vendor_id: int
    frequency: str
    currency: str


def _owed() -> CombinedExpression:
    return F("credit") - F("debit")


def _sum(expression: CombinedExpression, **kwargs: Any) -> Coalesce:
    return Coalesce(Sum(expression, **kwargs), Value(ZERO), output_field=SUM_FIELD)


# ---------------------------------------------------------------- generating


def generate_due_statements(
    today: date | None = None,
    *,
    vendor_ids: Iterable[int] | None = None,
    cutoff: datetime | None = None,
) -> Generated:
    """Make every statement whose period ended before `today`, for every vendor
    (or those of `vendor_ids`) and currency of its payable account.

    Idempotent: each vendor and currency continues after its latest statement,
    so a missed run is caught up and a repeated one makes nothing. Periods with
    no entry and nothing carried in are skipped. Each vendor and currency is
    made in its own transaction: one that fails does not hold the others back.
    """
    today = today or timezone.localdate()
    cutoff = cutoff or timezone.now() - CUTOFF_MARGIN
    result = Generated()
    for target in _targets(vendor_ids):
        try:
            result.statements += generate_for(target, today, cutoff)
        except StatementMismatch as error:
            logger.error("settlements: %s", error)
            result.failures.append((target.vendor_id, target.currency, str(error)))
    return result


def _targets(vendor_ids: Iterable[int] | None) -> list[Target]:
    # Every currency a payable account has posted in has a maintained balance row.
    balances = AccountBalance.objects.filter(account__role=AccountRole.VENDOR_PAYABLE)
    if vendor_ids is not None:
        balances = balances.filter(account__vendor_id__in=list(vendor_ids))
    return [
        Target(*row)
        for row in balances.order_by("account__vendor_id", "currency").values_list(
            "account_id", "account__vendor_id", "account__vendor__payout_frequency", "currency"
        )
    ]


def generate_for(target: Target, today: date, cutoff: datetime) -> list[SettlementStatement]:
    """The due statements of one vendor in one currency (see the module doc)."""
    alias = router.db_for_read(Entry)
    # No month is detached while we read (ledger.detached.attached_months_held):
    # the detached part of the opening and the entries after it are of the
    # same months.
    with transaction.atomic(), attached_months_held(alias):
        # Locking the balance row serialises generators of this account and
        # currency, and holds back postings to it until we are done: each
        # query below sees the same entries, and the balance that sums them.
        balance = (
            AccountBalance.objects.select_for_update()
            .filter(account_id=target.account_id, currency=target.currency)
            .values_list("debit", "credit")
            .first()
        )
        if balance is None:
            return []
        previous = (
            SettlementStatement.objects.filter(
                account_id=target.account_id, currency=target.currency
            )
            .order_by("-period_end")
            .first()
        )
        # The entries of one account are read by key, as its statement's
        # lines are (lib.planning): the ledger around them may be large.
        with key_lookups(alias):
            entries = Entry.objects.filter(
                JOURNAL_OF_ITS_DATE, account_id=target.account_id, currency=target.currency
            )
            known = Q(journal__created_at__lte=cutoff)
            detached = _detached_part(target, previous, cutoff)
            if previous is not None:
                start = previous.period_end + timedelta(days=1)
            else:
                first = entries.filter(known).aggregate(first=Min("date"))["first"]
                if first is None:
                    return []
                start = period_containing(first, target.frequency).start
            periods = due_periods(start, today, target.frequency)
            if not periods:
                return []
            end = periods[-1].end
            in_range = known & Q(date__gte=start, date__lte=end)
            before = known & Q(date__lt=start)
            # Dated before the new periods but posted after the last statement was cut.
            late = before & Q(journal__created_at__gt=previous.cutoff) if previous else None

            totals = entries.values("journal__kind").annotate(
                before=_sum(_owed(), filter=before if late is None else before & ~late),
                later=_sum(_owed(), filter=~known | Q(date__gt=end)),
                **(
                    {"late": _sum(_owed(), filter=late), "late_count": Count("id", filter=late)}
                    if late is not None
                    else {}
                ),
            )
            # The entries of detached months (all before `start`, and known to the
            # previous statement: ledger.detached) from their daily totals.
            opening = detached
            carried_in = Movements()
            later = ZERO
            for row in totals.order_by():
                opening += row["before"]
                later += row["later"]
                if late is not None:
                    carried_in.add(row["journal__kind"], row["late"], row["late_count"])
            if previous is not None and opening != previous.closing:
                # An entry stamped before the last statement's cutoff but committed
                # after that statement was made: it is in no statement. Refuse rather
                # than fold it silently into this opening balance.
                raise StatementMismatch(
                    f"vendor {target.vendor_id} {target.currency}: the ledger owed {opening} "
                    f"before {start} but the statement ending {previous.period_end} closed at "
                    f"{previous.closing}: an entry posted by its cutoff ({previous.cutoff}) "
                    f"committed after it was made (a posting that took longer than "
                    f"{CUTOFF_MARGIN}, or a clock running behind)"
                )
            days = (
                entries.filter(in_range)
                .values("date", "journal__kind")
                .annotate(owed=_sum(_owed()), count=Count("id"))
                .order_by("date")
            )
            by_period = _by_period(periods, days, carried_in)

        created: list[SettlementStatement] = []
        for period, moved in zip(periods, by_period, strict=True):
            closing = opening + moved.net
            if moved.entry_count or opening:
                previous = SettlementStatement.objects.create(
                    vendor_id=target.vendor_id,
                    account_id=target.account_id,
                    currency=target.currency,
                    frequency=target.frequency,
                    period_start=period.start,
                    period_end=period.end,
                    cutoff=cutoff,
                    previous=previous,
                    opening=opening,
                    sales=moved.sales,
                    deductions=moved.deductions,
                    adjustments=moved.adjustments,
                    payouts=moved.payouts,
                    closing=closing,
                    entry_count=moved.entry_count,
                )
                created.append(previous)
            opening = closing
        # What the ledger says was owed at the end: the maintained balance less
        # what was posted for later or after the cutoff.
        debit, credit = balance
        owed_at_end = credit - debit - later
        if opening != owed_at_end:
            raise StatementMismatch(
                f"vendor {target.vendor_id} {target.currency}: statements close at {opening} "
                f"on {end} but the ledger says {owed_at_end}"
            )
    return created


def _detached_part(
    target: Target, previous: SettlementStatement | None, cutoff: datetime
) -> Decimal:
    """What the account's entries of detached months add up to (owed), from
    the daily totals. The detach rule saw them all in statements already;
    this refuses if that does not hold (nothing is stored)."""
    first = first_attached_day()
    if first is None:
        return ZERO
    days = AccountDay.objects.filter(
        account_id=target.account_id, currency=target.currency, date__lt=first
    ).aggregate(owed=_sum(_owed()), last=Max("date"))
    if days["last"] is None:
        return ZERO
    last_posted = DetachedTotal.objects.filter(
        account_id=target.account_id, currency=target.currency
    ).aggregate(last=Max("last_posted"))["last"]
    if (
        previous is None
        or previous.period_end < days["last"]
        or (last_posted is not None and min(previous.cutoff, cutoff) < last_posted)
    ):
        raise StatementMismatch(
            f"vendor {target.vendor_id} {target.currency}: entries up to {days['last']} "
            f"were detached (before {first}) without a statement covering them"
        )
    return days["owed"]


def _by_period(
    periods: list[Period], days: Iterable[dict], carried_in: Movements
) -> list[Movements]:
    moved = [carried_in] + [Movements() for _ in periods[1:]]
    index = 0
    for row in days:
        while row["date"] > periods[index].end:
            index += 1
        moved[index].add(row["journal__kind"], row["owed"], row["count"])
    return moved


# ---------------------------------------------------------------- lines


@dataclass(frozen=True)
class StatementLine:
    date: date
    kind: str
    reference: str  # the order of a sale, the payout's reference, else the refund case
    order_number: str
    case_id: str
    payout_reference: str
    memo: str
    amount: Decimal  # owed: positive in the vendor's favour
    late: bool  # dated before the period, posted after the previous statement

    @property
    def label(self) -> str:
        return LINE_LABELS.get(self.kind, self.kind)


def line_reference() -> Case:
    """What a line is about, in SQL (the CSV of a large statement needs it per row)."""

    def journal_number() -> Concat:
        return Concat(Value("J"), Cast("journal_id", CharField()))

    def given(name: str) -> NullIf:
        return NullIf(F(name), Value(""))

    return Case(
        When(
            journal__kind=JournalKind.SALE,
            then=Coalesce(given("journal__order__number"), Value("")),
        ),
        When(
            journal__kind=JournalKind.PAYOUT,
            then=Coalesce(given("journal__payout__reference"), journal_number()),
        ),
        default=Coalesce(
            given("journal__case__case_id"),
            given("journal__order__number"),
            given("journal__payout__reference"),
            journal_number(),
        ),
        output_field=CharField(),
    )


LINE_FIELDS = (
    "date",
    "journal__kind",
    "reference",
    "journal__order__number",
    "journal__case__case_id",
    "journal__payout__reference",
    "journal__memo",
    "credit",
    "debit",
)
LINE_ORDER = ("date", "journal_id", "id")


def statement_entries(statement: SettlementStatement) -> QuerySet[Entry]:
    """The statement's entries, in statement order (see the module doc), each
    with its `reference`. EntriesDetachedError if some may be in a detached
    month (ledger.detached.statement_archived). Call it and read the rows in
    one `attached_months_held` block: no month is detached in between."""
    if statement_archived(statement):
        raise EntriesDetachedError(
            f"The lines of the statement {statement.period_start:%Y-%m-%d} to "
            f"{statement.period_end:%Y-%m-%d}",
            first_attached_day() or statement.period_start,
        )
    lines = Q(date__gte=statement.period_start, date__lte=statement.period_end)
    if statement.previous_id is not None:
        lines |= Q(
            date__lt=statement.period_start,
            journal__created_at__gt=statement.previous.cutoff,
        )
    return (
        Entry.objects.filter(
            JOURNAL_OF_ITS_DATE,
            account_id=statement.account_id,
            currency=statement.currency,
            journal__created_at__lte=statement.cutoff,
        )
        .filter(lines)
        .annotate(reference=line_reference())
        .order_by(*LINE_ORDER)
    )


def line_from_row(row: tuple, period_start: date) -> StatementLine:
    day, kind, reference, order_number, case_id, payout_reference, memo, credit, debit = row
    return StatementLine(
        date=day,
        kind=kind,
        reference=reference,
        order_number=order_number or "",
        case_id=case_id or "",
        payout_reference=payout_reference or "",
        memo=memo,
        amount=credit - debit,
        late=day < period_start,
    )


def statement_lines(
    statement: SettlementStatement, *, limit: int | None = None, chunk_size: int = 2000
) -> Iterator[StatementLine]:
    with attached_months_held(router.db_for_read(Entry)):
        rows = statement_entries(statement).values_list(*LINE_FIELDS)
        if limit is not None:
            rows = rows[:limit]
        for row in rows.iterator(chunk_size=chunk_size):
            yield line_from_row(row, statement.period_start)


def running_owed() -> Window:
    """What the statement's lines add up to so far, in statement order."""
    return Window(Sum(_owed()), order_by=[F(name).asc() for name in LINE_ORDER])


def statement_page(
    statement: SettlementStatement, offset: int, limit: int
) -> list[tuple[StatementLine, Decimal]]:
    """`limit` lines from `offset`, each with the balance after it (summed in SQL,
    so a late page costs no more Python than the first)."""
    alias = router.db_for_read(Entry)
    with attached_months_held(alias), key_lookups(alias):
        query = (
            statement_entries(statement)
            .annotate(running=running_owed())
            .values_list(*LINE_FIELDS, "running")[offset : offset + limit]
        )
        rows = list(query)
    return [
        (line_from_row(row[:-1], statement.period_start), statement.opening + row[-1])
        for row in rows
    ]


def vendor_statements(vendor_id: int) -> QuerySet[SettlementStatement]:
    return SettlementStatement.objects.filter(vendor_id=vendor_id).order_by(
        "-period_end", "currency"
    )


def statement_documents(statement: SettlementStatement) -> QuerySet[Invoice]:
    """The commission invoices and credit notes issued to the statement's vendor
    in its period and currency, in issue order."""
    return Invoice.objects.filter(
        billed_vendor_id=statement.vendor_id,
        kind__in=COMMISSION_KINDS,
        currency=statement.currency,
        issue_date__gte=statement.period_start,
        issue_date__lte=statement.period_end,
    ).order_by("issue_date", "id")
