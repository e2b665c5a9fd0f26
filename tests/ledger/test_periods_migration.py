"""Books posted before periods existed: migrating gives their journals who
posted them, their entries labels, and their months periods (open)."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from ledger.models import AccountingPeriod, Entry, Journal, PeriodStatus

BEFORE = [("ledger", "0014_history_of_configuration")]


def migrate(targets=None) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())


def old_journal(cursor, key: str, kind: str, day: str) -> None:
    """A balanced journal as the code before the migration wrote it."""
    cursor.execute(
        "INSERT INTO ledger_journal (posting_key, kind, currency, date, memo, entry_count, "
        "created_at) VALUES (%s, %s, 'EUR', %s, '', 2, now()) RETURNING id",
        [key, kind, day],
    )
    journal = cursor.fetchone()[0]
    for code, debit, credit in (("1100", "5.00", "0"), ("1000", "0", "5.00")):
        cursor.execute(
            "INSERT INTO ledger_entry (journal_id, account_id, currency, debit, credit) "
            "SELECT %s, id, 'EUR', %s, %s FROM ledger_account WHERE code = %s",
            [journal, debit, credit, code],
        )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_journals_posted_before_get_who_posted_labels_and_periods():
    migrate(BEFORE)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            old_journal(cursor, "sale:old", "sale", "2026-10-05")
            old_journal(cursor, "payout:old", "payout", "2026-11-02")
    finally:
        migrate()

    assert dict(Journal.objects.values_list("posting_key", "posted_by_process")) == {
        "sale:old": "outbox:ledger",
        "payout:old": "unrecorded",
    }
    assert sorted(Entry.objects.values_list("journal__posting_key", "label")) == [
        ("payout:old", "payout"),
        ("payout:old", "payout"),
        ("sale:old", "sale"),
        ("sale:old", "sale"),
    ]
    assert sorted(AccountingPeriod.objects.values_list("month", "status")) == [
        (date(2026, 10, 1), PeriodStatus.OPEN),
        (date(2026, 11, 1), PeriodStatus.OPEN),
    ]
    # Journals and entries are immutable again.
    with pytest.raises(Exception, match="not allowed"), transaction.atomic():
        Journal.objects.filter(posting_key="sale:old").update(memo="edited")
