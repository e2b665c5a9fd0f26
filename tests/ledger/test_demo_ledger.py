"""The demo data, posted through the outbox, leaves a ledger that adds up."""

from django.core.management import call_command

from ledger.models import CreditNote, Journal, JournalKind
from ledger.selectors import ledger_currencies, trial_balance
from refunds.models import CaseStatus, Order, OutboxMessage, RefundCase


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
    assert all(case.credit_notes.exists() for case in closed_or_completed)
    # Every order paid has its invoice, every credit note the invoice it corrects.
    assert not Order.objects.filter(invoices__isnull=True).exists()
    assert not CreditNote.objects.filter(invoice__isnull=True).exists()
