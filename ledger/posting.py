"""Posting rules and the one way journals reach the ledger.

Rules (DESIGN's worked example is the reference):
- Sale (order paid): Dr gateway clearing per payment; Cr each vendor's payable
  with its net less commission; Cr commission income; Cr output tax; Cr
  shipping income.
- Refund (case completed), from the breakdown as it stood at completion:
  Dr vendor payable (vendor share); Dr commission income (commission
  reversal); Dr refund expense (the rest of the platform's share); Dr output
  tax (tax); Cr gateway clearing (the total, over the order's payments).
- Correction (dispute resolved after completion with new shares): the
  difference between the refund journal of the new and the old shares.
- Payout: Dr vendor payable; Cr bank.
- Reversal: any journal mirrored, debit for credit.

`post_journals` writes a batch of drafts: journals whose posting key already
exists are skipped (each source is posted exactly once), then one INSERT for
the journals, one for their entries and one upsert that adds each account's
summed delta to its maintained balance, in account order so concurrent
batches never deadlock. A draft dated in a closed period is posted on the
first day of the first open one and keeps its own date as `original_date`
(ledger.periods, which also locks the periods posted into).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from lib.errors import DomainError
from lib.money import ZERO, allocate, display_money
from lib.parsing import parse_amount, parse_currency
from refunds.models import Order, RefundCase
from vendors.models import Vendor

from .holdback import Holdback, held_back
from .models import (
    SINGLE_ROLES,
    Account,
    AccountBalance,
    AccountKind,
    AccountRole,
    Entry,
    EntryLabel,
    Journal,
    JournalKind,
    Payout,
    default_label,
)
from .periods import posting_dates


class PostingError(DomainError):
    """A journal that must not be posted (unbalanced, missing account, ...)."""


class Leg(NamedTuple):
    """One entry of a draft: a positive debit or credit, and what it is."""

    account_id: int
    debit: Decimal
    credit: Decimal
    label: str


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


# ---------------------------------------------------------------- accounts


class Chart:
    """The accounts the rules post to, looked up by role (codes may change)."""

    def __init__(self, vendor_ids: Iterable[int] = ()) -> None:
        self.single: dict[str, int] = {}
        self.clearing: dict[str, int] = {}
        self.payable: dict[int, int] = {}
        for account in Account.objects.filter(
            role__in=[*SINGLE_ROLES, AccountRole.GATEWAY_CLEARING]
        ).only("id", "role", "payment_method"):
            if account.role == AccountRole.GATEWAY_CLEARING:
                self.clearing[account.payment_method] = account.pk
            else:
                self.single[account.role] = account.pk
        self.add_vendors(vendor_ids)

    def add_vendors(self, vendor_ids: Iterable[int]) -> None:
        wanted = set(vendor_ids) - set(self.payable)
        if wanted:
            self.payable.update(ensure_payable_accounts(wanted))

    def role(self, role: str) -> int:
        try:
            return self.single[role]
        except KeyError:
            raise PostingError("account", f"No account has the role {role!r}.") from None

    def clearing_for(self, method: str) -> int:
        try:
            return self.clearing[method]
        except KeyError:
            raise PostingError(
                "account", f"No gateway clearing account for payment method {method!r}."
            ) from None


def ensure_payable_accounts(vendor_ids: Iterable[int]) -> dict[int, int]:
    """Each vendor's payable sub-account, created on first use."""
    return ensure_vendor_accounts(AccountRole.VENDOR_PAYABLE, vendor_ids)


# Each vendor's own sub-accounts: (code prefix, name, kind) by role.
VENDOR_ACCOUNTS = {
    AccountRole.VENDOR_PAYABLE: ("2000", "Vendor payable", AccountKind.LIABILITY),
    AccountRole.VENDOR_RECEIVABLE: ("1200", "Vendor receivable", AccountKind.ASSET),
}


def ensure_vendor_accounts(role: str, vendor_ids: Iterable[int]) -> dict[int, int]:
    """Each vendor's sub-account of `role` (VENDOR_ACCOUNTS), created on first
    use: {vendor id: account id}."""
    prefix, name, kind = VENDOR_ACCOUNTS[AccountRole(role)]
    vendor_ids = set(vendor_ids)
    found = dict(
        Account.objects.filter(role=role, vendor_id__in=vendor_ids).values_list("vendor_id", "id")
    )
    missing = vendor_ids - set(found)
    if missing:
        Account.objects.bulk_create(
            [
                Account(
                    code=f"{prefix}-{vendor.code}",
                    name=f"{name} - {vendor.name}",
                    kind=kind,
                    role=role,
                    vendor=vendor,
                )
                for vendor in Vendor.objects.filter(pk__in=missing)
            ],
            ignore_conflicts=True,
        )
        found.update(
            Account.objects.filter(role=role, vendor_id__in=missing).values_list("vendor_id", "id")
        )
    return found


# ---------------------------------------------------------------- rules


def sale_journal(order: Order, chart: Chart) -> JournalDraft:
    """Order paid. `order` must come with its lines and payments prefetched."""
    draft = JournalDraft(
        posting_key=f"sale:{order.pk}",
        kind=JournalKind.SALE,
        currency=order.currency,
        date=order.placed_at.date(),
        memo=f"Sale {order.number}",
        order_id=order.pk,
    )
    for payment in order.payments.all():
        draft.debit(chart.clearing_for(payment.method), payment.amount)
    vendor_net: dict[int, Decimal] = defaultdict(lambda: ZERO)
    commission = tax = ZERO
    for line in order.lines.all():
        vendor_net[line.vendor_id] += line.net_amount - line.commission_amount
        commission += line.commission_amount
        tax += line.tax_amount
    for vendor_id in sorted(vendor_net):
        draft.credit(chart.payable[vendor_id], vendor_net[vendor_id])
    draft.credit(chart.role(AccountRole.COMMISSION_INCOME), commission)
    draft.credit(chart.role(AccountRole.OUTPUT_TAX), tax)
    draft.credit(chart.role(AccountRole.SHIPPING_INCOME), order.shipping_amount)
    return draft


def _refund_legs(
    draft: JournalDraft, shares: Iterable[dict[str, Any]], chart: Chart, sign: int = 1
) -> None:
    """Debit legs of a refund for a breakdown (sign -1 takes them back)."""
    for row in shares:
        vendor_share = Decimal(row["vendor_share"])
        reversal = Decimal(row["commission_reversal"])
        platform = Decimal(row["platform_share"]) - reversal
        draft.debit(chart.payable[int(row["vendor_id"])], sign * vendor_share)
        draft.debit(chart.role(AccountRole.COMMISSION_INCOME), sign * reversal)
        draft.debit(chart.role(AccountRole.REFUND_EXPENSE), sign * platform)
        if "tax_amount" in row:
            draft.debit(chart.role(AccountRole.OUTPUT_TAX), sign * Decimal(row["tax_amount"]))


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
    """Case completed. `case.order` must come with its payments prefetched."""
    draft = _case_draft(case, f"refund:{case.pk}", JournalKind.REFUND, on, f"Refund {case.case_id}")
    _refund_legs(draft, breakdown, chart)
    total = sum((Decimal(row["refund_amount"]) for row in breakdown), ZERO)
    payments = sorted(case.order.payments.all(), key=lambda p: p.pk)
    parts = allocate(total, [p.amount for p in payments], case.currency)
    for payment, part in zip(payments, parts, strict=True):
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
    """A dispute resolved after completion moved shares: post the difference."""
    draft = _case_draft(
        case,
        f"correction:{event_id}",
        JournalKind.CORRECTION,
        on,
        f"Correction {case.case_id} after dispute",
    )
    for change in changes:
        vendor_id = vendor_ids[change["vendor"]]
        _refund_legs(draft, [{**change["after"], "vendor_id": vendor_id}], chart)
        _refund_legs(draft, [{**change["before"], "vendor_id": vendor_id}], chart, sign=-1)
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
    draft.credit(chart.role(AccountRole.BANK), payout.amount)
    return draft


# ---------------------------------------------------------------- writing


JOURNAL_COLUMNS = (
    "posting_key, kind, currency, date, original_date, memo, order_id, case_id, payout_id, "
    "reverses_id, entry_count, created_at, posted_by_id, posted_by_process"
)
JOURNALS_PER_INSERT = 1000
ENTRIES_PER_INSERT = 5000


def post_journals(drafts: Sequence[JournalDraft], *, posted_by: PostedBy) -> list[Journal]:
    """Post drafts not yet posted, as `posted_by`; returns the journals written now.

    Each journal goes in with `INSERT ... ON CONFLICT (posting_key) DO NOTHING`:
    the database itself skips a key already posted, also one a concurrent
    transaction posts at the same moment (it waits for that one to commit),
    so a redelivered event never posts twice and never fails. The entries and
    the maintained balances follow in the same transaction. Hand-written
    statements because the ORM's bulk_create costs about three times as much
    CPU per journal here (docs/benchmarks.md, ledger (a)).
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
                    len(d.lines),
                    created_at,
                    posted_by.user_id,
                    posted_by.process[:40],
                ]
            values = ", ".join(["(" + ", ".join(["%s"] * 14) + ")"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {Journal._meta.db_table} ({JOURNAL_COLUMNS}) VALUES {values} "
                "ON CONFLICT (posting_key) DO NOTHING RETURNING posting_key, id",
                params,
            )
            posted.update(cursor.fetchall())
        new = [d for d in batch if d.posting_key in posted]
        if not new:
            return []
        # Only what is posted now is checked (a redelivered draft of a key posted
        # before is skipped as it always was); a refusal rolls the batch back.
        for draft in new:
            draft.check()
        rows: list[Any] = []
        deltas: dict[tuple[int, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        for draft in new:
            journal_id = posted[draft.posting_key]
            for account_id, debit, credit, label in draft.lines:
                rows.append((journal_id, account_id, draft.currency, debit, credit, label))
                delta = deltas[(account_id, draft.currency)]
                delta[0] += debit
                delta[1] += credit
        for start in range(0, len(rows), ENTRIES_PER_INSERT):
            entry_rows = rows[start : start + ENTRIES_PER_INSERT]
            cursor.execute(
                f"INSERT INTO {Entry._meta.db_table} "
                "(journal_id, account_id, currency, debit, credit, label) VALUES "
                + ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(entry_rows)),
                [value for row in entry_rows for value in row],
            )
        _add_to_balances(deltas)
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
        entry_count=len(draft.lines),
        created_at=created_at,
        posted_by_id=by.user_id,
        posted_by_process=by.process[:40],
    )
    journal._state.adding = False
    journal._state.db = connection.alias
    return journal


def _add_to_balances(deltas: dict[tuple[int, str], list[Decimal]]) -> None:
    # Sorted, so concurrent batches lock balance rows in the same order.
    rows = sorted(deltas.items())
    table = AccountBalance._meta.db_table
    for start in range(0, len(rows), 1000):
        chunk = rows[start : start + 1000]
        values = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
        params: list[Any] = []
        for (account_id, currency), (debit, credit) in chunk:
            params += [account_id, currency, debit, credit]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (account_id, currency, debit, credit) VALUES {values} "
                f"ON CONFLICT (account_id, currency) DO UPDATE SET "
                f"debit = {table}.debit + excluded.debit, "
                f"credit = {table}.credit + excluded.credit",
                params,
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
        bank_id = chart.role(AccountRole.BANK)
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
    """Post the mirror image of `journal` (the only way to undo one)."""
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
    )
    for entry in journal.entries.all():
        draft.debit(entry.account_id, entry.credit - entry.debit)
    return post_one(draft, posted_by=posted_by)
