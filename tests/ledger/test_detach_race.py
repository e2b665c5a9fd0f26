"""No month is detached between a read asking where the attached entries start
and its read of them (ledger.detached.attached_months_held).

Under READ COMMITTED each statement sees what committed before it: without
the block a report could ask first_attached_day() (nothing detached), a detach
could commit, and the report's sum of the entries would then miss the month.
Inside the block ledger_entry is locked in ACCESS SHARE mode, which only a
detach's ACCESS EXCLUSIVE lock conflicts with: a detach waits for the reader
(and gives up after its lock_timeout, "busy"), and a reader waits for a detach
under way, then sees the month detached.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.db import connection

from ledger import detached
from ledger.detached import attached_months_held, first_attached_day
from ledger.exports import journal_rows
from ledger.invariants import runner
from ledger.models import Entry, SettlementStatement
from ledger.reports.aging import customer_aging
from ledger.settlements.compute import statement_lines, statement_page
from ledger.settlements.exports import statement_csv
from refunds import partitions
from refunds.partitions import detach
from tests.ledger.test_detach_entries import (  # noqa: F401 (months_2024: a fixture)
    ENTRIES,
    FEB,
    JAN,
    JAN_END,
    close,
    generate,
    moment,
    months_2024,
    sell,
)

pytestmark = [pytest.mark.postgres]

WAIT = 30  # seconds: at most, for another thread (a failing test, not a slow one)


@pytest.fixture
def january_detachable(months_2024, acme, alice):  # noqa: F811
    """ACME (monthly) sold in January, has its January statement, and January
    is closed: January may be detached (February may not: it is open)."""
    acme.payout_frequency = "monthly"
    acme.save()
    sell(acme, date(2024, 1, 9), mugs=2)
    sell(acme, date(2024, 1, 20))
    generate(FEB)
    close(JAN, alice, date(2024, 2, 6))
    sell(acme, date(2024, 2, 9))
    return acme


def in_thread(target: Callable[[], Any]) -> threading.Thread:
    """`target` on a connection of its own, closed after."""

    def run() -> None:
        try:
            target()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def waiting_for(table: str) -> bool:
    """Whether some session waits for a lock on `table`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted "
            "AND relation = to_regclass(%s))",
            [table],
        )
        return bool(cursor.fetchone()[0])


def until(predicate: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


def entries_locked_here() -> bool:
    """Whether this session holds ledger_entry's ACCESS SHARE lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = pg_backend_pid() AND granted "
            "AND mode = 'AccessShareLock' AND relation = to_regclass(%s))",
            [ENTRIES],
        )
        return bool(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_detach_waits_for_a_reader_inside_the_block(january_detachable, monkeypatch):
    monkeypatch.setattr("refunds.partitions.TABLE_LOCK_TIMEOUT", "500ms")
    january_entries = Entry.objects.filter(date__lt=FEB).count()
    assert january_entries
    asked, go_on = threading.Event(), threading.Event()
    seen: dict[str, Any] = {}

    def reader() -> None:
        with attached_months_held("default"):
            seen["first"] = first_attached_day()
            asked.set()
            go_on.wait(WAIT)
            seen["january entries"] = Entry.objects.filter(date__lt=FEB).count()

    thread = in_thread(reader)
    try:
        assert asked.wait(WAIT)
        verdicts = {v.month.start: v for v in detach(1, tables=[ENTRIES])}
    finally:
        go_on.set()
        thread.join(WAIT)
    # The reader held the detach off: its entries are those it was told of.
    assert "not locked in time (busy)" in verdicts[JAN].reason, verdicts[JAN].reason
    assert seen == {"first": None, "january entries": january_entries}
    assert first_attached_day() is None
    # Once the reader is done the month goes.
    verdicts = {v.month.start: v for v in detach(1, tables=[ENTRIES])}
    assert verdicts[JAN].reason == ""
    assert first_attached_day() == FEB


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_reader_waits_for_a_detach_under_way_and_sees_it(january_detachable, monkeypatch):
    locked, go_on = threading.Event(), threading.Event()
    hook = partitions.detach_hook

    def hold(month: Any, cursor: Any) -> None:
        # Right after the DETACH, in its transaction: ledger_entry is locked.
        locked.set()
        go_on.wait(WAIT)

    def hooks(when: str, table: str) -> Any:
        return hold if (when, table) == ("after", ENTRIES) else hook(when, table)

    monkeypatch.setattr("refunds.partitions.detach_hook", hooks)
    verdicts: dict[date, Any] = {}
    seen: dict[str, Any] = {}

    def detaching() -> None:
        verdicts.update({v.month.start: v for v in detach(1, tables=[ENTRIES])})

    def reader() -> None:
        with attached_months_held("default"):
            seen["first"] = first_attached_day()
            seen["january entries"] = Entry.objects.filter(date__lt=FEB).count()

    detacher = in_thread(detaching)
    readers = []
    try:
        assert locked.wait(WAIT)
        readers.append(in_thread(reader))
        waited = until(lambda: waiting_for(ENTRIES))
        answered_early = dict(seen)
    finally:
        go_on.set()
        detacher.join(WAIT)
        for thread in readers:
            thread.join(WAIT)
    assert waited and answered_early == {}, answered_early
    assert verdicts[JAN].reason == ""
    assert seen == {"first": FEB, "january entries": 0}


def spying(function: Callable[..., Any], held: list[bool]) -> Callable[..., Any]:
    """`function`, noting each time it is called whether ledger_entry is locked."""

    def spy(*args: Any, **kwargs: Any) -> Any:
        held.append(entries_locked_here())
        return function(*args, **kwargs)

    return spy


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_every_reader_asks_where_the_attached_entries_start_inside_the_block(
    january_detachable, monkeypatch
):
    held: dict[str, list[bool]] = {}

    def spy(name: str, target: str, function: Callable[..., Any]) -> None:
        held[name] = []
        monkeypatch.setattr(target, spying(function, held[name]))

    spy("aging", "ledger.reports.aging.first_attached_day", first_attached_day)
    spy("generation", "ledger.settlements.compute.first_attached_day", first_attached_day)
    spy(
        "statement lines",
        "ledger.settlements.compute.statement_archived",
        detached.statement_archived,
    )
    spy("journal export", "ledger.exports.require_attached", detached.require_attached)
    # check_ledger reads where they start in each check's SQL ({first_attached}).
    held["check_ledger"] = []
    check = runner.CHECKS[0]
    monkeypatch.setattr(
        "ledger.invariants.runner.CHECKS",
        (runner.Check(check.name, check.description, spying(check.run, held["check_ledger"])),),
    )

    assert customer_aging(at=JAN_END, convert=False).rows
    assert generate(date(2024, 3, 1))
    statement = SettlementStatement.objects.get(period_start=JAN)
    assert statement_page(statement, 0, 10)
    assert list(statement_lines(statement))
    assert "".join(statement_csv(statement))
    assert len(list(journal_rows(FEB, date(2024, 2, 29)))) > 1
    assert runner.check_invariants() == []

    assert held["statement lines"] == [True, True, True]
    assert all(held.values()) and all(all(calls) for calls in held.values()), held


def other_session() -> Any:
    """A raw connection of its own (autocommit off), as another client."""
    import psycopg2

    return psycopg2.connect(**connection.get_connection_params())


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_posting_under_way_neither_waits_for_nor_holds_up_an_entries_detach(
    journal_months_2024, january_detachable
):
    """A posting locks its journal, then its entries. An entries DETACH locks
    no journals (its month's key points into its own journals month, which
    the DETACH leaves as it is: ledger.month_keys), so it goes while a
    posting holds its journal, and the posting then writes its entries."""
    poster = other_session()
    verdicts: dict[date, Any] = {}
    try:
        with poster.cursor() as cursor:
            # A posting under way: its journal inserted, its entries not yet.
            cursor.execute("LOCK TABLE ONLY ledger_journal IN ROW EXCLUSIVE MODE")
            thread = in_thread(
                lambda: verdicts.update({v.month.start: v for v in detach(1, tables=[ENTRIES])})
            )
            thread.join(WAIT)
            assert verdicts[JAN].reason == ""
            cursor.execute("SET lock_timeout = '3s'")
            cursor.execute("LOCK TABLE ONLY ledger_entry IN ROW EXCLUSIVE MODE")
        poster.commit()
    finally:
        poster.close()


@pytest.fixture
def journal_months_2024():
    """ledger_journal's months January to May 2024 (before anything is
    posted), dropped after the test, after the entries' months."""
    from refunds.partitions import create_ahead

    create_ahead(4, today=JAN, tables=["ledger_journal"])
    yield
    attached = {m.name for m in partitions.monthly_partitions("ledger_journal")}
    with connection.cursor() as cursor:
        for month in range(1, 6):
            name = f"ledger_journal_y2024m{month:02d}"
            if name in attached:  # the keys into the journals forbid a plain DROP
                cursor.execute(f"ALTER TABLE ledger_journal DETACH PARTITION {name}")
            cursor.execute(f"DROP TABLE IF EXISTS {name}")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_reader_and_a_journals_detach_do_not_deadlock(
    journal_months_2024, january_detachable, monkeypatch
):
    """A journals DETACH locks ledger_journal, then ledger_entry_default (to
    check that none of its rows points into the month); a reader in
    attached_months_held locks the journals, then the entries too, so one
    waits for the other."""
    from ledger import detached_journals
    from ledger.models import Journal

    assert {v.month.start: v.reason for v in detach(1, tables=[ENTRIES])}[JAN] == ""
    # check_ledger agreeing was tested elsewhere: here only the locks matter.
    monkeypatch.setattr(detached_journals, "_verify", lambda: "")
    monkeypatch.setattr("refunds.partitions.TABLE_LOCK_TIMEOUT", "10s")
    holding, go_on = threading.Event(), threading.Event()
    seen: dict[str, Any] = {}
    verdicts: dict[date, Any] = {}

    def reader() -> None:
        with attached_months_held("default"):
            holding.set()
            go_on.wait(WAIT)
            # Entries, then journals, while the detach waits for its locks.
            seen["entries"] = Entry.objects.count()
            seen["journals"] = Journal.objects.count()

    thread = in_thread(reader)
    try:
        assert holding.wait(WAIT)
        detacher = in_thread(
            lambda: verdicts.update(
                {v.month.start: v for v in detach(1, tables=["ledger_journal"])}
            )
        )
        assert until(lambda: waiting_for("ledger_journal") or waiting_for(ENTRIES))
    finally:
        go_on.set()
        thread.join(WAIT)
    detacher.join(WAIT)
    # Neither was made a deadlock's victim: the reader read, then the month went.
    assert seen["entries"] > 0 and seen["journals"] > 0, seen
    assert verdicts[JAN].reason == "", verdicts[JAN].reason
    assert JAN not in {m.start for m in partitions.monthly_partitions("ledger_journal")}


FAR = date(2035, 1, 1)


@pytest.fixture
def far_months():
    """Entries and journals months of FAR, made by the test, dropped after it
    (entries first: their key points into the journals month)."""
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS ledger_entry_y2035m01")
        if "ledger_journal_y2035m01" in {
            m.name for m in partitions.monthly_partitions("ledger_journal")
        }:  # the keys into the journals forbid a plain DROP
            cursor.execute("ALTER TABLE ledger_journal DETACH PARTITION ledger_journal_y2035m01")
        cursor.execute("DROP TABLE IF EXISTS ledger_journal_y2035m01")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_posting_under_way_and_an_entries_month_being_made_do_not_deadlock(far_months):
    """A posting locks its journal (its month), then the entries. Making an
    entries month locks its key's journals month before CREATE ... PARTITION
    OF locks ledger_entry (ledger.month_keys.before_entries_month_created):
    it waits for the posting, which is not behind it."""
    from refunds.partitions import create_ahead

    create_ahead(0, today=FAR, tables=["ledger_journal"])
    poster = other_session()
    made: list[str] = []
    try:
        with poster.cursor() as cursor:
            # A posting under way: its journal of FAR inserted, its entries not yet.
            cursor.execute("LOCK TABLE ledger_journal_y2035m01 IN ROW EXCLUSIVE MODE")
            thread = in_thread(lambda: made.extend(create_ahead(0, today=FAR, tables=[ENTRIES])))
            assert until(lambda: waiting_for("ledger_journal_y2035m01")), "it never waited"
            cursor.execute("SET lock_timeout = '3s'")
            cursor.execute("LOCK TABLE ONLY ledger_entry IN ROW EXCLUSIVE MODE")
        poster.commit()
    finally:
        poster.close()
    thread.join(WAIT)
    assert made == ["ledger_entry_y2035m01"]
