"""What the allocation trigger checks instead of foreign keys (cash/triggers.py):
an allocation's line, item and run exist, runs are never deleted, and a bulk
statement (a run's, one allocation per line and item) takes its own path
through the counters with the same guarantees."""

import pytest
from django.db import IntegrityError, InternalError, connection, transaction

from cash.models import Allocation, BankStatementLine, OpenItem, ReconciliationRun
from cash.triggers import BULK_ALLOCATIONS

from .conftest import make_item, make_line, make_statement

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_an_allocation_must_name_a_run_that_exists(account, bank_ledger_account):
    line = make_line(make_statement(account), "-1.00", "k1")
    item = make_item(bank_ledger_account, "-1.00", 1)
    run = ReconciliationRun.objects.create()
    with pytest.raises(IntegrityError, match="run"), transaction.atomic():
        Allocation.objects.create(
            line=line, item=item, amount_minor=100, method="reference", run_id=run.pk + 1000
        )
    Allocation.objects.create(line=line, item=item, amount_minor=100, method="reference", run=run)
    line.refresh_from_db()
    assert line.status == "matched"


def test_a_run_is_never_deleted(db):
    run = ReconciliationRun.objects.create()
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
        ReconciliationRun.objects.filter(pk=run.pk).delete()
    assert ReconciliationRun.objects.filter(pk=run.pk).exists()


def _bulk_lines_and_items(account, bank_ledger_account, count):
    """`count` lines of -1.00 (ids in order) and as many items, by SQL."""
    statement = make_statement(account)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO cash_bankstatementline (account_id, statement_id, booking_date, amount, "
            "currency, amount_minor, counterparty, counterparty_account, remittance, "
            "bank_reference, entry_reference, end_to_end_id, transaction_code, natural_key, "
            "key_source, key_conflict, reference_keys, status, allocated_minor) "
            "SELECT %s, %s, '2026-11-02', -1.00, 'EUR', -100, '', '', '', '', '', '', '', "
            "'k' || g, 'hash', false, '', 'unmatched', 0 FROM generate_series(1, %s) g",
            [account.pk, statement.pk, count],
        )
        cursor.execute(
            "INSERT INTO cash_openitem (kind, source_id, ledger_account_id, currency, amount, "
            "amount_minor, remaining_minor, item_date, reference, counterparty, reference_keys, "
            "created_at) "
            "SELECT 'vendor_payout', g, %s, 'EUR', -1.00, -100, 100, '2026-11-01', '', '', '', "
            "now() FROM generate_series(1, %s) g",
            [bank_ledger_account.pk, count],
        )
    lines = list(BankStatementLine.objects.order_by("id").values_list("id", flat=True))
    items = list(OpenItem.objects.order_by("id").values_list("id", flat=True))
    return lines, items


def _allocate_all(lines, items, amount_minor, run):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO cash_allocation (line_id, item_id, amount_minor, method, run_id, "
            "created_at) SELECT l, i, %s, 'reference', %s, now() "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS t(l, i)",
            [amount_minor, run.pk, lines, items],
        )


def test_a_bulk_statement_moves_every_counter_and_is_checked_like_any(account, bank_ledger_account):
    lines, items = _bulk_lines_and_items(account, bank_ledger_account, BULK_ALLOCATIONS)
    run = ReconciliationRun.objects.create()
    # A line or an item that does not exist, or more than an item holds: refused whole.
    refusals = (
        ([*lines[:-1], lines[-1] + 1000], items, 100),
        (lines, [*items[:-1], items[-1] + 1000], 100),
        (lines, items, 101),
    )
    for bad_lines, bad_items, amount in refusals:
        with pytest.raises(IntegrityError), transaction.atomic():
            _allocate_all(bad_lines, bad_items, amount, run)
    assert not BankStatementLine.objects.exclude(status="unmatched").exists()
    assert not Allocation.objects.exists()
    _allocate_all(lines, items, 100, run)
    assert set(BankStatementLine.objects.values_list("status", "allocated_minor")) == {
        ("matched", 100)
    }
    assert set(OpenItem.objects.values_list("remaining_minor", flat=True)) == {0}
    # The same pairs again, or a line allocated twice: refused.
    with pytest.raises(IntegrityError), transaction.atomic():
        _allocate_all(lines, items, 100, run)


def test_a_bulk_statement_naming_a_line_twice_adds_both_to_it(account, bank_ledger_account):
    # The bulk path updates one row per allocation; with a line named twice it
    # updates fewer, is undone, and the general path sums the line's two halves.
    lines, items = _bulk_lines_and_items(account, bank_ledger_account, BULK_ALLOCATIONS)
    run = ReconciliationRun.objects.create()
    pairs = [(lines[0], items[0], 50), (lines[0], items[1], 50)]
    pairs += [(line, item, 100) for line, item in zip(lines[2:], items[2:], strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO cash_allocation (line_id, item_id, amount_minor, method, run_id, "
            "created_at) SELECT l, i, a, 'reference', %s, now() "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS t(l, i, a)",
            [run.pk, *map(list, zip(*pairs, strict=True))],
        )
    counters = dict(BankStatementLine.objects.values_list("id", "allocated_minor"))
    assert counters[lines[0]] == 100 and counters[lines[1]] == 0
    assert BankStatementLine.objects.get(pk=lines[0]).status == "matched"
    assert sum(counters.values()) == 100 * (len(lines) - 1)
    remaining = dict(OpenItem.objects.values_list("id", "remaining_minor"))
    assert remaining[items[0]] == remaining[items[1]] == 50
    assert sum(remaining.values()) == 100
