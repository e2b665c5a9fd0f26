"""The journal of a provider payout: it settles the gateway clearing account.

The sale journal debited gateway clearing with what the customer paid the
provider; a completed case's refund journal credited it with what the provider
paid back. The payout report says what the provider did with that money:

    Dr bank               the payout (Cr when the provider debits the bank)
    Dr provider fees      the fee on every row, and fee rows
    Dr chargebacks        chargebacks (their reversals credit it)
    Dr provider reserve   reserves held (releases credit it)
    Cr gateway clearing   charges less refunds (and adjustments), gross

Refund rows are not refunds posted again: the refund journal already credited
clearing with them; here they only reduce what the charges settle. Rows that
matched nothing (the exception queue) are posted by their type all the same,
so the difference stays visible in the clearing account until staff explain
it. The legs balance because the payout is the rows' net (checked at import
and by the report's CHECK constraint): bank + fees + chargebacks + reserve =
charges + refunds + adjustments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from ledger.models import Account, AccountRole, JournalKind
from ledger.posting import Chart, JournalDraft, PostingError
from lib.money import ZERO

from ..models import BankAccount, PayoutProvider, PayoutReport, RowType

# Account roles of the chart the accounting issue (#11) added: named here as
# text so that this module works on a chart that predates them.
FEES_ROLE = "provider_fees"
CHARGEBACKS_ROLE = "chargebacks"
RESERVE_ROLE = "provider_reserve"

ROLE_NAMES = {
    FEES_ROLE: "payment-provider fees",
    CHARGEBACKS_ROLE: "chargebacks",
    RESERVE_ROLE: "payment-provider reserve",
}

# Row types whose gross settles the gateway clearing account.
CLEARING_TYPES = frozenset({RowType.CHARGE, RowType.REFUND, RowType.ADJUSTMENT})


class RowAmounts(Protocol):
    type: str
    gross: Decimal
    fee: Decimal
    net: Decimal


@dataclass(frozen=True)
class PayoutLegs:
    """Signed debits: a negative one is a credit."""

    bank: Decimal
    fees: Decimal
    chargebacks: Decimal
    reserve: Decimal
    clearing_credit: Decimal

    @property
    def balanced(self) -> bool:
        return self.bank + self.fees + self.chargebacks + self.reserve == self.clearing_credit


def payout_legs(rows: Iterable[RowAmounts]) -> PayoutLegs:
    """The journal's legs from a payout's rows (the payout's own row aside)."""
    bank = fees = chargebacks = reserve = clearing = ZERO
    for row in rows:
        if row.type == RowType.PAYOUT:
            continue
        bank += row.net
        fees += row.fee
        if row.type in CLEARING_TYPES:
            clearing += row.gross
        elif row.type == RowType.FEE:
            fees -= row.gross
        elif row.type == RowType.CHARGEBACK:
            chargebacks -= row.gross
        elif row.type == RowType.RESERVE:
            reserve -= row.gross
        else:  # pragma: no cover - RowType is closed
            raise PostingError("type", f"Unknown payout row type {row.type!r}.")
    return PayoutLegs(bank, fees, chargebacks, reserve, clearing)


# ---------------------------------------------------------------- accounts


def role_account(role: str) -> int:
    """The ledger account of one of the provider roles (the lowest code if several)."""
    found = Account.objects.filter(role=role).order_by("code").values_list("id", flat=True).first()
    if found is None:
        raise PostingError(
            "account",
            f"No account has the role {role!r} ({ROLE_NAMES.get(role, role)}): add it to the "
            "chart of accounts before importing payouts that need it.",
            code="no_account",
        )
    return found


def bank_ledger_account(provider: PayoutProvider, currency: str) -> int:
    """Where the payout lands: the provider's bank account (in the payout's
    currency), else the one bank account held in that currency, else the
    ledger's bank account of the currency (or its one bank account)."""
    if provider.bank_account_id is not None:
        account = provider.bank_account
        assert account is not None
        if account.currency != currency:
            raise PostingError(
                "provider",
                f"{provider.name}'s payouts go to {account.name}, which holds "
                f"{account.currency}; this payout is in {currency}. Name a bank account of "
                f"{currency} for it.",
                code="currency_mismatch",
            )
        return account.ledger_account_id
    held = list(BankAccount.objects.filter(currency=currency).order_by("name")[:2])
    if len(held) > 1:
        raise PostingError(
            "provider",
            f"Several bank accounts hold {currency} ({held[0].name}, {held[1].name}, ...): "
            f"name the one {provider.name}'s payouts go to.",
            code="ambiguous_bank",
        )
    if held:
        return held[0].ledger_account_id
    chart = Chart()
    # The ledger's bank of a currency, once its chart keeps banks per currency (#11).
    bank_for: Any = getattr(chart, "bank_for", None)
    if bank_for is not None:
        return int(bank_for(currency))
    return chart.role(AccountRole.BANK)


def clearing_account(provider: PayoutProvider) -> int:
    return Chart().clearing_for(provider.payment_method)


# ---------------------------------------------------------------- the journal


def posting_key(report: PayoutReport) -> str:
    return f"payout-report:{report.pk}"


def payout_report_journal(report: PayoutReport, legs: PayoutLegs) -> JournalDraft | None:
    """The report's journal, or None when every leg is zero (nothing moved)."""
    draft = JournalDraft(
        posting_key=posting_key(report),
        kind=JournalKind.PAYOUT,
        currency=report.currency,
        date=report.arrival_date,
        memo=f"{report.provider.name} payout {report.payout_id}",
    )
    draft.debit(report.bank_ledger_account_id, legs.bank)
    for role, amount in (
        (FEES_ROLE, legs.fees),
        (CHARGEBACKS_ROLE, legs.chargebacks),
        (RESERVE_ROLE, legs.reserve),
    ):
        if amount:
            draft.debit(role_account(role), amount)
    if legs.clearing_credit:
        draft.credit(clearing_account(report.provider), legs.clearing_credit)
    draft.merged()
    return draft if draft.lines else None
