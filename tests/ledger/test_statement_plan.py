"""A statement's lines are read as lookups by key (lib.planning.key_lookups).

On a ledger of 100 million entries PostgreSQL hashed every journal to join a
statement's 100,000 entries to theirs, which a server-side cursor (never a
parallel plan) paid in full: 7.8 s for the CSV. Inside key_lookups every join
of the statement's query is a nested loop by key, so the work follows the
statement, not the ledger; these tests pin that plan and that the settings end
with the block.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ledger.chart import Chart
from ledger.models import Account, JournalKind, SettlementStatement
from ledger.posting import JournalDraft, post_journals
from ledger.settlements.compute import generate_due_statements, statement_page
from ledger.settlements.exports import statement_csv
from lib.planning import SLICE_SETTINGS, key_lookups
from tests.factories import BY_TESTS
from tests.ledger.test_settlements import WEEK_1, generate, scenario, weekly_acme  # noqa: F401

pytestmark = pytest.mark.postgres
D = Decimal


def setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s)", [name])
        return cursor.fetchone()[0]


def test_the_settings_hold_inside_the_block_and_are_put_back_after(db):
    with transaction.atomic():
        before = {name: setting(name) for name in SLICE_SETTINGS}
        assert before["enable_hashjoin"] == "on"
        with key_lookups("default"):
            assert {name: setting(name) for name in SLICE_SETTINGS} == {
                **SLICE_SETTINGS,
                "work_mem": "32MB",
            }
        # Still inside the enclosing transaction: nothing else is planned so.
        assert {name: setting(name) for name in SLICE_SETTINGS} == before


def test_an_error_inside_the_block_rolls_the_settings_back(db):
    with transaction.atomic():
        with pytest.raises(ZeroDivisionError), key_lookups("default"):
            assert setting("enable_hashjoin") == "off"
            1 / 0  # noqa: B018
        assert setting("enable_hashjoin") == "on"
        assert setting("enable_mergejoin") == "on"


def plan_of(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def busy_vendor_statement(acme) -> SettlementStatement:
    """ACME's payable on 3,000 of 3,000 sale journals in March, analysed: the
    shape of a large vendor's month, where reading every journal once looks
    cheaper to PostgreSQL than 3,000 lookups by key (it is, here; at 20
    million journals it is seconds against a fraction of one)."""
    chart = Chart()
    payable = chart.payable_for(acme.pk)
    accounts = dict(Account.objects.values_list("code", "id"))
    drafts = []
    for number in range(3000):
        journal = JournalDraft(
            posting_key=f"busy-{number}",
            kind=JournalKind.SALE,
            currency="EUR",
            date=date(2026, 3, 1) + timedelta(days=number % 31),
        )
        journal.debit(accounts["1100"], D("10.00"))
        journal.credit(payable, D("9.00"))
        journal.credit(accounts["4000"], D("1.00"))
        drafts.append(journal)
    for start in range(0, len(drafts), 500):
        post_journals(drafts[start : start + 500], posted_by=BY_TESTS)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ledger_journal")
        cursor.execute("ANALYZE ledger_entry")
    return SettlementStatement(
        vendor=acme,
        account_id=payable,
        currency="EUR",
        period_start=date(2026, 3, 1),
        period_end=date(2026, 3, 31),
        cutoff=timezone.now(),
        generated_at=timezone.now(),
        opening=D("0"),
        closing=D("27000.00"),
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_csv_joins_each_line_to_its_journal_by_key(acme):
    statement = busy_vendor_statement(acme)
    with CaptureQueriesContext(connection) as queries:
        rows = list(csv.reader(io.StringIO("".join(statement_csv(statement)))))
    assert len(rows) == 3003 and rows[-1][-2] == "27000.00"  # header, opening, closing
    sqls = [q["sql"] for q in queries]
    (declare,) = [i for i, sql in enumerate(sqls) if "DECLARE" in sql]
    # The rows are read inside key_lookups: set before the cursor, put back after.
    assert any("set_config" in sql for sql in sqls[:declare])
    assert any("set_config" in sql for sql in sqls[declare + 1 :])
    lines = sqls[declare][sqls[declare].index("SELECT") :]
    with transaction.atomic():
        # As PostgreSQL plans a cursor: never in parallel.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        unhinted = plan_of(lines)
        with key_lookups("default"):
            planned = plan_of(lines)
    # (Journals may be partitioned: ledger_journal, or ledger_journal_yYYYYmMM.)
    assert "Seq Scan on ledger_journal" in unhinted, unhinted
    assert "Hash" not in planned and "Merge Join" not in planned, planned
    assert re.search(r"Index Scan using ledger_journal\w*_pkey on ledger_journal", planned), planned


def test_the_statement_page_reads_in_the_block(scenario):  # noqa: F811
    generate(date(2026, 3, 23))
    week_1 = SettlementStatement.objects.get(period_start=WEEK_1.start)
    with CaptureQueriesContext(connection) as queries:
        lines = statement_page(week_1, 0, 10)
    assert [balance for _, balance in lines] == [D("36.00"), D("18.00"), D("0.00")]
    sqls = [q["sql"] for q in queries]
    # (The first after ledger_entry's lock: ledger.detached.attached_months_held.)
    read = next(
        i for i, sql in enumerate(sqls) if "ledger_entry" in sql and not sql.startswith("LOCK")
    )
    assert any("set_config" in sql for sql in sqls[:read])
    assert any("set_config" in sql for sql in sqls[read + 1 :])


def test_generation_reads_the_entries_in_the_block(scenario):  # noqa: F811
    with CaptureQueriesContext(connection) as queries:
        made = generate(date(2026, 3, 23))
    assert made
    sqls = [q["sql"] for q in queries]
    reads = [
        i for i, sql in enumerate(sqls) if "ledger_entry" in sql and not sql.startswith("LOCK")
    ]
    settings = [i for i, sql in enumerate(sqls) if "set_config" in sql]
    # Every read of the entries is between the settings and their putting back.
    assert len(reads) >= 2 and settings, sqls
    assert settings[0] < reads[0] and reads[-1] < settings[-1], sqls


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_generation_adds_up_a_busy_month_by_key(acme):
    busy_vendor_statement(acme)
    acme.payout_frequency = "monthly"
    acme.save()
    with CaptureQueriesContext(connection) as queries:
        (made,) = generate_due_statements(date(2026, 4, 1), cutoff=timezone.now()).statements
    assert made.entry_count == 3000 and made.closing == D("27000.00")
    sqls = [q["sql"] for q in queries]
    at = [i for i, sql in enumerate(sqls) if "ledger_entry" in sql and not sql.startswith("LOCK")]
    reads = [sqls[i] for i in at]
    assert len(reads) == 3, reads  # its first day, the totals before it, the month by day
    # Read inside key_lookups (set before, put back after).
    settings = [i for i, sql in enumerate(sqls) if "set_config" in sql]
    assert settings and settings[0] < at[0] and at[-1] < settings[-1], sqls
    for sql in reads:
        with transaction.atomic():
            unhinted = plan_of(sql)
            with key_lookups("default"):
                planned = plan_of(sql)
        # Each entry's journal is looked up by its key, not the journals hashed.
        assert "Hash Join" in unhinted, unhinted
        assert "Hash Join" not in planned and "Merge Join" not in planned, planned
        assert re.search(r"Index Scan using ledger_journal\w*_pkey", planned), planned
