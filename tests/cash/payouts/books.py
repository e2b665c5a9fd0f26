"""Helpers of the payout report tests: orders paid by card with a gateway
reference, balances, and a snapshot of what an import writes."""

from __future__ import annotations

from decimal import Decimal

from cash.models import PayoutException, PayoutReport, PayoutReportRow
from ledger.models import Account, AccountBalance, AccountRole, Journal
from refunds.models import Payment
from tests.audit_plugin import drain_ledger
from tests.factories import make_order


def card_order(number: str, reference: str, lines, **kwargs):
    """make_order, its card payment given the gateway's charge id, its sale posted."""
    order = make_order(number=number, lines=lines, **kwargs)
    Payment.objects.filter(order=order).update(reference=reference)
    drain_ledger()
    return order


def balance(account: Account | int, currency: str = "EUR") -> Decimal:
    """Dr - Cr of an account in a currency (its maintained balance)."""
    pk = account if isinstance(account, int) else account.pk
    row = AccountBalance.objects.filter(account_id=pk, currency=currency).first()
    return row.debit - row.credit if row else Decimal(0)


def clearing(method: str = "card") -> Account:
    return Account.objects.get(role=AccountRole.GATEWAY_CLEARING, payment_method=method)


def bank() -> Account:
    return Account.objects.get(role=AccountRole.BANK)


def written() -> tuple[int, int, int, int]:
    """What an import writes: reports, rows, exceptions, journals."""
    return (
        PayoutReport.objects.count(),
        PayoutReportRow.objects.count(),
        PayoutException.objects.count(),
        Journal.objects.count(),
    )
