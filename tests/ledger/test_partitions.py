"""ledger_entry partitioned by month of its journal's posting date (PostgreSQL):
entries carry their journal's date and land in its month's partition, reads
by date prune to their months, the months are made ahead with the events'
and the outbox's, and an old month is detached only once it is a closed
accounting period (refunds.partitions, ledger.partitions, migration 0006)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from ledger.closing import PeriodError, close_period, reopen_period
from ledger.models import Account, Entry, JournalKind
from ledger.partitions import entries_detached
from ledger.posting import JournalDraft, post_one
from lib.migration_helpers import partition_by_month_of, unpartition
from refunds.partitions import (
    Month,
    add_months,
    create_ahead,
    detach,
    is_partitioned,
    month_of,
    monthly_partitions,
    partition_key,
    partitioned_tables,
)
from tests.factories import BY_TESTS

pytestmark = [pytest.mark.postgres]

D = Decimal
ENTRIES = "ledger_entry"
OLD = date(2024, 3, 1)  # a month long before the migration made the table


@pytest.fixture
def accounts(db):
    return dict(Account.objects.values_list("code", "id"))


def draft(accounts, key: str, on: date, amount: str = "10.00") -> JournalDraft:
    journal = JournalDraft(posting_key=key, kind=JournalKind.SALE, currency="EUR", date=on)
    journal.debit(accounts["1100"], D(amount))
    journal.credit(accounts["4000"], D(amount))
    return journal


def partitions_of(entries) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT tableoid::regclass::text FROM ledger_entry WHERE id = ANY(%s)",
            [[e.pk for e in entries]],
        )
        return {name for (name,) in cursor.fetchall()}


def count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_the_entries_are_partitioned_by_month_of_their_date():
    assert ENTRIES in partitioned_tables()
    assert is_partitioned(ENTRIES)
    assert partition_key(ENTRIES) == ("date", "date")
    months = {m.start for m in monthly_partitions(ENTRIES)}
    assert {add_months(month_of(), n) for n in range(4)} <= months
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
            "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = 'ledger_entry'::regclass AND i.indisprimary ORDER BY a.attnum"
        )
        assert [name for (name,) in cursor.fetchall()] == ["id", "date"]
        cursor.execute("SELECT to_regclass('ledger_entry_default') IS NOT NULL")
        assert cursor.fetchone()[0]


@pytest.mark.django_db
def test_a_posted_journals_entries_carry_its_posting_date_and_land_in_its_month(accounts):
    today = date.today()
    journal = post_one(draft(accounts, "now", today), posted_by=BY_TESTS)
    entries = list(Entry.objects.filter(journal=journal))
    assert len(entries) == 2
    assert {e.date for e in entries} == {journal.date} == {today}
    assert partitions_of(entries) == {Month(ENTRIES, month_of(today)).name}


@pytest.mark.django_db
def test_an_entry_made_through_the_orm_takes_its_journals_date(accounts):
    journal = post_one(draft(accounts, "orm", date.today()), posted_by=BY_TESTS)
    field = Entry._meta.get_field("date")
    entry = Entry(journal=journal, account_id=accounts["1100"], currency="EUR", debit=D("1"))
    assert field.pre_save(entry, add=True) == journal.date
    by_id = Entry(journal_id=journal.pk, account_id=accounts["1100"], currency="EUR")
    assert field.pre_save(by_id, add=True) == journal.date == by_id.date


@pytest.mark.django_db
def test_a_late_items_entries_are_dated_on_the_first_open_day(accounts, alice):
    """An item of a closed month is posted on the first open day: its entries
    carry that posting date (the journal's), not the day it happened."""
    create_ahead(0, today=OLD, tables=[ENTRIES])
    post_one(draft(accounts, "march", date(2024, 3, 5)), posted_by=BY_TESTS)
    close_period(month=OLD, user=alice, process="test", today=date(2024, 5, 2))
    journal = post_one(draft(accounts, "late", date(2024, 3, 30)), posted_by=BY_TESTS)
    assert (journal.date, journal.original_date) == (date(2024, 4, 1), date(2024, 3, 30))
    entries = list(Entry.objects.filter(journal=journal))
    assert {e.date for e in entries} == {date(2024, 4, 1)}
    # 2024-04 has no partition of its own here: DEFAULT holds them.
    assert partitions_of(entries) == {"ledger_entry_default"}


@pytest.mark.django_db
def test_a_read_by_date_range_reads_only_its_months_partition(accounts):
    month = month_of()
    post_one(draft(accounts, "pruned", month), posted_by=BY_TESTS)
    plan = Entry.objects.filter(date__gte=month, date__lte=add_months(month, 1)).explain()
    assert Month(ENTRIES, month).name in plan
    assert Month(ENTRIES, add_months(month, 1)).name in plan  # its first day
    assert Month(ENTRIES, add_months(month, 2)).name not in plan
    assert "ledger_entry_default" not in plan
    one_month = Entry.objects.filter(account_id=accounts["1100"], date__lt=add_months(month, 1))
    plan = one_month.filter(date__gte=month).explain()
    assert Month(ENTRIES, month).name in plan
    assert Month(ENTRIES, add_months(month, 1)).name not in plan


@pytest.mark.django_db
def test_create_ahead_makes_the_entries_months_too():
    made = create_ahead(0, today=OLD)
    assert Month(ENTRIES, OLD).name in made
    assert OLD in {m.start for m in monthly_partitions(ENTRIES)}
    assert create_ahead(0, today=OLD) == []


@pytest.mark.django_db
def test_the_command_makes_the_entries_months(capsys):
    far = add_months(month_of(), 5)
    call_command("partitions", "create-ahead", "--months", "5")
    assert f"did create {Month(ENTRIES, far).name}" in capsys.readouterr().out
    assert far in {m.start for m in monthly_partitions(ENTRIES)}


@pytest.fixture
def old_month_table():
    """The OLD month of ledger_entry, made for the test and dropped after it,
    attached or detached (a transactional test's flush keeps tables)."""
    yield Month(ENTRIES, OLD)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {Month(ENTRIES, OLD).name}")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_detach_keeps_an_entries_month_that_is_not_a_closed_period(accounts, old_month_table):
    # Committed first: PostgreSQL refuses to detach over pending commit checks.
    create_ahead(0, today=OLD, tables=[ENTRIES])
    journal = post_one(draft(accounts, "open-march", date(2024, 3, 5)), posted_by=BY_TESTS)
    verdicts = {v.month.name: v for v in detach(1, tables=[ENTRIES])}
    assert verdicts[old_month_table.name].reason == "2024-03 is not a closed accounting period"
    assert OLD in {m.start for m in monthly_partitions(ENTRIES)}
    assert Entry.objects.filter(journal=journal).count() == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_detach_keeps_a_closed_entries_month_while_check_ledger_disagrees(
    accounts, alice, old_month_table
):
    """A closed month goes only once the books agree with their sources: here
    a sale journal of no order (what else a closed month needs, and what the
    reads read instead: tests/ledger/test_detach_entries.py)."""
    create_ahead(0, today=OLD, tables=[ENTRIES])
    journal = post_one(draft(accounts, "closed-march", date(2024, 3, 5)), posted_by=BY_TESTS)
    close_period(month=OLD, user=alice, process="test", today=date(2024, 5, 2))

    for dry_run in (True, False):
        verdicts = {v.month.name: v for v in detach(1, dry_run=dry_run, tables=[ENTRIES])}
        assert not verdicts[old_month_table.name].detachable
        assert verdicts[old_month_table.name].reason.startswith(
            "check_ledger finds [sales_posted] order (no order)"
        )
    assert OLD in {m.start for m in monthly_partitions(ENTRIES)}
    assert Entry.objects.filter(journal=journal).count() == 2
    assert not entries_detached(OLD)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_month_detached_by_hand_cannot_be_reopened(accounts, alice, old_month_table):
    create_ahead(0, today=OLD, tables=[ENTRIES])
    post_one(draft(accounts, "closed-march", date(2024, 3, 5)), posted_by=BY_TESTS)
    close_period(month=OLD, user=alice, process="test", today=date(2024, 5, 2))
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {ENTRIES} DETACH PARTITION {old_month_table.name}")
    try:
        assert entries_detached(OLD)
        with pytest.raises(PeriodError, match="entries were detached"):
            reopen_period(month=OLD, user=alice, process="test", reason="late invoice")
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f"ALTER TABLE {ENTRIES} ATTACH PARTITION {old_month_table.name} "
                "FOR VALUES FROM ('2024-03-01') TO ('2024-04-01')"
            )


def entry_rows() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, journal_id, account_id, currency, debit, credit, label "
            "FROM ledger_entry ORDER BY id"
        )
        return cursor.fetchall()


@pytest.mark.django_db
def test_migration_0006_keeps_every_entry_backwards_and_forwards(accounts):
    for n, day in enumerate([date.today(), date(2025, 7, 14), date(2024, 1, 2)]):
        post_one(draft(accounts, f"kept-{n}", day, amount=f"{n + 1}.00"), posted_by=BY_TESTS)
    with connection.cursor() as cursor:
        # Run the commit checks now: none may be left pending under ALTER TABLE.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    rows = entry_rows()
    dated = set(Entry.objects.values_list("id", "date"))
    assert len(rows) == 6

    MigrationExecutor(connection).migrate([("ledger", "0005_invoice_event_key")])
    assert not is_partitioned(ENTRIES)
    assert entry_rows() == rows

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes("ledger"))  # 0006 and what follows it
    assert is_partitioned(ENTRIES)
    assert entry_rows() == rows
    assert set(Entry.objects.values_list("id", "date")) == dated
    # From the oldest entry's month on, each month has its partition.
    assert monthly_partitions(ENTRIES)[0].start == date(2024, 1, 1)
    # The journal check is the current one again: it refuses a misdated entry.
    journal = post_one(draft(accounts, "after", date.today()), posted_by=BY_TESTS)
    with pytest.raises(DatabaseError, match="is dated"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_entry (journal_id, date, account_id, currency, debit, "
                "credit, label) VALUES (%s, '2024-01-02', %s, 'EUR', 1, 0, 'sale')",
                [journal.pk, accounts["1100"]],
            )
            cursor.execute("SET CONSTRAINTS ledger_entry_balanced IMMEDIATE")


INSERT = (
    "INSERT INTO scratch (parent_id, day, amount) VALUES ({parent}, now(), {amount}) RETURNING id"
)


@pytest.mark.django_db
def test_partitioning_a_table_with_rows_keeps_them_and_unpartitioning_undoes_it():
    """The migration helper (ledger 0006) on a populated table: every row, the
    checks, indexes, foreign keys and triggers stay; the reverse makes it plain."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE scratch_parent (id bigint PRIMARY KEY);"
            "INSERT INTO scratch_parent VALUES (1);"
            "CREATE TABLE scratch (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
            "parent_id bigint NOT NULL REFERENCES scratch_parent (id), day date NOT NULL, "
            "amount numeric NOT NULL CONSTRAINT scratch_positive CHECK (amount > 0));"
            "CREATE INDEX scratch_parent_idx ON scratch (parent_id, day);"
            "CREATE FUNCTION scratch_refuse() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'scratch: no'; END $$ LANGUAGE plpgsql;"
            "CREATE TRIGGER scratch_immutable BEFORE DELETE ON scratch "
            "FOR EACH ROW EXECUTE FUNCTION scratch_refuse();"
            "INSERT INTO scratch (parent_id, day, amount) "
            "SELECT 1, DATE '2024-01-01' + g, g + 1 FROM generate_series(0, 99) g;"
        )
    with connection.schema_editor() as editor:
        partition_by_month_of(editor, "scratch", "day", months_ahead=1)
    assert is_partitioned("scratch")
    assert partition_key("scratch") == ("day", "date")
    assert [m.start for m in monthly_partitions("scratch")][:4] == [
        date(2024, m, 1) for m in range(1, 5)
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), sum(amount), max(id) FROM scratch")
        assert cursor.fetchone() == (100, 5050, 100)
        cursor.execute("SELECT count(*) FROM scratch_y2024m02")
        assert cursor.fetchone()[0] == 29
        # Ids go on; checks, foreign keys, indexes and triggers came along.
        cursor.execute(INSERT.format(parent=1, amount=1))
        assert cursor.fetchone()[0] == 101
        for broken, match in [
            (INSERT.format(parent=1, amount=0), "scratch_positive"),
            (INSERT.format(parent=2, amount=1), "foreign key"),
            ("DELETE FROM scratch WHERE id = 1", "scratch: no"),
        ]:
            with pytest.raises(DatabaseError, match=match), transaction.atomic():
                cursor.execute(broken)
        cursor.execute(
            "SELECT indexrelid::regclass::text FROM pg_index "
            "WHERE indrelid = 'scratch'::regclass ORDER BY 1"
        )
        assert [name for (name,) in cursor.fetchall()] == ["scratch_parent_idx", "scratch_pkey"]

    with connection.schema_editor() as editor:
        unpartition(editor, "scratch")
    assert not is_partitioned("scratch")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), max(id) FROM scratch")
        assert cursor.fetchone() == (101, 101)
        cursor.execute("SELECT to_regclass('scratch_y2024m02')")
        assert cursor.fetchone()[0] is None
        cursor.execute(INSERT.format(parent=1, amount=1))
        assert cursor.fetchone()[0] == 102
        with pytest.raises(DatabaseError, match="scratch: no"), transaction.atomic():
            cursor.execute("DELETE FROM scratch WHERE id = 1")
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'scratch'::regclass ORDER BY 1"
        )
        names = [name for (name,) in cursor.fetchall()]
        assert "scratch_positive" in names and "scratch_pkey" in names
        assert any(name.startswith("scratch_parent_id") for name in names)
