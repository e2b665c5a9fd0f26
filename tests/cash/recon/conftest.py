"""Fixtures of the reconciliation-run, close-rule and trace tests: a card order
refunded through Stripe, the Stripe payout that carries it, and the bank
statement that shows the payout arriving."""

from __future__ import annotations

import pytest

from cash.services.imports import import_statement_file
from cash.services.payout_reports import import_payout_report
from refunds.models import Payment
from tests.audit_plugin import drain_ledger
from tests.cash.payouts.conftest import provider_accounts, stripe  # noqa: F401
from tests.cash.payouts.files import Txn, stripe_report
from tests.cash.statement_files import Entry, camt
from tests.factories import complete_worked_refund

WORKED_PAYOUT = [
    Txn("charge", "109.00", "3.27", source_id="ch_1001", txn="txn_1001"),
    Txn("refund", "-27.50", source_id="re_1001", charge_id="ch_1001", txn="txn_1002"),
]
PAYOUT_LINE = Entry(
    "78.23", booked="2026-11-05", acct_svcr_ref="BANK-0001", remittance="STRIPE po_1QxYz"
)


@pytest.fixture
def refunded(worked_order, alice):
    Payment.objects.filter(order=worked_order).update(reference="ch_1001")
    drain_ledger()
    return complete_worked_refund(worked_order, alice, gateway_reference="re_1001")


@pytest.fixture
def paid_out(stripe, refunded, alice):  # noqa: F811
    import_payout_report(data=stripe_report(WORKED_PAYOUT), provider=stripe, user=alice)
    drain_ledger()
    return refunded


@pytest.fixture
def banked(paid_out, account, alice):
    import_statement_file(
        data=camt([PAYOUT_LINE], opening="0.00", statement_id="STMT-2026-11"), user=alice
    )
    return paid_out


@pytest.fixture
def settled(banked, account, alice):
    """`banked`, and then each vendor that bears a part: its settlement statement
    for the refund's month, its payout after that, and the bank debit of it."""
    from datetime import date
    from decimal import Decimal

    from cash.services.matching import reconcile
    from ledger.models import Journal, JournalKind
    from ledger.settlements.compute import generate_due_statements
    from refunds.models import VendorLiability
    from tests.factories import eur_payout

    refund_day = Journal.objects.filter(case=banked, kind=JournalKind.REFUND).first().date
    next_month = date(refund_day.year + refund_day.month // 12, refund_day.month % 12 + 1, 1)
    generate_due_statements(next_month, cutoff=timezone_now())
    entries = []
    for number, liability in enumerate(
        VendorLiability.objects.filter(case=banked, vendor_share__gt=0).select_related("vendor"),
        start=1,
    ):
        payout = eur_payout(liability.vendor, "10.00", next_month, f"VP-{number}", advance=True)
        entries.append(
            Entry(
                str(-Decimal("10.00")),
                booked=next_month.isoformat(),
                acct_svcr_ref=f"BANK-VP-{number}",
                remittance=f"PAYOUT-{payout.pk}",
                party=liability.vendor.name,
            )
        )
    drain_ledger()
    import_statement_file(
        data=camt(entries, opening="78.23", statement_id=f"STMT-{next_month:%Y-%m}"), user=alice
    )
    reconcile(user=alice)
    return banked


def timezone_now():
    from django.utils import timezone

    return timezone.now()
