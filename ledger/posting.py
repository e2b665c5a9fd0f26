"""Posting rules and the one way journals reach the ledger.

Rules (DESIGN's worked example is the reference; docs/accounting.md has every
leg with numbers, for both tax models):
- Sale (order paid): Dr gateway clearing per payment; Cr each vendor's payable
  with its net less commission; Cr commission income; the tax on the goods to
  output tax (per tax code and currency) when the platform is the
  facilitator, to the vendor's payable when the vendor is the seller of record;
  shipping (split by `refunds.tax.split_shipping`): the platform's part to
  shipping income (net) and output tax, a vendor's part to its payable (gross
  if it is the seller of record, else net, and the tax to output tax); the
  platform's tax on commission: Dr payable, Cr output tax (commission's code).
- Refund (case completed), from the breakdown as it stood at completion, per
  vendor: Dr payable (the vendor's share of the goods); Dr commission income
  (commission reversal) and its tax back (Dr output tax, Cr payable); Dr
  refunds and allowances, or carrier claims by the reason policy, (the
  platform's share of the goods); the goods' tax back from whoever booked it
  (output tax, or the seller's payable); refunded shipping reverses whoever
  earned it, tax included, and the one who bears it pays the earner its net;
  Cr gateway clearing (the total, over the order's payments).
- Correction (dispute resolved after completion with new shares): the
  difference between the refund legs of the new and the old shares.
- Payout: Dr vendor payable; Cr the bank of the payout's currency.
- Reversal: any journal mirrored, debit for credit.

`post_journals` writes a batch of drafts: journals whose posting key already
exists are skipped (each source is posted exactly once), then one INSERT for
the journals, one for their entries, one upsert that adds each account's
summed delta to its maintained balance and one that adds each account's
delta per day to its AccountDay row, in account order so concurrent batches
never deadlock. A draft dated in a closed period is posted on the
first day of the first open one and keeps its own date as `original_date`
(ledger.periods, which also locks the periods posted into).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.utils import timezone

from lib.errors import DomainError
from lib.money import ZERO, allocate, display_money
from lib.parsing import parse_amount, parse_currency
from refunds.models import (
    Channel,
    Order,
    OrderLine,
    PlatformShareTo,
    RefundCase,
    RefundLineKind,
    ShippingTax,
)
from refunds.payments import refund_by_payment
from refunds.tax import GoodsShare, ShippingPart, split_shipping
from vendors.models import TaxModel, Vendor

from .chart import Chart, PostingError, ensure_payable_accounts, ensure_vendor_accounts
from .holdback import Holdback, held_back
from .models import (
    Account,
    AccountBalance,
    AccountDay,
    AccountRole,
    Entry,
    EntryLabel,
    Journal,
    JournalKey,
    JournalKind,
    Payout,
    default_label,
)
from .periods import posting_dates
from .tax import commission_tax

__all__ = [
    "Chart",
    "JournalDraft",
    "PayoutError",
    "PostingError",
    "correction_journal",
    "ensure_payable_accounts",
    "ensure_vendor_accounts",
    "payout_journal",
    "post_journals",
    "post_one",
    "record_payout",
    "refund_journal",
    "reverse_journal",
    "sale_journal",
]


class Leg(NamedTuple):
    """One entry of a draft: a positive debit or credit, and what it is."""

    account_id: int
    debit: Decimal
    credit: Decimal
    label: str


# `date` inside JournalDraft is its field; its annotations name the type so.
_Date = date


@dataclass
class JournalDraft:
    posting_key: str
    kind: str
    currency: str
    date: date  # when it happened; posted then, or on the first open day (ledger.periods)
    memo: str = ""
    order_id: int | None = None
    case_id: int | None = None
    payout_id: int | None = None
    reverses_id: int | None = None
    # The reversed journal's posting date (its partition; read from the
    # journal when left out).
    reverses_date: _Date | None = None
    lines: list[Leg] = field(default_factory=list)

    def debit(self, account_id: int, amount: Decimal, *, label: str | None = None) -> None:
        """A debit leg; `label` says what it is (EntryLabel), else the journal's kind."""
        self._add(account_id, amount, label)

    def credit(self, account_id: int, amount: Decimal, *, label: str | None = None) -> None:
        """A credit leg; `label` says what it is (EntryLabel), else the journal's kind."""
        self._add(account_id, -amount, label)

    def _add(self, account_id: int, signed: Decimal, label: str | None) -> None:
        # Positive is a debit, negative a credit; zero legs are left out.
        label = label or default_label(self.kind)
        if signed > 0:
            self.lines.append(Leg(account_id, signed, ZERO, label))
        elif signed < 0:
            self.lines.append(Leg(account_id, ZERO, -signed, label))

    def merged(self) -> JournalDraft:
        """One leg per account and label: Dr and Cr of the same account and
        label net out (legs labelled apart stay apart)."""
        net: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
        for leg in self.lines:
            net[(leg.account_id, leg.label)] += leg.debit - leg.credit
        self.lines = []
        for account_id, label in sorted(net):
            self._add(account_id, net[(account_id, label)], label)
        return self

    def check(self) -> None:
        debits = sum((leg.debit for leg in self.lines), ZERO)
        credits = sum((leg.credit for leg in self.lines), ZERO)
        if len(self.lines) < 2:
            raise PostingError(self.posting_key, "A journal needs at least two entries.")
        if debits != credits:
            raise PostingError(
                self.posting_key, f"Debits {debits} and credits {credits} do not balance."
            )
        if any(
            leg.debit < 0 or leg.credit < 0 or (leg.debit > 0) == (leg.credit > 0)
            for leg in self.lines
        ):
            raise PostingError(self.posting_key, "Each entry is a positive debit or credit.")
        if any(not leg.label for leg in self.lines):
            raise PostingError(self.posting_key, "Each entry has a label.")


@dataclass(frozen=True)
class PostedBy:
    """Who posts a batch: the process ("outbox:ledger", "admin", "api", "demo",
    "period-close", ...) and, when a person acted, the user. The journals
    record both; the database refuses a journal with neither."""

    process: str
    user_id: int | None = None

    @classmethod
    def user(cls, user: Any, process: str) -> PostedBy:
        return cls(process, user.pk if user is not None else None)


# The ledger's outbox consumer (ledger.consumers).
OUTBOX = PostedBy("outbox:ledger")


# ---------------------------------------------------------------- rules


def _goods_tax_account(
    chart: Chart, channel: Channel, vendor_id: int, rate: Decimal, currency: str
) -> int:
    """Where the tax on a vendor's goods is booked: output tax (facilitator) or,
    when the vendor is the seller of record, its own payable."""
    if chart.tax_model(vendor_id, channel) == TaxModel.SELLER:
        return chart.payable_for(vendor_id)
    return chart.output_tax(rate, channel.jurisdiction, currency)


def _shipping_parts(
    amount: Decimal, goods: Sequence[GoodsShare], channel: Channel, currency: str
) -> list[ShippingPart]:
    """`split_shipping`; an order with no goods to weigh by (none can be made
    through the services) books its shipping as the platform's, at the fixed
    rate if the channel has one."""
    if goods or amount == ZERO:
        return split_shipping(amount, goods, channel, currency)
    bare = Channel(
        shipping_tax=(
            ShippingTax.FIXED if channel.shipping_tax == ShippingTax.FIXED else ShippingTax.UNTAXED
        ),
        shipping_tax_rate=channel.shipping_tax_rate,
    )
    return split_shipping(amount, goods, bare, currency)


def _shipping_earned(
    chart: Chart, channel: Channel, currency: str, part: ShippingPart
) -> list[tuple[int, Decimal]]:
    """What a piece of shipping earns, as (account, amount) credits: the
    platform's net to shipping income and its tax to output tax; a vendor's to
    its payable, gross if it is the seller of record, else net and the tax to
    output tax. A refund debits the same legs."""
    if part.earner_vendor_id is None:
        earned = [(chart.role(AccountRole.SHIPPING_INCOME), part.net)]
    else:
        payable = chart.payable_for(part.earner_vendor_id)
        if chart.tax_model(part.earner_vendor_id, channel) == TaxModel.SELLER:
            return [(payable, part.gross)]
        earned = [(payable, part.net)]
    if part.tax:
        earned.append((chart.output_tax(part.rate, channel.jurisdiction, currency), part.tax))
    return earned


def _commission_tax(
    draft: JournalDraft, chart: Chart, vendor_id: int, commission: Decimal, sign: int = 1
) -> None:
    """The platform's tax on commission, charged to the vendor (sign -1 gives it back)."""
    tax = commission_tax(commission, draft.currency)
    if tax:
        draft.debit(chart.payable_for(vendor_id), sign * tax)
        draft.credit(chart.commission_output_tax(draft.currency), sign * tax)


def sale_journal(order: Order, chart: Chart) -> JournalDraft:
    """Order paid. `order` must come with its channel, lines and payments prefetched."""
    channel = order.channel
    currency = order.currency
    draft = JournalDraft(
        posting_key=f"sale:{order.pk}",
        kind=JournalKind.SALE,
        currency=currency,
        date=order.placed_at.date(),
        memo=f"Sale {order.number}",
        order_id=order.pk,
    )
    for payment in order.payments.all():
        draft.debit(chart.clearing_for(payment.method), payment.amount)
    lines = list(order.lines.all())
    commission: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        draft.credit(chart.payable[line.vendor_id], line.net_amount - line.commission_amount)
        commission[line.vendor_id] += line.commission_amount
        if line.tax_amount:
            account = _goods_tax_account(chart, channel, line.vendor_id, line.tax_rate, currency)
            draft.credit(account, line.tax_amount)
    income = chart.role(AccountRole.COMMISSION_INCOME)
    for vendor_id in sorted(commission):
        draft.credit(income, commission[vendor_id])
        _commission_tax(draft, chart, vendor_id, commission[vendor_id])
    goods = [GoodsShare(line.vendor_id, line.net_amount, line.tax_rate) for line in lines]
    for part in _shipping_parts(order.shipping_amount, goods, channel, currency):
        for account, amount in _shipping_earned(chart, channel, currency, part):
            draft.credit(account, amount)
    return draft.merged()


PLATFORM_SHARE_ROLES: dict[str, str] = {
    PlatformShareTo.ALLOWANCES: AccountRole.REFUNDS_AND_ALLOWANCES,
    PlatformShareTo.CARRIER_CLAIMS: AccountRole.CARRIER_CLAIMS,
}


@dataclass
class RefundTerms:
    """What a case's refund lines say beyond its per-vendor breakdown.

    goods: each vendor's refunded goods (net and rate), which refunded shipping
    follows; tax_by_rate: each vendor's refunded tax per rate; platform_to: per
    vendor, where the platform's share of the goods goes (account role) and
    the weight of each; shipping_vendor_bears and shipping_platform_to: the
    shipping line's bearer and where the platform's part of it goes.
    """

    order: Order
    goods: dict[int, list[GoodsShare]] = field(default_factory=dict)
    tax_by_rate: dict[int, dict[Decimal, Decimal]] = field(default_factory=dict)
    platform_to: dict[int, dict[str, Decimal]] = field(default_factory=dict)
    shipping_vendor_bears: bool = False
    shipping_platform_to: str = AccountRole.REFUNDS_AND_ALLOWANCES
    _order_goods: dict[int, list[OrderLine]] | None = None

    @classmethod
    def of(cls, case: RefundCase) -> RefundTerms:
        """From `case.lines` (prefetch them with order_line and reason)."""
        terms = cls(order=case.order)
        fallback: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
        for line in case.lines.all():
            role = PLATFORM_SHARE_ROLES.get(
                line.reason.platform_share_to, AccountRole.REFUNDS_AND_ALLOWANCES
            )
            if line.kind == RefundLineKind.SHIPPING:
                terms.shipping_vendor_bears = line.vendor_share > 0
                terms.shipping_platform_to = role
                continue
            order_line = line.order_line
            assert order_line is not None  # a goods line (database constraint)
            vendor_id = order_line.vendor_id
            rate = order_line.tax_rate
            terms.goods.setdefault(vendor_id, []).append(
                GoodsShare(vendor_id, line.net_amount, rate)
            )
            by_rate = terms.tax_by_rate.setdefault(vendor_id, {})
            by_rate[rate] = by_rate.get(rate, ZERO) + line.tax_amount
            weights = terms.platform_to.setdefault(vendor_id, {})
            weights[role] = weights.get(role, ZERO) + line.platform_share - line.commission_reversal
            fallback[vendor_id][role] += line.net_amount
        for vendor_id, weights in terms.platform_to.items():
            if not any(weights.values()):
                # Shares overridden onto the platform: by the reasons' nets.
                terms.platform_to[vendor_id] = dict(fallback[vendor_id])
        return terms

    def order_goods(self, vendor_id: int) -> list[OrderLine]:
        if self._order_goods is None:
            self._order_goods = defaultdict(list)
            for line in self.order.lines.all():
                self._order_goods[line.vendor_id].append(line)
        return self._order_goods.get(vendor_id, [])

    def shipping_goods(self) -> list[GoodsShare]:
        """The goods refunded shipping follows: the case's, or for a
        shipping-only case the order's."""
        goods = [share for shares in self.goods.values() for share in shares]
        return goods or [
            GoodsShare(line.vendor_id, line.net_amount, line.tax_rate)
            for line in self.order.lines.all()
        ]

    def tax_rates(
        self, vendor_id: int, tax: Decimal, currency: str
    ) -> list[tuple[Decimal, Decimal]]:
        """A vendor's refunded tax split by rate, (rate, tax)."""
        if not tax:
            return []
        by_rate = self.tax_by_rate.get(vendor_id) or {}
        if not any(by_rate.values()):
            by_rate = {}
            for line in self.order_goods(vendor_id):
                by_rate[line.tax_rate] = by_rate.get(line.tax_rate, ZERO) + line.tax_amount
        if not any(by_rate.values()):
            raise PostingError("tax_amount", f"Refunded tax {tax} has no rate to be booked at.")
        rates = sorted(by_rate)
        return list(zip(rates, allocate(tax, [by_rate[r] for r in rates], currency), strict=True))

    def platform_roles(
        self, vendor_id: int, amount: Decimal, currency: str
    ) -> list[tuple[str, Decimal]]:
        """The platform's share of a vendor's goods by the account role it goes to."""
        if not amount:
            return []
        weights = self.platform_to.get(vendor_id) or {}
        if not any(weights.values()):
            return [(AccountRole.REFUNDS_AND_ALLOWANCES, amount)]
        roles = sorted(weights)
        return list(
            zip(roles, allocate(amount, [weights[r] for r in roles], currency), strict=True)
        )


def _amount(row: Mapping[str, Any], name: str) -> Decimal:
    return Decimal(row.get(name) or "0")


def _vendor_shipping(row: Mapping[str, Any], terms: RefundTerms) -> Decimal:
    """The part of a vendor row's shipping (as charged, gross) its vendor bears:
    the shipping line's bearer's, as far as that one's share of the row reaches."""
    shipping = _amount(row, "shipping_amount")
    if not shipping:
        return ZERO
    if terms.shipping_vendor_bears:
        return min(shipping, max(_amount(row, "vendor_share"), ZERO))
    platform_share = _amount(row, "platform_share") - _amount(row, "commission_reversal")
    return shipping - min(shipping, max(platform_share, ZERO))


def _refund_legs(
    draft: JournalDraft,
    row: Mapping[str, Any],
    terms: RefundTerms,
    chart: Chart,
    sign: int = 1,
) -> None:
    """Debit legs of the goods of one vendor's part of a refund (sign -1 takes
    them back); its shipping is `_shipping_legs`'s, for the case as a whole.

    `row` is a breakdown row: refund, net, tax, shipping, vendor and platform
    shares, commission reversal. docs/accounting.md explains each leg.
    """
    vendor_id = int(row["vendor_id"])
    channel = terms.order.channel
    currency = draft.currency
    reversal = _amount(row, "commission_reversal")
    vendor_shipping = _vendor_shipping(row, terms)
    platform_shipping = _amount(row, "shipping_amount") - vendor_shipping
    # The shares as costs; the commission given back, with its tax.
    draft.debit(
        chart.payable_for(vendor_id), sign * (_amount(row, "vendor_share") - vendor_shipping)
    )
    draft.debit(chart.role(AccountRole.COMMISSION_INCOME), sign * reversal)
    _commission_tax(draft, chart, vendor_id, reversal, sign=-sign)
    goods_cost = _amount(row, "platform_share") - platform_shipping - reversal
    for role, amount in terms.platform_roles(vendor_id, goods_cost, currency):
        draft.debit(chart.role(role), sign * amount)
    # The tax back from whoever booked it.
    for rate, tax in terms.tax_rates(vendor_id, _amount(row, "tax_amount"), currency):
        draft.debit(_goods_tax_account(chart, channel, vendor_id, rate, currency), sign * tax)


def _shipping_legs(
    draft: JournalDraft,
    rows: Sequence[Mapping[str, Any]],
    terms: RefundTerms,
    chart: Chart,
    sign: int = 1,
) -> None:
    """Debit legs of a case's refunded shipping (the rows' together).

    Split as the sale's (`split_shipping`, over the case's goods), each part
    is given back by whoever earned it, tax included, and the earner is paid
    its net back; then whoever bears the shipping (the rows' shares, gross)
    bears its net, the tax going back to the authority: a vendor from its
    payable; the platform as less shipping income when it earned the
    shipping (a carrier claim instead, by the reason policy), else to the
    policy's account.
    """
    shipping = sum((_amount(row, "shipping_amount") for row in rows), ZERO)
    if not shipping:
        return
    channel = terms.order.channel
    currency = draft.currency
    parts = _shipping_parts(shipping, terms.shipping_goods(), channel, currency)
    for part in parts:
        for account, amount in _shipping_earned(chart, channel, currency, part):
            draft.debit(account, sign * amount)
        if part.earner_vendor_id is None:
            draft.credit(chart.role(AccountRole.SHIPPING_INCOME), sign * part.net)
        else:
            draft.credit(chart.payable_for(part.earner_vendor_id), sign * part.net)
    bearers = [
        (chart.payable_for(int(row["vendor_id"])), _vendor_shipping(row, terms)) for row in rows
    ]
    platform_borne = shipping - sum((gross for _, gross in bearers), ZERO)
    platform_earned = all(part.earner_vendor_id is None for part in parts)
    if platform_earned and terms.shipping_platform_to != AccountRole.CARRIER_CLAIMS:
        platform_account = chart.role(AccountRole.SHIPPING_INCOME)
    else:
        platform_account = chart.role(terms.shipping_platform_to)
    bearers.append((platform_account, platform_borne))
    net = sum((part.net for part in parts), ZERO)
    for (account, _), cost in zip(
        bearers, allocate(net, [gross for _, gross in bearers], currency), strict=True
    ):
        draft.debit(account, sign * cost)


def _case_draft(case: RefundCase, posting_key: str, kind: str, on: date, memo: str) -> JournalDraft:
    """An empty journal about a refund case (and its order), in the case's currency."""
    return JournalDraft(
        posting_key=posting_key,
        kind=kind,
        currency=case.currency,
        date=on,
        memo=memo,
        order_id=case.order_id,
        case_id=case.pk,
    )


def refund_journal(
    case: RefundCase, breakdown: Sequence[dict[str, Any]], on: date, chart: Chart
) -> JournalDraft:
    """Case completed. `case` must come with its order's channel and payments,
    and its lines with their order lines and reasons, prefetched."""
    draft = _case_draft(case, f"refund:{case.pk}", JournalKind.REFUND, on, f"Refund {case.case_id}")
    terms = RefundTerms.of(case)
    for row in breakdown:
        _refund_legs(draft, row, terms, chart)
    _shipping_legs(draft, breakdown, terms, chart)
    total = sum((Decimal(row["refund_amount"]) for row in breakdown), ZERO)
    # Spread over the payments as the credit notes say it went back (refunds.payments).
    for payment, part in refund_by_payment(total, case.order.payments.all(), case.currency):
        draft.credit(chart.clearing_for(payment.method), part)
    return draft.merged()


def correction_journal(
    case: RefundCase,
    event_id: int,
    changes: Sequence[dict[str, Any]],
    on: date,
    chart: Chart,
    vendor_ids: dict[str, int],
) -> JournalDraft | None:
    """A dispute resolved after completion moved shares: post the difference.

    The refunded amounts of a vendor's part (net, tax, shipping) never change,
    so its legs are those of its liability with the old and the new shares.
    """
    draft = _case_draft(
        case,
        f"correction:{event_id}",
        JournalKind.CORRECTION,
        on,
        f"Correction {case.case_id} after dispute",
    )
    terms = RefundTerms.of(case)
    rows = {
        row.vendor_id: {
            "vendor_id": row.vendor_id,
            "net_amount": row.net_amount,
            "tax_amount": row.tax_amount,
            "shipping_amount": row.shipping_amount,
            "vendor_share": row.vendor_share,
            "platform_share": row.platform_share,
            "commission_reversal": row.commission_reversal,
        }
        for row in case.liabilities.all()
    }
    before, after = dict(rows), dict(rows)
    for change in changes:
        vendor_id = vendor_ids[change["vendor"]]
        part = rows.get(vendor_id, {"vendor_id": vendor_id})
        before[vendor_id] = {**part, **change["before"]}
        after[vendor_id] = {**part, **change["after"]}
        _refund_legs(draft, after[vendor_id], terms, chart)
        _refund_legs(draft, before[vendor_id], terms, chart, sign=-1)
    _shipping_legs(draft, list(after.values()), terms, chart)
    _shipping_legs(draft, list(before.values()), terms, chart, sign=-1)
    draft.merged()
    return draft if draft.lines else None


def payout_journal(payout: Payout, chart: Chart) -> JournalDraft:
    draft = JournalDraft(
        posting_key=f"payout:{payout.pk}",
        kind=JournalKind.PAYOUT,
        currency=payout.currency,
        date=payout.paid_on,
        memo=f"Payout {payout.reference}".strip(),
        payout_id=payout.pk,
    )
    draft.debit(chart.payable[payout.vendor_id], payout.amount)
    draft.credit(chart.bank_for(payout.currency), payout.amount)
    return draft


# ---------------------------------------------------------------- writing


JOURNAL_COLUMNS = (
    "posting_key, kind, currency, date, original_date, memo, order_id, case_id, payout_id, "
    "reverses_id, reverses_date, entry_count, created_at, posted_by_id, posted_by_process"
)
# One journal's values, typed (PostgreSQL's VALUES list below takes its
# column types from them).
JOURNAL_VALUES = (
    "(%s::varchar, %s::varchar, %s::varchar, %s::date, %s::date, %s::varchar, %s::bigint, "
    "%s::bigint, %s::bigint, %s::bigint, %s::date, %s::integer, %s::timestamptz, %s::bigint, "
    "%s::varchar)"
)
JOURNALS_PER_INSERT = 1000
ENTRIES_PER_INSERT = 5000


def _insert_journals_sql(count: int) -> str:
    """The INSERT of `count` journals that skips a key posted before and
    returns (posting_key, id) of each journal written.

    PostgreSQL: the journals are partitioned by month (migration 0008), so the
    key's uniqueness across months is ledger_journalkey's: the keys go there
    first, with the ids the journals will have, `ON CONFLICT (posting_key) DO
    NOTHING`, and only the journals whose key went in follow, in the same
    statement (the trigger ledger_journal_key finds each one's key its own).
    SQLite: the journals' own unique index on posting_key, and the keys
    written after them."""
    if connection.vendor != "postgresql":
        values = ", ".join(["(" + ", ".join(["%s"] * 15) + ")"] * count)
        return (
            f"INSERT INTO {Journal._meta.db_table} ({JOURNAL_COLUMNS}) VALUES {values} "
            "ON CONFLICT (posting_key) DO NOTHING RETURNING posting_key, id"
        )
    journals, keys = Journal._meta.db_table, JournalKey._meta.db_table
    return (
        f"WITH draft ({JOURNAL_COLUMNS}) AS (VALUES {', '.join([JOURNAL_VALUES] * count)}), "
        f"taken AS (INSERT INTO {keys} (posting_key, journal_id, date) "
        f"SELECT posting_key, nextval(pg_get_serial_sequence('{journals}', 'id')), date "
        "FROM draft ON CONFLICT (posting_key) DO NOTHING RETURNING posting_key, journal_id) "
        f"INSERT INTO {journals} (id, {JOURNAL_COLUMNS}) "
        "SELECT taken.journal_id, draft.* FROM draft JOIN taken USING (posting_key) "
        "RETURNING posting_key, id"
    )


def _reversed_dates(drafts: Sequence[JournalDraft]) -> None:
    """Fill the reversed journal's date of a reversal drafted without it."""
    missing = {d.reverses_id for d in drafts if d.reverses_id and d.reverses_date is None}
    if not missing:
        return
    dates = dict(Journal.objects.filter(pk__in=missing).values_list("pk", "date"))
    for d in drafts:
        if d.reverses_id and d.reverses_date is None:
            d.reverses_date = dates.get(d.reverses_id)


def post_journals(drafts: Sequence[JournalDraft], *, posted_by: PostedBy) -> list[Journal]:
    """Post drafts not yet posted, as `posted_by`; returns the journals written now.

    Each journal goes in only if its posting key is new, by `INSERT ... ON
    CONFLICT (posting_key) DO NOTHING` (into ledger_journalkey on PostgreSQL,
    see `_insert_journals_sql`): the database itself skips a key already
    posted, also one a concurrent transaction posts at the same moment (it
    waits for that one to commit), so a redelivered event never posts twice
    and never fails. The entries and the maintained balances follow in the
    same transaction. Hand-written statements because the ORM's bulk_create
    costs about three times as much CPU per journal here (docs/benchmarks.md,
    ledger (a)).
    """
    if not posted_by.process and posted_by.user_id is None:
        raise PostingError("posted_by", "Say who or which process posts.")
    fresh: dict[str, JournalDraft] = {}
    for draft in drafts:
        fresh.setdefault(draft.posting_key, draft)
    if not fresh:
        return []
    ops = connection.ops
    now = timezone.now()
    created_at = ops.adapt_datetimefield_value(now)
    batch = list(fresh.values())
    posted: dict[str, int] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        # First, before any balance row: the periods posted into (see ledger.periods).
        dates = posting_dates(d.date for d in batch)
        _reversed_dates(batch)
        for start in range(0, len(batch), JOURNALS_PER_INSERT):
            chunk = batch[start : start + JOURNALS_PER_INSERT]
            params: list[Any] = []
            for d in chunk:
                posted_on = dates[d.date]
                params += [
                    d.posting_key,
                    d.kind,
                    d.currency,
                    ops.adapt_datefield_value(posted_on),
                    ops.adapt_datefield_value(d.date) if posted_on != d.date else None,
                    d.memo[:300],
                    d.order_id,
                    d.case_id,
                    d.payout_id,
                    d.reverses_id,
                    ops.adapt_datefield_value(d.reverses_date),
                    len(d.lines),
                    created_at,
                    posted_by.user_id,
                    posted_by.process[:40],
                ]
            cursor.execute(_insert_journals_sql(len(chunk)), params)
            written = cursor.fetchall()
            posted.update(written)
            if written and connection.vendor != "postgresql":
                keys = [(key, journal_id, dates[fresh[key].date]) for key, journal_id in written]
                cursor.execute(
                    f"INSERT INTO {JournalKey._meta.db_table} (posting_key, journal_id, date) "
                    "VALUES " + ", ".join(["(%s, %s, %s)"] * len(keys)),
                    [
                        ops.adapt_datefield_value(v) if isinstance(v, date) else v
                        for row in keys
                        for v in row
                    ],
                )
        new = [d for d in batch if d.posting_key in posted]
        if not new:
            return []
        # Only what is posted now is checked (a redelivered draft of a key posted
        # before is skipped as it always was); a refusal rolls the batch back.
        for draft in new:
            draft.check()
        rows: list[Any] = []
        deltas: dict[tuple[int, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        day_deltas: dict[tuple[int, str, date], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        for draft in new:
            journal_id = posted[draft.posting_key]
            posted_on = dates[draft.date]
            # The entry's date is its journal's posting date (the partition key;
            # the journal check at commit refuses any other).
            entry_date = ops.adapt_datefield_value(posted_on)
            for account_id, debit, credit, label in draft.lines:
                rows.append(
                    (journal_id, entry_date, account_id, draft.currency, debit, credit, label)
                )
                delta = deltas[(account_id, draft.currency)]
                delta[0] += debit
                delta[1] += credit
                day = day_deltas[(account_id, draft.currency, posted_on)]
                day[0] += debit
                day[1] += credit
        for start in range(0, len(rows), ENTRIES_PER_INSERT):
            entry_rows = rows[start : start + ENTRIES_PER_INSERT]
            cursor.execute(
                f"INSERT INTO {Entry._meta.db_table} "
                "(journal_id, date, account_id, currency, debit, credit, label) VALUES "
                + ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(entry_rows)),
                [value for row in entry_rows for value in row],
            )
        _add_to_balances(deltas, day_deltas)
    return [_posted_journal(d, posted[d.posting_key], dates[d.date], now, posted_by) for d in new]


def _posted_journal(
    draft: JournalDraft, journal_id: int, posted_on: date, created_at: datetime, by: PostedBy
) -> Journal:
    journal = Journal(
        id=journal_id,
        posting_key=draft.posting_key,
        kind=draft.kind,
        currency=draft.currency,
        date=posted_on,
        original_date=draft.date if posted_on != draft.date else None,
        memo=draft.memo[:300],
        order_id=draft.order_id,
        case_id=draft.case_id,
        payout_id=draft.payout_id,
        reverses_id=draft.reverses_id,
        reverses_date=draft.reverses_date,
        entry_count=len(draft.lines),
        created_at=created_at,
        posted_by_id=by.user_id,
        posted_by_process=by.process[:40],
    )
    journal._state.adding = False
    journal._state.db = connection.alias
    return journal


def _add_to_balances(
    deltas: dict[tuple[int, str], list[Decimal]],
    day_deltas: dict[tuple[int, str, date], list[Decimal]],
) -> None:
    """Add each (account, currency)'s summed debit and credit to its balance
    row, and each (account, currency, day)'s to its AccountDay row: upserts of
    up to 1,000 rows a statement. Sorted, so concurrent batches lock the rows
    in the same order (balances first, then days: no deadlock between them)."""
    _share_vendors_of(sorted({account_id for account_id, _ in deltas}))
    _upsert_totals(
        AccountBalance._meta.db_table,
        "account_id, currency",
        [(*key, debit, credit) for key, (debit, credit) in sorted(deltas.items())],
    )
    ops = connection.ops
    _upsert_totals(
        AccountDay._meta.db_table,
        "account_id, currency, date",
        [
            (account_id, currency, ops.adapt_datefield_value(day), debit, credit)
            for (account_id, currency, day), (debit, credit) in sorted(day_deltas.items())
        ],
    )


def _upsert_totals(table: str, key: str, rows: list[tuple[Any, ...]]) -> None:
    """INSERT `rows` (the key's columns, then debit and credit) into `table`,
    adding debit and credit to the row of the same key where there is one."""
    if not rows:
        return
    width = len(rows[0])
    for start in range(0, len(rows), 1000):
        chunk = rows[start : start + 1000]
        values = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(chunk))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({key}, debit, credit) VALUES {values} "
                f"ON CONFLICT ({key}) DO UPDATE SET "
                f"debit = {table}.debit + excluded.debit, "
                f"credit = {table}.credit + excluded.credit",
                [value for row in chunk for value in row],
            )


def _share_vendors_of(account_ids: list[int]) -> None:
    """FOR KEY SHARE on the vendors whose accounts are about to be posted to,
    before their balance rows: the order `record_payout` takes (the vendor, then
    the balances). Without it a posting that updates a vendor's payable and
    inserts rows referring to the vendor (invoices, credit notes: foreign keys
    checked at COMMIT, which take this same lock) deadlocks with a payout that
    holds the vendor FOR UPDATE and waits for the payable's balance row. Found
    by the soak drill (bench/drills/soak.py); tests/ledger/test_payouts.py.
    SQLite (the dev database) locks the whole file and needs none of this."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT v.id FROM {Vendor._meta.db_table} v WHERE v.id IN "
            f"(SELECT a.vendor_id FROM {Account._meta.db_table} a "
            "WHERE a.id = ANY(%s) AND a.vendor_id IS NOT NULL) "
            "ORDER BY v.id FOR KEY SHARE OF v",
            [account_ids],
        )


def post_one(draft: JournalDraft, *, posted_by: PostedBy) -> Journal | None:
    journals = post_journals([draft], posted_by=posted_by)
    return journals[0] if journals else None


# ---------------------------------------------------------------- operations


class PayoutError(DomainError):
    """A payout refused by the rule "no payout beyond what may be paid": what is
    owed less what is held back for open cases (code beyond_owed, held_back)."""


def record_payout(
    *,
    vendor: Vendor,
    amount: Decimal,
    currency: str,
    paid_on: date,
    reference: str = "",
    advance: bool = False,
    posted_by: PostedBy,
) -> Payout:
    """Pay a vendor: the payout and its journal in one transaction.

    The rule: a payout never pays more than may be paid to the vendor in that
    currency unless `advance` says so explicitly (the balance then goes
    negative until sales cover it). What may be paid is what the platform owes
    the vendor, its payable less its receivable (what a period close found the
    vendor owed the platform, ledger.receivables), less what is held back for
    its open cases (ledger.holdback). The payout settles the receivable first:
    its journal debits the payable with the receivable it settles (Cr
    receivable, labelled receivable_settlement) and with the amount paid (Cr
    bank), and the payout records the settled part as `receivable_offset`.

    Locks, in the order every posting takes them: the period of `paid_on`
    (ledger.periods); the vendor's row, FOR UPDATE, which a case being opened
    for the vendor needs too: the foreign key of its liability row takes FOR
    KEY SHARE on the vendor when checked, at the case's commit. So a case that
    commits first is seen and held back, and one that has not committed when
    the payout reads waits for the payout to commit and opens after it; then
    the balance rows the journal updates (payable, receivable, bank) in account
    order. Two payouts at once cannot both spend the same balance: the second
    waits and sees what the first left.
    """
    currency = parse_currency(currency, "currency")
    amount = parse_amount(amount, currency, "amount", allow_zero=False)
    with transaction.atomic():
        # The period first, as every posting locks it (ledger.periods).
        posting_dates([paid_on])
        Vendor.objects.select_for_update().filter(pk=vendor.pk).values_list("pk").first()
        chart = Chart([vendor.pk])
        payable_id = chart.payable[vendor.pk]
        bank_id = chart.bank_for(currency)
        receivable_id = (
            Account.objects.filter(role=AccountRole.VENDOR_RECEIVABLE, vendor=vendor)
            .values_list("id", flat=True)
            .first()
        )
        locked = [payable_id, bank_id] + ([receivable_id] if receivable_id else [])
        # Every row the payout's journal updates, locked in account order as
        # every posting does (a concurrent reversal cannot deadlock with us).
        balances = {
            row.account_id: row.debit - row.credit
            for row in AccountBalance.objects.select_for_update()
            .filter(account_id__in=locked, currency=currency)
            .order_by("account_id")
        }
        payable = -balances.get(payable_id, ZERO)
        receivable = balances.get(receivable_id, ZERO) if receivable_id else ZERO
        owed = payable - receivable
        held = held_back(vendor.pk, currency)
        may_pay = owed - held.amount
        if amount > may_pay and not advance:
            raise PayoutError(
                "amount",
                _beyond(vendor, currency, amount, payable, receivable, held),
                code="held_back" if amount <= owed else "beyond_owed",
            )
        # Settled out of what the payable holds, never turning it into a debit.
        offset = max(ZERO, min(receivable, payable))
        payout = Payout.objects.create(
            vendor=vendor,
            currency=currency,
            amount=amount,
            receivable_offset=offset,
            paid_on=paid_on,
            reference=reference,
        )
        draft = payout_journal(payout, chart)
        if offset and receivable_id:
            draft.debit(payable_id, offset, label=EntryLabel.RECEIVABLE_SETTLEMENT)
            draft.credit(receivable_id, offset, label=EntryLabel.RECEIVABLE_SETTLEMENT)
            draft.memo = (
                f"{draft.memo}; settles {display_money(offset, currency)} "
                f"{vendor.code} owed the platform"
            )
        post_one(draft, posted_by=posted_by)
    return payout


def _beyond(
    vendor: Vendor,
    currency: str,
    amount: Decimal,
    payable: Decimal,
    receivable: Decimal,
    held: Holdback,
) -> str:
    """Why a payout pays too much: what is owed, what is held back, the excess."""

    def money(value: Decimal) -> str:
        return display_money(value, currency)

    owed = payable - receivable
    said = f"{vendor} is owed {money(owed)}"
    if receivable:
        said += f" (payable {money(payable)} less {money(receivable)} it owes the platform)"
    if held.amount:
        cases = f"{held.cases} open case" + ("s" if held.cases != 1 else "")
        may_pay = owed - held.amount
        said += (
            f", of which {money(held.amount)} is held back for {cases}: at most "
            f"{money(max(may_pay, ZERO))} may be paid now, and this pays "
            f"{money(amount - may_pay)} more. Pay it as an advance to pay more than may be paid."
        )
        return said
    return (
        said
        + f": this pays {money(amount - owed)} more. Pay it as an advance to pay more than is owed."
    )


def reverse_journal(
    journal: Journal, *, on: date, memo: str = "", posted_by: PostedBy
) -> Journal | None:
    """Post the mirror image of `journal` (the only way to undo one).
    EntriesDetachedError if its entries' month was detached: there is nothing
    left to mirror (and its month is closed for good)."""
    from .detached import attached_months_held, require_attached

    # The check, the read of the entries and the posting in one transaction
    # on the posting's database, in which no month is detached: a detach
    # between the check and the read would leave no entries to mirror (a
    # misleading "no entries" refusal rather than EntriesDetachedError).
    with attached_months_held(DEFAULT_DB_ALIAS):
        require_attached(journal.date, f"Reversing journal {journal.pk}")
        draft = JournalDraft(
            posting_key=f"reversal:{journal.pk}",
            kind=JournalKind.REVERSAL,
            currency=journal.currency,
            date=on,
            memo=memo or f"Reversal of journal {journal.pk}",
            order_id=journal.order_id,
            case_id=journal.case_id,
            payout_id=journal.payout_id,
            reverses_id=journal.pk,
            reverses_date=journal.date,
        )
        for entry in journal.entries.using(DEFAULT_DB_ALIAS):
            draft.debit(entry.account_id, entry.credit - entry.debit)
        return post_one(draft, posted_by=posted_by)
