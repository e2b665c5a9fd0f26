"""Fixtures of the cash tests: the platform's bank account and helpers that
write statements, lines and open items directly (the constraint tests) or
through the services."""

from datetime import date
from decimal import Decimal

import pytest

from cash.models import BankAccount, BankStatement, BankStatementLine, KeySource, OpenItem
from ledger.models import Account, AccountRole

IBAN = "DE89370400440532013000"
SECOND_IBAN = "DE02120300000000202051"


@pytest.fixture
def bank_ledger_account(db) -> Account:
    return Account.objects.get(role=AccountRole.BANK)


@pytest.fixture
def account(bank_ledger_account) -> BankAccount:
    return BankAccount.objects.create(
        name="Main EUR",
        bank="Commerzbank",
        iban=IBAN,
        currency="EUR",
        ledger_account=bank_ledger_account,
    )


@pytest.fixture
def second_account(bank_ledger_account) -> BankAccount:
    """Another EUR account on the same ledger bank account."""
    return BankAccount.objects.create(
        name="Second", iban=SECOND_IBAN, currency="EUR", ledger_account=bank_ledger_account
    )


def make_statement(account: BankAccount, **fields) -> BankStatement:
    fields.setdefault("format", "csv")
    fields.setdefault("file_sha256", "0" * 64)
    fields.setdefault("currency", account.currency)
    return BankStatement.objects.create(account=account, **fields)


def make_line(statement: BankStatement, amount: str, key: str, **fields) -> BankStatementLine:
    value = Decimal(amount)
    fields.setdefault("booking_date", date(2026, 11, 2))
    return BankStatementLine.objects.create(
        account=statement.account,
        statement=statement,
        amount=value,
        currency=statement.currency,
        amount_minor=int(value * 100),
        natural_key=key,
        key_source=KeySource.HASH,
        **fields,
    )


def make_item(ledger_account: Account, amount: str, source_id: int, **fields) -> OpenItem:
    value = Decimal(amount)
    fields.setdefault("item_date", date(2026, 11, 1))
    fields.setdefault("kind", "vendor_payout")
    return OpenItem.objects.create(
        source_id=source_id,
        ledger_account=ledger_account,
        currency="EUR",
        amount=value,
        amount_minor=int(value * 100),
        remaining_minor=abs(int(value * 100)),
        **fields,
    )
