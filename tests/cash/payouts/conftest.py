"""Fixtures of the payout report tests: the provider roles of the chart and a
Stripe provider."""

from __future__ import annotations

import pytest

from cash.models import PayoutProvider
from ledger.models import Account

# The accounting issue's default chart (codes and roles as its migration makes them).
PROVIDER_ACCOUNTS = [
    ("1300", "Payment-provider reserve", "asset", "provider_reserve"),
    ("6000", "Payment-provider fees", "expense", "provider_fees"),
    ("6100", "Chargebacks", "expense", "chargebacks"),
]


@pytest.fixture
def provider_accounts(db) -> dict[str, Account]:
    accounts = {}
    for code, name, kind, role in PROVIDER_ACCOUNTS:
        account = Account.objects.filter(role=role).order_by("code").first()
        if account is None:
            account = Account.objects.create(code=code, name=name, kind=kind, role=role)
        accounts[role] = account
    return accounts


@pytest.fixture
def stripe(provider_accounts) -> PayoutProvider:
    return PayoutProvider.objects.create(code="stripe", name="Stripe", payment_method="card")
