"""The demo data, posted through the outbox, leaves a ledger that adds up."""

from django.core.management import call_command

from ledger.models import Journal, JournalKind
from ledger.selectors import ledger_currencies, trial_balance
from refunds.models import CaseStatus, OutboxMessage, RefundCase


def test_the_trial_balance_nets_to_zero_for_every_currency_after_the_demo_data(db):
    call_command("load_demo", orders=120, seed=7, stdout=open("/dev/null", "w"))

    assert not OutboxMessage.objects.filter(consumer="ledger").exists()
    currencies = ledger_currencies()
    assert set(currencies) == {"EUR", "JPY", "KWD"}
    for currency in currencies:
        balance = trial_balance(currency)
        assert balance.balanced, currency
        assert balance.total_debit > 0
    completed = RefundCase.objects.filter(completed_at__isnull=False).count()
    assert completed > 0
    assert Journal.objects.filter(kind=JournalKind.REFUND).count() == completed
    assert Journal.objects.filter(kind=JournalKind.SALE).count() == 120
    closed_or_completed = RefundCase.objects.filter(
        status__in=[CaseStatus.COMPLETED, CaseStatus.CLOSED]
    )
    assert all(hasattr(case, "credit_note") for case in closed_or_completed)
