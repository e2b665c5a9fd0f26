"""Receivables per order line (cash.models.receivables): opened from the
sale, updated by refunds, provider payout rows and vendor payouts.

Every figure but the allocations is recomputed from its source (the order's
lines, the completed cases' refund lines, the payout report rows), so
refreshing an order twice changes nothing. Vendor payouts are allocated to
vendor receivables oldest first (by due date), or to the lines staff choose;
an allocation is a row under a unique constraint and never exceeds what the
line still has open.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone

from ledger.chart import Chart
from ledger.models import Payout
from ledger.selectors import account_balance
from lib.errors import DomainError
from lib.money import ZERO
from refunds.models import (
    Bearer,
    CaseStatus,
    Order,
    OrderLine,
    OutboxMessage,
    ReasonPolicy,
    RefundCase,
    RefundLine,
    RefundLineKind,
)
from refunds.services.opening import LineRequest, open_case
from refunds.services.transitions import approve_case, complete_case
from vendors.models import PayoutFrequency, Vendor

from ..models import (
    PayoutReportRow,
    Receivable,
    ReceivableAllocation,
    ReceivableKind,
    ReceivableStatus,
    RowType,
)

# Row types whose gross settles the gateway clearing account (as the payout journal posts them).
SETTLING_TYPES = (RowType.CHARGE, RowType.REFUND, RowType.ADJUSTMENT)


def vendor_due_date(vendor: Vendor, sold_on: date) -> date:
    """When the platform should have paid the vendor for a line sold on
    `sold_on`: the end of the vendor's payout cycle (the week, Monday to
    Sunday, or the calendar month) plus its payout delay."""
    if vendor.payout_frequency == PayoutFrequency.WEEKLY:
        cycle_end = sold_on + timedelta(days=6 - sold_on.weekday())
    else:
        last = calendar.monthrange(sold_on.year, sold_on.month)[1]
        cycle_end = sold_on.replace(day=last)
    return cycle_end + timedelta(days=vendor.payout_delay_days)


def open_receivables(orders: Iterable[Order]) -> int:
    """Open the receivables of paid orders (once each: a second call adds
    nothing). Provider receivables are due after the channel's payout terms.
    Returns how many rows were offered (those already open are skipped)."""
    rows: list[Receivable] = []
    for order in orders:
        payments = list(order.payments.all())
        if not payments:
            continue
        method = sorted(payments, key=lambda p: p.pk)[0].method
        sold_on = timezone.localdate(order.placed_at)
        provider_due = sold_on + timedelta(days=order.channel.payout_terms_days)
        common = {"order": order, "payment_method": method, "currency": order.currency}
        for line in sorted(order.lines.all(), key=lambda line: line.pk):
            rows.append(
                Receivable(
                    kind=ReceivableKind.PROVIDER,
                    order_line=line,
                    vendor=line.vendor,
                    amount=line.net_amount + line.tax_amount,
                    opened_on=sold_on,
                    due_date=provider_due,
                    **common,
                )
            )
            rows.append(
                Receivable(
                    kind=ReceivableKind.VENDOR,
                    order_line=line,
                    vendor=line.vendor,
                    amount=line.net_amount - line.commission_amount,
                    opened_on=sold_on,
                    due_date=vendor_due_date(line.vendor, sold_on),
                    **common,
                )
            )
        if order.shipping_amount > ZERO:
            rows.append(
                Receivable(
                    kind=ReceivableKind.PROVIDER,
                    amount=order.shipping_amount,
                    opened_on=sold_on,
                    due_date=provider_due,
                    **common,
                )
            )
    created = Receivable.objects.bulk_create(rows, ignore_conflicts=True)
    return len(created)


def _status(item: Receivable) -> None:
    due = item.amount - item.refunded_amount
    if item.cancelled or (due == ZERO and item.refunded_amount > ZERO):
        item.status = ReceivableStatus.REFUND
    elif item.paid_amount >= due:
        item.status = ReceivableStatus.PAID
    else:
        item.status = ReceivableStatus.AWAITING_PAYMENT
    item.partial = ZERO < item.paid_amount < due
    if item.status != ReceivableStatus.AWAITING_PAYMENT:
        item.overdue = False


def refresh_orders(order_ids: Iterable[int]) -> None:
    """Recompute refunded and provider-paid figures, statuses and tags of the
    orders' receivables from their sources."""
    ids = sorted(set(order_ids))
    if not ids:
        return
    items = list(
        Receivable.objects.filter(order_id__in=ids)
        .select_related("order", "order_line")
        .select_for_update(of=("self",))
        .order_by("id")
    )
    vendor_refunds: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for line in RefundLine.objects.filter(
        case__order_id__in=ids,
        case__status=CaseStatus.COMPLETED,
        kind__in=[RefundLineKind.QUANTITY, RefundLineKind.AMOUNT],
    ).only("order_line_id", "vendor_share"):
        # What the vendor bears: the refund journal's debit of its payable.
        if line.order_line_id is not None:
            vendor_refunds[line.order_line_id] += line.vendor_share
    settled: dict[int, Decimal] = defaultdict(lambda: ZERO)
    settled_on: dict[int, date] = {}
    rows = (
        PayoutReportRow.objects.filter(type__in=SETTLING_TYPES)
        .filter(
            Q(payment__order_id__in=ids) | Q(refund_case__order_id__in=ids) | Q(order_id__in=ids)
        )
        .select_related("payment", "refund_case", "report")
        .distinct()
    )
    for row in rows:
        if row.payment is not None:
            order_id: int | None = row.payment.order_id
        elif row.refund_case is not None:
            order_id = row.refund_case.order_id
        else:
            order_id = row.order_id
        assert order_id is not None
        settled[order_id] += row.gross
        arrival = row.report.arrival_date
        settled_on[order_id] = max(settled_on.get(order_id, arrival), arrival)
    left = dict(settled)
    for item in items:
        order = item.order
        if item.kind == ReceivableKind.PROVIDER:
            if item.order_line is None:
                item.refunded_amount = order.refunded_shipping
            else:
                item.refunded_amount = item.order_line.refunded_net + item.order_line.refunded_tax
        elif item.order_line_id is not None:
            item.refunded_amount = min(item.amount, vendor_refunds[item.order_line_id])
        if item.cancelled:
            item.refunded_amount = item.amount
    # Provider rows settle an order's lines in order, shipping last.
    providers = sorted(
        (i for i in items if i.kind == ReceivableKind.PROVIDER),
        key=lambda i: (i.order_id, i.order_line_id is None, i.order_line_id or 0),
    )
    for item in providers:
        share = max(ZERO, min(left.get(item.order_id, ZERO), item.amount - item.refunded_amount))
        item.paid_amount = share
        left[item.order_id] = left.get(item.order_id, ZERO) - share
        item.payment_date = settled_on.get(item.order_id) if share > ZERO else None
    for item in items:
        if item.kind == ReceivableKind.VENDOR:
            item.paid_amount = min(item.paid_amount, item.amount - item.refunded_amount)
        _status(item)
    Receivable.objects.bulk_update(
        items,
        ["refunded_amount", "paid_amount", "payment_date", "status", "overdue", "partial"],
    )


def _apply_allocations(receivable_ids: Iterable[int]) -> None:
    items = list(Receivable.objects.filter(pk__in=set(receivable_ids)).order_by("id"))
    sums = {
        row["receivable_id"]: row
        for row in ReceivableAllocation.objects.filter(receivable__in=items)
        .values("receivable_id")
        .annotate(total=Sum("amount"), latest=Max("payout__paid_on"))
    }
    for item in items:
        row = sums.get(item.pk)
        item.paid_amount = row["total"] if row else ZERO
        item.payment_date = row["latest"] if row else None
        _status(item)
    Receivable.objects.bulk_update(
        items, ["paid_amount", "payment_date", "status", "overdue", "partial"]
    )


def unallocated(payout: Payout) -> Decimal:
    used = payout.receivable_allocations.aggregate(total=Sum("amount"))["total"] or ZERO
    return payout.amount + payout.receivable_offset - used


@transaction.atomic
def allocate_payout(
    payout: Payout, choices: Sequence[tuple[int, Decimal]] | None = None
) -> list[ReceivableAllocation]:
    """Allocate `payout` to its vendor's open receivables: oldest first (due
    date, then sale), or to `choices` ((receivable id, amount) pairs chosen by
    staff). What the payout settled of the vendor's receivable counts too
    (it paid the vendor by offset). Refuses, naming the field, a line of
    another vendor or currency, more than a line has open, more than the
    payout has left; writes nothing then."""
    payout = Payout.objects.select_for_update().get(pk=payout.pk)
    available = unallocated(payout)
    candidates = Receivable.objects.select_for_update().filter(
        kind=ReceivableKind.VENDOR,
        vendor_id=payout.vendor_id,
        currency=payout.currency,
        cancelled=False,
    )
    rows: list[ReceivableAllocation] = []
    if choices is None:
        for item in candidates.order_by("due_date", "opened_on", "id"):
            if available <= ZERO:
                break
            take = min(available, item.open_amount)
            if take > ZERO:
                rows.append(ReceivableAllocation(receivable=item, payout=payout, amount=take))
                available -= take
    else:
        by_id = {item.pk: item for item in candidates.filter(pk__in=[c[0] for c in choices])}
        for receivable_id, amount in choices:
            chosen = by_id.get(receivable_id)
            if chosen is None:
                raise DomainError(
                    "receivable",
                    f"Receivable {receivable_id} is not an open line of "
                    f"{payout.vendor.code} in {payout.currency}.",
                )
            item = chosen
            if amount <= ZERO or amount > item.open_amount:
                raise DomainError(
                    "amount",
                    f"{amount} for receivable {receivable_id}: it must be more than 0 and at "
                    f"most the {item.open_amount} still open.",
                )
            if amount > available:
                raise DomainError("amount", f"The payout has only {available} left to allocate.")
            available -= amount
            rows.append(
                ReceivableAllocation(
                    receivable=item, payout=payout, amount=amount, chosen_by_staff=True
                )
            )
    created = ReceivableAllocation.objects.bulk_create(rows)
    _apply_allocations(row.receivable_id for row in created)
    return created


def allocate_open_payouts() -> int:
    """Allocate every payout with something left to allocate, oldest first."""
    count = 0
    for payout in Payout.objects.order_by("paid_on", "id"):
        if unallocated(payout) > ZERO:
            count += len(allocate_payout(payout))
    return count


def tag_overdue(today: date | None = None) -> int:
    """Tag the receivables past their due date and still awaiting payment;
    untag those no longer so. Returns how many are overdue."""
    today = today or timezone.localdate()
    awaiting = Q(status=ReceivableStatus.AWAITING_PAYMENT)
    Receivable.objects.filter(overdue=True).exclude(awaiting & Q(due_date__lt=today)).update(
        overdue=False
    )
    Receivable.objects.filter(awaiting, due_date__lt=today, overdue=False).update(overdue=True)
    return Receivable.objects.filter(overdue=True).count()


def open_missing(batch: int = 5000) -> int:
    """Open the receivables of paid orders that have none (orders paid before
    receivables existed, demo data loaded straight into the ledger's outbox),
    `batch` orders at a time; returns how many rows were offered."""
    opened = 0
    while True:
        with transaction.atomic():
            orders = list(
                Order.objects.filter(payments__isnull=False, receivables__isnull=True)
                .distinct()
                .order_by("id")
                .select_related("channel")
                .prefetch_related("lines__vendor", "payments")[:batch]
            )
            if not orders:
                return opened
            made = open_receivables(orders)
            refresh_orders([order.pk for order in orders])
        if not made:  # orders without lines: nothing to open, stop rather than loop
            return opened
        opened += made


def daily() -> int:
    """The beat task's work: open what is missing, settle provider receivables
    from payout rows, allocate vendor payouts, tag overdue lines."""
    open_missing()
    with transaction.atomic():
        orders = Receivable.objects.filter(status=ReceivableStatus.AWAITING_PAYMENT).values_list(
            "order_id", flat=True
        )
        refresh_orders(list(orders))
    allocate_open_payouts()
    return tag_overdue()


def handle_batch(messages: Sequence[OutboxMessage]) -> None:
    """Outbox consumer `receivables`: open on order.paid, refresh on case
    completion (inside the outbox's transaction)."""
    paid = [m.order_id for m in messages if m.topic == "order.paid" and m.order_id]
    case_ids = [m.case_id for m in messages if m.case_id]
    touched = [m.order_id for m in messages if m.order_id]
    touched += RefundCase.objects.filter(pk__in=case_ids).values_list("order_id", flat=True)
    open_receivables(
        Order.objects.filter(pk__in=paid)
        .select_related("channel")
        .prefetch_related("lines__vendor", "payments")
    )
    refresh_orders(touched)


def clearing_differences() -> list[str]:
    """The invariant: per payment method and currency, the open provider
    receivables equal the gateway clearing account's balance."""
    chart = Chart()
    open_by: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for item in Receivable.objects.filter(kind=ReceivableKind.PROVIDER).only(
        "payment_method", "currency", "amount", "refunded_amount", "paid_amount"
    ):
        open_by[(item.payment_method, item.currency)] += item.open_amount
    problems = []
    for (method, currency), amount in sorted(open_by.items()):
        balance = account_balance(chart.clearing_for(method), currency)
        if balance != amount:
            problems.append(
                f"Gateway clearing ({method}, {currency}) is {balance}, "
                f"open provider receivables {amount}."
            )
    return problems


CANCELLED_REASON = "cancelled"


@transaction.atomic
def cancel_line(*, line: OrderLine, actor: User | None) -> RefundCase:
    """Cancel a paid order line not yet handed over: a full refund case, reason
    `cancelled` (the vendor bears it, its commission given back: nothing stays
    payable), opened, approved and completed at once through the refund
    engine, which posts the cancellation's refund journal and issues the
    credit note (nothing stays taxed). Both receivables of the line become
    `refund` and are never paid out.

    The order model has no handover state: the caller (staff) asserts the
    goods were not handed over. Refused, naming the field, for a line already
    (partly) refunded or whose vendor receivable a payout has paid."""
    items = list(Receivable.objects.select_for_update().filter(order_line=line).order_by("kind"))
    if not items:
        raise DomainError("line", f"Line {line.pk} has no receivables: its order is not paid.")
    if line.refunded_quantity or line.refunded_net:
        raise DomainError("line", f"Line {line.pk} is already refunded in part.")
    if ReceivableAllocation.objects.filter(receivable__in=items).exists():
        raise DomainError("line", f"Line {line.pk} is already paid out to its vendor.")
    ReasonPolicy.objects.get_or_create(
        code=CANCELLED_REASON,
        defaults={
            "label": "Cancelled before handover",
            "vendor_share_percent": Decimal(100),
            "refund_commission_to_vendor": True,
            "shipping_bearer": Bearer.PLATFORM,
        },
    )
    case = open_case(
        order=line.order_id,
        lines=[LineRequest(line.pk, CANCELLED_REASON, quantity=line.quantity)],
        actor=actor,
        note="Cancelled before handover.",
    )
    approve_case(case=case, actor=actor)
    case = complete_case(case=case, actor=actor, note="Cancelled before handover.")
    Receivable.objects.filter(pk__in=[i.pk for i in items]).update(cancelled=True)
    refresh_orders([line.order_id])
    return case
