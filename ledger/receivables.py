"""What vendors owe the platform: their vendor_receivable accounts.

A vendor's payable is a liability, what the platform owes it. When refunds
took more than its sales brought (or it was paid an advance), the payable has a
debit balance: the vendor owes the platform. At each period close that debit
balance, as at the month's last day, moves to the vendor's receivable (an
asset, one per vendor, code 1200-<vendor>, made on first use) by a
reclassification journal dated that day: Dr vendor receivable, Cr vendor
payable. The balance sheet then shows an asset, not a negative liability.

The vendor's next payout settles it first (ledger.posting.record_payout): the
receivable is offset against what the vendor is owed (Dr payable, Cr
receivable, labelled receivable_settlement), and only the rest may go to the
bank (Dr payable, Cr bank). The payout records the offset
(Payout.receivable_offset).

Balances only move one way at a close: a receivable stays until a payout
settles it, even if later sales bring the payable back into credit. What the
vendor is owed is always payable less receivable (selectors.owed_to_vendor).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Sum

from lib.money import ZERO, display_money, quantize

from .models import AccountDay, AccountRole, JournalKind
from .posting import JournalDraft, ensure_payable_accounts, ensure_vendor_accounts


@dataclass(frozen=True)
class DebitBalance:
    vendor_id: int
    vendor_code: str
    currency: str
    amount: Decimal  # positive: what the vendor owes the platform


def payable_debits_at(day: date) -> list[DebitBalance]:
    """Vendors whose payable had a debit balance at the end of `day`, per
    currency. Read once `day`'s period is locked against postings (a close
    holds it), so no journal dated up to `day` can change it meanwhile. From
    the daily totals (AccountDay), which posting keeps equal to the entries
    and which outlive a detached entries month (ledger.detached)."""
    rows = (
        AccountDay.objects.filter(account__role=AccountRole.VENDOR_PAYABLE, date__lte=day)
        .values("account__vendor_id", "account__vendor__code", "currency")
        .annotate(debit=Sum("debit"), credit=Sum("credit"))
        .order_by("account__vendor_id", "currency")
    )
    found = []
    for row in rows:
        # SQLite sums decimals as floats: back to the currency's minor unit.
        amount = quantize(row["debit"] - row["credit"], row["currency"])
        if amount > ZERO:
            found.append(
                DebitBalance(
                    row["account__vendor_id"], row["account__vendor__code"], row["currency"], amount
                )
            )
    return found


def reclassification_drafts(*, day: date, key: str) -> list[JournalDraft]:
    """The journals that move each payable debit balance at the end of `day`
    to the vendor's receivable, dated `day`; `key` makes their posting keys
    (one close of one period)."""
    debits = payable_debits_at(day)
    if not debits:
        return []
    vendor_ids = {debit.vendor_id for debit in debits}
    payables = ensure_payable_accounts(vendor_ids)
    receivables = ensure_vendor_accounts(AccountRole.VENDOR_RECEIVABLE, vendor_ids)
    drafts = []
    for debit in debits:
        draft = JournalDraft(
            posting_key=f"reclassification:{key}:{debit.vendor_id}:{debit.currency}",
            kind=JournalKind.RECLASSIFICATION,
            currency=debit.currency,
            date=day,
            memo=(
                f"{debit.vendor_code} owes the platform "
                f"{display_money(debit.amount, debit.currency)} on {day:%Y-%m-%d}: "
                "payable debit balance moved to its receivable"
            ),
        )
        draft.debit(receivables[debit.vendor_id], debit.amount)
        draft.credit(payables[debit.vendor_id], debit.amount)
        drafts.append(draft)
    return drafts
