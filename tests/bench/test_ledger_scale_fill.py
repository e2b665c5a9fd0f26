"""bench.ledger_scale's fill, without a database: the COPY text it makes is
balanced journals of five entries, dated over the days, one vendor holding the
statement month (the benchmark itself is run by hand, docs/benchmarks.md)."""

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal

import pytest

from bench.ledger_scale.cli import parse_args
from bench.ledger_scale.fill import Layout, copy_text, date_range, journal_legs

VENDORS = 10


def layout(days: int = 62, quota: int = 3) -> Layout:
    first, last = date_range(days, date(2026, 12, 6))
    return Layout(
        first_day=first,
        days=(last - first).days + 1,
        payables=tuple(range(100, 100 + VENDORS)),
        receivables=tuple(range(200, 200 + VENDORS)),
        clearings=(1, 2),
        commission=3,
        tax=4,
        bank=5,
        statement_month=last.replace(day=1),
        quota=quota,
    )


def rows(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.splitlines()]


def test_the_days_end_with_last_month():
    assert date_range(62, date(2026, 12, 6)) == (date(2026, 9, 30), date(2026, 11, 30))
    assert layout().statement_month == date(2026, 11, 1)
    assert layout().statement_days == range(32, 62)


@pytest.mark.parametrize("dated", [False, True])
def test_each_journal_has_five_balanced_entries_dated_as_it_is(dated):
    plan = layout()
    journals, entries, keys = copy_text(plan, 0, 1000, entry_dated=dated)
    journal_rows = rows(journals.getvalue())
    entry_rows = rows(entries.getvalue())
    # Each journal's posting key, its id and date (ledger_journalkey).
    assert rows(keys.getvalue()) == [[r[1], r[0], r[4]] for r in journal_rows]

    assert [int(r[0]) for r in journal_rows] == list(range(1, 1001))
    assert [int(r[0]) for r in entry_rows] == list(range(1, 5001))
    assert all(len(r) == (8 if dated else 7) for r in entry_rows)
    day_of = {r[0]: r[4] for r in journal_rows}
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for r in entry_rows:
        debit, credit = Decimal(r[4]), Decimal(r[5])
        assert (debit > 0) != (credit > 0)
        sums[r[1]][0] += debit
        sums[r[1]][1] += credit
        assert r[6] in ("sale", "refund", "payout")
        if dated:
            assert r[7] == day_of[r[1]]
    assert len(sums) == 1000
    assert all(debit == credit for debit, credit in sums.values())
    assert Counter(r[2] for r in journal_rows) == {"sale": 900, "refund": 50, "payout": 50}
    days = {date.fromisoformat(r[4]) for r in journal_rows}
    assert min(days) == plan.first_day
    assert max(days) == plan.last_day


def test_the_statement_vendor_is_in_the_first_journals_of_each_day_of_its_month():
    plan = layout(quota=3)
    statement_day = plan.statement_days[0]
    for layer in range(5):
        n = layer * plan.days + statement_day
        payables = {account for account, _, _ in journal_legs(n, plan)[1]} & set(plan.payables)
        if layer < 3:
            assert plan.payables[0] in payables
        assert len(payables) == 2
    # Outside the month, the vendors take turns.
    outside = [n for n in range(1000) if n % plan.days not in plan.statement_days]
    assert {journal_legs(n, plan)[1][1][0] for n in outside} == set(plan.payables)


def test_the_command_line_refuses_a_database_without_bench_in_its_name():
    with pytest.raises(SystemExit):
        parse_args(["--database-url", "postgres://postgres@127.0.0.1:5432/splitledger"])
    args = parse_args(["--database-url", "postgres://postgres@127.0.0.1/x_bench", "--entries", "5"])
    assert (args.entries, args.vendors, args.days) == (5, 2000, 730)
