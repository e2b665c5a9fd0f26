"""What PostgreSQL refuses on the cash side, whatever code writes the rows."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from cash.models import Allocation, BankAccount, BankStatementLine, LineStatus, OpenItem
from ledger.models import Account

from .conftest import make_item, make_line, make_statement

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def refused(exc=(IntegrityError, InternalError, DatabaseError)):
    return pytest.raises(exc)


def allocate(line, item, minor, method="manual"):
    return Allocation.objects.create(line=line, item=item, amount_minor=minor, method=method)


@pytest.fixture
def line_and_item(account, bank_ledger_account):
    """A bank line of -250.00 and an open item of the same amount, not yet allocated."""
    line = make_line(make_statement(account), "-250.00", "k1")
    return line, make_item(bank_ledger_account, "-250.00", 1)


def test_a_natural_key_is_imported_once_per_account(account):
    statement = make_statement(account)
    make_line(statement, "-10.00", "fitid:1")
    with refused(IntegrityError), transaction.atomic():
        make_line(statement, "-10.00", "fitid:1")
    assert BankStatementLine.objects.count() == 1


def test_a_statement_whose_lines_do_not_reach_its_closing_balance_is_refused(account):
    with refused(IntegrityError), transaction.atomic():
        make_statement(
            account,
            opening_balance=Decimal("100.00"),
            lines_total=Decimal("-20.00"),
            closing_balance=Decimal("81.00"),
        )
    statement = make_statement(
        account,
        opening_balance=Decimal("100.00"),
        lines_total=Decimal("-20.00"),
        closing_balance=Decimal("80.00"),
    )
    assert statement.pk


def test_the_same_file_position_is_stored_once(account):
    make_statement(account, file_sha256="a" * 64)
    with refused(IntegrityError), transaction.atomic():
        make_statement(account, file_sha256="a" * 64)


def test_an_allocation_moves_both_counters_and_matches_the_line(line_and_item):
    line, item = line_and_item
    allocate(line, item, 25000)
    line.refresh_from_db()
    item.refresh_from_db()
    assert (line.allocated_minor, line.status) == (25000, LineStatus.MATCHED)
    assert item.remaining_minor == 0


def test_a_line_is_never_allocated_beyond_its_amount(line_and_item, bank_ledger_account):
    line, first = line_and_item
    second = make_item(bank_ledger_account, "-250.00", 2)
    allocate(line, first, 25000)
    with refused(IntegrityError), transaction.atomic():
        allocate(line, second, 100)
    line.refresh_from_db()
    second.refresh_from_db()
    assert line.allocated_minor == 25000 and second.remaining_minor == 25000


def test_an_item_is_never_allocated_beyond_its_amount(account, bank_ledger_account):
    statement = make_statement(account)
    first = make_line(statement, "-250.00", "k1")
    second = make_line(statement, "-250.00", "k2")
    item = make_item(bank_ledger_account, "-250.00", 1)
    allocate(first, item, 20000)
    with refused(IntegrityError), transaction.atomic():
        allocate(second, item, 5001)
    allocate(second, item, 5000)
    item.refresh_from_db()
    assert item.remaining_minor == 0


def test_the_same_pair_is_allocated_once_while_active(line_and_item):
    line, item = line_and_item
    allocate(line, item, 100)
    with refused(IntegrityError), transaction.atomic():
        allocate(line, item, 100)


def test_a_reversal_gives_the_amounts_back_and_is_final(line_and_item):
    line, item = line_and_item
    allocation = allocate(line, item, 25000)
    Allocation.objects.filter(pk=allocation.pk).update(reversed_at=timezone.now())
    line.refresh_from_db()
    item.refresh_from_db()
    assert (line.allocated_minor, line.status, item.remaining_minor) == (0, "unmatched", 25000)
    with refused(), transaction.atomic():
        Allocation.objects.filter(pk=allocation.pk).update(reversed_at=None)
    # Once reversed, the pair may be allocated again.
    allocate(line, item, 25000)


def test_allocations_are_never_deleted_or_edited(line_and_item):
    line, item = line_and_item
    allocation = allocate(line, item, 100)
    with refused(), transaction.atomic():
        Allocation.objects.filter(pk=allocation.pk).delete()
    with refused(), transaction.atomic():
        Allocation.objects.filter(pk=allocation.pk).update(amount_minor=200)
    assert Allocation.objects.get().amount_minor == 100


def test_what_the_bank_said_never_changes(account):
    line = make_line(make_statement(account), "-250.00", "k1")
    for change in ({"amount": Decimal("-1")}, {"natural_key": "other"}, {"remittance": "x"}):
        with refused(), transaction.atomic():
            BankStatementLine.objects.filter(pk=line.pk).update(**change)
    with refused(), transaction.atomic():
        BankStatementLine.objects.filter(pk=line.pk).delete()
    # Only allocations allocate: a direct update of the counter or to matched is refused.
    with refused(), transaction.atomic():
        BankStatementLine.objects.filter(pk=line.pk).update(allocated_minor=25000, status="matched")
    BankStatementLine.objects.filter(pk=line.pk).update(status=LineStatus.SUGGESTED)
    assert BankStatementLine.objects.get().status == LineStatus.SUGGESTED


def test_a_bank_account_mirrors_a_bank_ledger_account(db):
    other = Account.objects.exclude(role="bank").first()
    with refused(), transaction.atomic():
        BankAccount.objects.create(
            name="Wrong", iban="DE89370400440532013000", currency="EUR", ledger_account=other
        )


def test_a_bank_account_has_a_wellformed_iban_or_a_number(bank_ledger_account):
    for fields in ({"iban": "", "account_number": ""}, {"iban": "de89 3704"}):
        with refused(IntegrityError), transaction.atomic():
            BankAccount.objects.create(
                name="X", currency="EUR", ledger_account=bank_ledger_account, **fields
            )


def test_counters_follow_a_million_style_bulk_insert(account, bank_ledger_account):
    """One INSERT ... SELECT of many allocations: one trigger run moves every counter."""
    statement = make_statement(account)
    lines = [make_line(statement, "-1.00", f"k{i}") for i in range(5)]
    items = [make_item(bank_ledger_account, "-1.00", i) for i in range(5)]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO cash_allocation (line_id, item_id, amount_minor, method, created_at) "
            "SELECT l, i, 100, 'reference', now() FROM unnest(%s::bigint[], %s::bigint[]) AS t(l, i)",
            [[line.pk for line in lines], [item.pk for item in items]],
        )
    assert set(BankStatementLine.objects.values_list("status", flat=True)) == {"matched"}
    assert set(OpenItem.objects.values_list("remaining_minor", flat=True)) == {0}


def test_a_line_must_name_a_statement_of_its_own_account(account, second_account):
    foreign = make_statement(second_account, file_sha256="b" * 64)
    with refused(), transaction.atomic():
        BankStatementLine.objects.create(
            account=account,
            statement=foreign,
            booking_date="2026-11-02",
            amount=Decimal("-1.00"),
            currency="EUR",
            amount_minor=-100,
            natural_key="k1",
            key_source="hash",
        )


def test_an_allocation_must_name_a_line_and_an_item_that_exist(account, bank_ledger_account):
    line = make_line(make_statement(account), "-1.00", "k1")
    item = make_item(bank_ledger_account, "-1.00", 1)
    for line_id, item_id in ((line.pk + 1000, item.pk), (line.pk, item.pk + 1000)):
        with refused(), transaction.atomic():
            Allocation.objects.create(
                line_id=line_id, item_id=item_id, amount_minor=1, method="manual"
            )


def test_statements_and_items_are_never_deleted_and_items_change_only_by_allocation(
    account, bank_ledger_account
):
    statement = make_statement(account)
    item = make_item(bank_ledger_account, "-1.00", 1)
    with refused(), transaction.atomic():
        statement.delete()
    with refused(), transaction.atomic():
        OpenItem.objects.filter(pk=item.pk).delete()
    for change in ({"remaining_minor": 0}, {"amount_minor": -5}, {"reference": "x"}):
        with refused(), transaction.atomic():
            OpenItem.objects.filter(pk=item.pk).update(**change)


def test_an_item_is_booked_to_a_bank_ledger_account(db):
    other = Account.objects.exclude(role="bank").first()
    with refused(), transaction.atomic():
        make_item(other, "-1.00", 1)
