"""bench.ledger_scale on a tiny ledger in the test database: the fill writes
books the checker accepts (its triggers enabled again), and every read it
times agrees with its baseline and with the entries (it raises otherwise).
Correctness only: the benchmark itself measures time (docs/benchmarks.md)."""

from datetime import date

import pytest
from django.conf import settings
from django.db import connection

from bench.ledger_scale.cli import parse_args
from bench.ledger_scale.fill import date_range, fill, make_layout
from bench.ledger_scale.measure import run_balance_reads, run_trial_balances, statement_of
from bench.statements import time_csv
from ledger import invariants, month_keys
from ledger.models import AccountDay, Entry

pytestmark = pytest.mark.postgres


def database_url_of_tests() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_tiny_fill_is_sound_and_every_timed_read_agrees():
    args = parse_args(
        [
            *("--database-url", "postgres://postgres@127.0.0.1:5432/x_bench"),
            *("--entries", "6000", "--vendors", "20", "--days", "62"),
            *("--statement-entries", "300", "--chunk-journals", "500"),
            *("--rounds", "1", "--reads", "5"),
        ]
    )
    url = database_url_of_tests()
    layout = make_layout(args, *date_range(args.days, date(2026, 12, 6)))

    took = fill(args, url, layout)

    assert took["total"] > 0
    assert Entry.objects.count() == 6000
    # Each month filled has its entries keyed into its own journals month,
    # as refunds.partitions keys the months it makes (ledger.month_keys).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
            "WHERE contype = 'f' AND conname = ANY(%s)",
            [[month_keys.key_name(month) for month in layout.months()]],
        )
        keys = dict(cursor.fetchall())
    assert keys == {
        month_keys.month_name("ledger_entry", m): month_keys.month_name("ledger_journal", m)
        for m in layout.months()
    }
    assert AccountDay.objects.exists()
    for check in (
        invariants.journals_balance,
        invariants.balances_match_entries,
        invariants.days_match_entries,
        invariants.days_add_up_to_balances,
        invariants.trial_balance_nets_to_zero,
    ):
        assert check() == [], check.__name__
    assert len(run_balance_reads(args, url, layout)) == 3
    trials = run_trial_balances(args, url, layout)
    # Each past date was also summed from the entries, and agreed.
    assert [(t.label, t.side) for t in trials] == [
        ("today", "balances"),
        ("recent month end", "balances less the days after"),
        ("middle month end", "balances less the days after"),
    ]
    assert all(t.entries_sum_s is not None for t in trials[1:])
    statement, user = statement_of(layout)
    assert statement.entry_count >= 300
    view, copy = time_csv(url, statement, user, 1)
    assert view.size > 0 and copy.size > 0
