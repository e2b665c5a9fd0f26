"""PostgreSQL itself refuses what must never happen, whatever the ORM does.

Each test issues raw SQL in a real transaction and commits, as a careless
script or a second application might.
"""

import pytest
from django.db import IntegrityError, connection, transaction

from ledger.models import Account

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

JOURNAL = (
    "INSERT INTO ledger_journal (posting_key, kind, currency, date, memo, entry_count,"
    " created_at, posted_by_process) VALUES (%s, 'sale', %s, '2026-11-22', '', %s, now(),"
    " 'script') RETURNING id"
)
ENTRY = (
    "INSERT INTO ledger_entry (journal_id, date, account_id, currency, debit, credit, label)"
    " VALUES (%s, '2026-11-22', %s, %s, %s, %s, 'sale')"
)


def accounts():
    return Account.objects.get(code="1100").pk, Account.objects.get(code="4000").pk


def post(key, legs, currency="EUR", declared=None):
    """One journal with entries (account, debit, credit, currency?), committed."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(JOURNAL, [key, currency, declared if declared is not None else len(legs)])
        journal_id = cursor.fetchone()[0]
        for leg in legs:
            account, debit, credit = leg[:3]
            cursor.execute(
                ENTRY, [journal_id, account, leg[3] if len(leg) > 3 else currency, debit, credit]
            )
    return journal_id


def test_a_balanced_journal_commits():
    clearing, income = accounts()
    post("ok", [(clearing, "10.00", "0"), (income, "0", "10.00")])


def test_an_unbalanced_journal_is_refused_at_commit():
    clearing, income = accounts()
    with pytest.raises(IntegrityError, match="does not balance"):
        post("unbalanced", [(clearing, "10.00", "0"), (income, "0", "9.99")])
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger_journal WHERE posting_key = 'unbalanced'")
        assert cursor.fetchone()[0] == 0


def test_a_journal_without_its_entries_is_refused():
    clearing, _ = accounts()
    with pytest.raises(IntegrityError, match="declares 2 entries but has 1"):
        post("short", [(clearing, "10.00", "0")], declared=2)


def test_balancing_in_another_currency_does_not_count():
    clearing, income = accounts()
    with pytest.raises(IntegrityError, match="entries in another currency than EUR"):
        post("mixed", [(clearing, "10.00", "0", "EUR"), (income, "0", "10.00", "USD")])


def balanced_journal(cursor, key: str, debit: int, credit: int) -> int:
    """Write a journal declaring 2 entries and its two balanced entries (10.00 EUR),
    with the deferred checks not yet run; returns its id."""
    cursor.execute(JOURNAL, [key, "EUR", 2])
    journal_id = cursor.fetchone()[0]
    cursor.execute(ENTRY, [journal_id, debit, "EUR", "10.00", "0"])
    cursor.execute(ENTRY, [journal_id, credit, "EUR", "0", "10.00"])
    return journal_id


def test_an_entry_added_after_the_checks_ran_early_is_checked_too():
    """Django's check_constraints() runs the deferred checks in the middle of a
    transaction; an entry written after that must still be checked at commit."""
    clearing, income = accounts()
    with pytest.raises(IntegrityError, match="declares 2 entries but has 3"):
        with transaction.atomic(), connection.cursor() as cursor:
            journal_id = balanced_journal(cursor, "early-checks", clearing, income)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            cursor.execute(ENTRY, [journal_id, clearing, "EUR", "999.00", "0"])


def test_an_entry_added_in_a_later_savepoint_is_checked_too():
    """An entry written in a savepoint after its journal must not slip through."""
    clearing, income = accounts()
    with pytest.raises(IntegrityError, match="declares 2 entries but has 3"):
        with transaction.atomic(), connection.cursor() as cursor:
            journal_id = balanced_journal(cursor, "savepoint", clearing, income)
            with transaction.atomic():
                cursor.execute(ENTRY, [journal_id, income, "EUR", "0", "1.00"])


def test_an_entry_cannot_be_slipped_into_a_posted_journal():
    clearing, income = accounts()
    journal_id = post("posted", [(clearing, "10.00", "0"), (income, "0", "10.00")])
    with pytest.raises(IntegrityError, match="declares 2 entries but has 4"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(ENTRY, [journal_id, clearing, "EUR", "5.00", "0"])
            cursor.execute(ENTRY, [journal_id, income, "EUR", "0", "5.00"])


def test_an_entry_dated_otherwise_than_its_journal_is_refused():
    """The entry's date is its journal's posting date (the partition key of
    ledger_entry): a script writing another one is refused at commit, and the
    journal is not posted."""
    clearing, income = accounts()
    other_day = ENTRY.replace("'2026-11-22'", "'2026-11-23'")
    with pytest.raises(IntegrityError, match="is dated 2026-11-23 but its journal"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(JOURNAL, ["misdated", "EUR", 2])
            journal_id = cursor.fetchone()[0]
            cursor.execute(other_day, [journal_id, income, "EUR", "0", "10.00"])
            cursor.execute(ENTRY, [journal_id, clearing, "EUR", "10.00", "0"])
            # At commit the journal's own check runs first and counts only the
            # entries of its date (one short); the entries' checks, run now, name it.
            cursor.execute("SET CONSTRAINTS ledger_entry_balanced IMMEDIATE")
    with pytest.raises(IntegrityError, match="declares 2 entries but has 1"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(JOURNAL, ["misdated", "EUR", 2])
            journal_id = cursor.fetchone()[0]
            cursor.execute(ENTRY, [journal_id, clearing, "EUR", "10.00", "0"])
            cursor.execute(other_day, [journal_id, income, "EUR", "0", "10.00"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger_journal WHERE posting_key = 'misdated'")
        assert cursor.fetchone()[0] == 0


def test_an_entry_of_another_date_cannot_join_a_posted_journal():
    clearing, income = accounts()
    journal_id = post("posted-misdated", [(clearing, "10.00", "0"), (income, "0", "10.00")])
    other_day = ENTRY.replace("'2026-11-22'", "'2026-12-01'")
    # At commit either the journal check names the dates, or the month's
    # composite key (journal_id, date) into its journals (ledger 0013) finds
    # no such journal.
    refused = (
        "is dated 2026-12-01 but its journal"
        '|foreign key constraint "ledger_entry_(y2026m12|default)_journal_key"'
    )
    with pytest.raises(IntegrityError, match=refused):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(other_day, [journal_id, clearing, "EUR", "5.00", "0"])
            cursor.execute(other_day, [journal_id, income, "EUR", "0", "5.00"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger_entry WHERE journal_id = %s", [journal_id])
        assert cursor.fetchone()[0] == 2


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entry SET debit = debit + 1 WHERE journal_id = %s",
        "DELETE FROM ledger_entry WHERE journal_id = %s",
        "UPDATE ledger_journal SET memo = 'edited' WHERE id = %s",
        "DELETE FROM ledger_journal WHERE id = %s",
    ],
)
def test_journals_and_entries_are_never_updated_or_deleted(statement):
    clearing, income = accounts()
    journal_id = post("immutable", [(clearing, "10.00", "0"), (income, "0", "10.00")])
    with pytest.raises(IntegrityError, match="not allowed"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [journal_id])


def test_an_entry_has_exactly_one_positive_side():
    clearing, income = accounts()
    with pytest.raises(IntegrityError):
        post("two-sided", [(clearing, "10.00", "10.00"), (income, "0", "0")])
    with pytest.raises(IntegrityError):
        post("negative", [(clearing, "-10.00", "0"), (income, "0", "-10.00")])


def test_a_posting_key_is_used_once():
    clearing, income = accounts()
    post("once", [(clearing, "1.00", "0"), (income, "0", "1.00")])
    with pytest.raises(IntegrityError):
        post("once", [(clearing, "1.00", "0"), (income, "0", "1.00")])


def test_refund_counters_cannot_pass_what_was_sold(worked_order_committed):
    line_id = worked_order_committed
    with pytest.raises(IntegrityError, match="refunded_quantity_within_quantity"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE refunds_orderline SET refunded_quantity = quantity + 1 WHERE id = %s",
                [line_id],
            )


@pytest.mark.parametrize(
    "change",
    ["sku = sku || '-RENAMED'", "vendor_id = (SELECT id FROM vendors_vendor WHERE code = 'BOLT')"],
)
def test_an_order_line_keeps_its_sku_and_vendor(worked_order_committed, bolt, change):
    with pytest.raises(IntegrityError, match="keeps its SKU and vendor"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE refunds_orderline SET {change} WHERE id = %s", [worked_order_committed]
            )


@pytest.fixture
def worked_order_committed(acme):
    from tests.factories import make_order

    order = make_order(lines=[(acme, "MUG-01", 2, "20.00", "0.10")])
    return order.lines.get().pk
