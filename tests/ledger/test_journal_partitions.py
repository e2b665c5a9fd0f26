"""ledger_journal partitioned by month of its posting date (PostgreSQL,
migration 0008): the primary key (id, date), a posting key once across every
month (ledger_journalkey, written by a trigger with each journal), composite
keys into the journals, every journal trigger still refusing on the
partitioned table, reads by date pruned, and an old month detached only
after its entries (ledger.partitions.journals_kept)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from importlib import import_module

import pytest
from django.apps import apps
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from ledger import month_keys
from ledger.closing import close_period
from ledger.detached import EntriesDetachedError
from ledger.detached_journals import archived_journal_date
from ledger.invariants import check_invariants
from ledger.models import (
    Account,
    DetachedJournalMonth,
    DetachedMonth,
    Entry,
    Journal,
    JournalKey,
    JournalKind,
)
from ledger.partitions import _journal_references, journals_kept
from ledger.posting import JournalDraft, post_journals, post_one, reverse_journal
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
from tests.api.conftest import client_for
from tests.factories import BY_TESTS, StaffFactory
from tests.threads import hold_then_race

pytestmark = [pytest.mark.postgres]

D = Decimal
JOURNALS = "ledger_journal"
OLD = date(2024, 3, 1)
JOURNAL = (
    "INSERT INTO ledger_journal (posting_key, kind, currency, date, memo, entry_count,"
    " created_at, posted_by_process) VALUES (%s, 'sale', 'EUR', %s, '', 2, now(), 'script')"
    " RETURNING id"
)
ENTRY = (
    "INSERT INTO ledger_entry (journal_id, date, account_id, currency, debit, credit, label)"
    " VALUES (%s, %s, %s, 'EUR', %s, %s, 'sale')"
)


@pytest.fixture
def accounts(db):
    return dict(Account.objects.values_list("code", "id"))


def draft(
    accounts, key: str, on: date, amount: str = "10.00", kind: str = JournalKind.SALE
) -> JournalDraft:
    journal = JournalDraft(posting_key=key, kind=kind, currency="EUR", date=on)
    journal.debit(accounts["1100"], D(amount))
    journal.credit(accounts["4000"], D(amount))
    return journal


def raw_journal(cursor, accounts, key: str, on: date) -> int:
    cursor.execute(JOURNAL, [key, on])
    journal_id = cursor.fetchone()[0]
    cursor.execute(ENTRY, [journal_id, on, accounts["1100"], "10.00", "0"])
    cursor.execute(ENTRY, [journal_id, on, accounts["4000"], "0", "10.00"])
    return journal_id


def commit_checks() -> None:
    """Run the deferred checks now (none may be pending under ALTER TABLE)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def table_of(journal_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM ledger_journal WHERE id = %s", [journal_id]
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_the_journals_are_partitioned_by_month_of_their_date(accounts):
    assert JOURNALS in partitioned_tables()
    assert partitioned_tables().index(JOURNALS) > partitioned_tables().index("ledger_entry")
    assert is_partitioned(JOURNALS)
    assert partition_key(JOURNALS) == ("date", "date")
    assert {add_months(month_of(), n) for n in range(4)} <= {
        m.start for m in monthly_partitions(JOURNALS)
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
            "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = 'ledger_journal'::regclass AND i.indisprimary ORDER BY a.attnum"
        )
        assert [name for (name,) in cursor.fetchall()] == ["id", "date"]
    journal = post_one(draft(accounts, "now", date.today()), posted_by=BY_TESTS)
    assert table_of(journal.pk) == Month(JOURNALS, month_of(date.today())).name
    key = JournalKey.objects.get(posting_key="now")
    assert (key.journal_id, key.date) == (journal.pk, journal.date)


@pytest.mark.django_db
def test_a_key_is_posted_once_across_months(accounts):
    first = post_one(draft(accounts, "once", date.today()), posted_by=BY_TESTS)
    assert first is not None
    # The same key again, in the same month or another one: skipped, no error.
    assert post_one(draft(accounts, "once", date.today()), posted_by=BY_TESTS) is None
    later = draft(accounts, "once", add_months(month_of(), 1))
    assert (
        post_journals([later, draft(accounts, "other", date.today())], posted_by=BY_TESTS)[
            0
        ].posting_key
        == "other"
    )
    assert Journal.objects.filter(posting_key="once").count() == 1
    assert Entry.objects.filter(journal=first).count() == 2
    assert JournalKey.objects.filter(posting_key__in=["once", "other"]).count() == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_postings_of_one_key_at_once_post_it_once_whatever_their_months(accounts):
    """The second waits on the first's key (ledger_journalkey), then skips its
    journal without an error, as ON CONFLICT on the journals' unique key did."""
    results = hold_then_race(
        lambda: post_one(draft(accounts, "race", date.today()), posted_by=BY_TESTS),
        lambda: post_one(draft(accounts, "race", add_months(month_of(), 1)), posted_by=BY_TESTS),
    )
    assert results["blocked"], f"the second posting did not wait for the first: {results}"
    assert isinstance(results["first"], Journal)
    assert results["second"] is None
    assert Journal.objects.filter(posting_key="race").count() == 1
    assert Entry.objects.filter(journal__posting_key="race").count() == 2


@pytest.mark.django_db
def test_a_raw_journal_gets_its_key_and_a_taken_key_is_refused_in_any_month(accounts):
    with connection.cursor() as cursor:
        journal_id = raw_journal(cursor, accounts, "raw", date.today())
    assert JournalKey.objects.filter(posting_key="raw", journal_id=journal_id).exists()
    for on in (date.today(), add_months(month_of(), 2)):
        with pytest.raises(IntegrityError, match="ledger_journalkey_pkey"), transaction.atomic():
            with connection.cursor() as cursor:
                raw_journal(cursor, accounts, "raw", on)
    assert Journal.objects.filter(posting_key="raw").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_journalkey SET journal_id = journal_id + 1 WHERE posting_key = 'kept'",
        "DELETE FROM ledger_journalkey WHERE posting_key = 'kept'",
        "UPDATE ledger_journal SET memo = 'edited' WHERE posting_key = 'kept'",
        "DELETE FROM ledger_journal WHERE posting_key = 'kept'",
    ],
)
def test_journals_and_their_keys_are_never_updated_or_deleted(accounts, statement):
    post_one(draft(accounts, "kept", date.today()), posted_by=BY_TESTS)
    with pytest.raises(IntegrityError, match="not allowed"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement)


@pytest.mark.django_db
def test_the_commit_checks_still_refuse_on_the_partitioned_journals(accounts, alice):
    today = date.today()
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(JOURNAL, ["unbalanced", today])
            journal_id = cursor.fetchone()[0]
            cursor.execute(ENTRY, [journal_id, today, accounts["1100"], "10.00", "0"])
            cursor.execute(ENTRY, [journal_id, today, accounts["4000"], "0", "9.00"])
            cursor.execute("SET CONSTRAINTS ledger_journal_balanced IMMEDIATE")
    with pytest.raises(IntegrityError, match="declares 2 entries but has 1"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(JOURNAL, ["short", today])
            journal_id = cursor.fetchone()[0]
            cursor.execute(ENTRY, [journal_id, today, accounts["1100"], "10.00", "0"])
            cursor.execute("SET CONSTRAINTS ledger_journal_balanced IMMEDIATE")
    # An entry whose journal is of another month: its check names both dates,
    # and its month's key into its own journals month (journal_id, date)
    # refuses it too.
    journal = post_one(draft(accounts, "dated", today), posted_by=BY_TESTS)
    other = add_months(month_of(), 1)
    for constraint, match in [
        ("ledger_entry_balanced", "is dated"),
        (month_keys.key_name(other), "foreign key"),
    ]:
        with pytest.raises(IntegrityError, match=match), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(ENTRY, [journal.pk, other, accounts["1100"], "1.00", "0"])
                cursor.execute(f"SET CONSTRAINTS {constraint} IMMEDIATE")
    # A journal dated in a closed period (pgtrigger's statement trigger).
    post_one(draft(accounts, "march", date(2024, 3, 5)), posted_by=BY_TESTS)
    close_period(month=OLD, user=alice, process="test", today=date(2024, 5, 2))
    with pytest.raises(IntegrityError, match="in a closed period"), transaction.atomic():
        with connection.cursor() as cursor:
            raw_journal(cursor, accounts, "late", date(2024, 3, 30))


@pytest.mark.django_db
def test_a_reversal_carries_the_reversed_journals_date(accounts):
    journal = post_one(draft(accounts, "to-reverse", date(2025, 7, 14)), posted_by=BY_TESTS)
    reversal = reverse_journal(journal, on=date.today(), posted_by=BY_TESTS)
    assert (reversal.reverses_id, reversal.reverses_date) == (journal.pk, date(2025, 7, 14))
    stored = Journal.objects.get(pk=reversal.pk)
    assert (stored.reverses_id, stored.reverses_date) == (journal.pk, journal.date)
    # Drafted without the date: posting reads it.
    bare = draft(accounts, "bare-reversal", date.today())
    bare.reverses_id = journal.pk
    assert post_one(bare, posted_by=BY_TESTS).reverses_date == journal.date
    # A reversal without the reversed journal's date: MATCH FULL refuses it.
    with pytest.raises(IntegrityError, match="foreign key"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                JOURNAL.replace("posted_by_process)", "posted_by_process, reverses_id)").replace(
                    "'script')", "'script', %s)"
                ),
                ["half-key", date.today(), journal.pk],
            )
            cursor.execute("SET CONSTRAINTS ledger_journal_reverses_key IMMEDIATE")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_reversal_checks_and_reads_its_entries_with_no_month_detached_between(
    accounts, monkeypatch
):
    """reverse_journal asks whether the journal's entries are attached and
    reads them in one attached_months_held block: ledger_entry is locked
    against a detach (ACCESS SHARE) from the check to the posting."""
    import ledger.detached

    journal = post_one(draft(accounts, "held", date(2025, 7, 14)), posted_by=BY_TESTS)
    held: list[bool] = []
    checked = ledger.detached.require_attached

    def require_attached(day: date, what: str) -> None:
        checked(day, what)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = pg_backend_pid() "
                "AND relation = 'ledger_entry'::regclass AND mode = 'AccessShareLock' "
                "AND granted)"
            )
            held.append(cursor.fetchone()[0])

    monkeypatch.setattr(ledger.detached, "require_attached", require_attached)
    reversal = reverse_journal(journal, on=date.today(), posted_by=BY_TESTS)
    assert held == [True]
    assert reversal is not None and reversal.entry_count == journal.entry_count


@pytest.mark.django_db
def test_every_key_into_the_journals_holds_their_date():
    with connection.cursor() as cursor:
        found = {table: (mine, theirs) for table, mine, theirs in _journal_references(cursor)}
    assert found == {
        "cash_payoutreport": (["journal_id", "journal_date"], ["id", "date"]),
        "cash_writeoffrequest": (["journal_id", "journal_date"], ["id", "date"]),
        # The entries months point into their own journals months (ledger
        # 0013): only the default partition points into ledger_journal.
        "ledger_entry_default": (["journal_id", "date"], ["id", "date"]),
        "ledger_journal": (["reverses_id", "reverses_date"], ["id", "date"]),
    }


@pytest.mark.django_db
def test_a_read_by_date_reads_only_its_months(accounts):
    month = month_of()
    post_one(draft(accounts, "pruned", month), posted_by=BY_TESTS)
    plan = Journal.objects.filter(date__gte=month, date__lt=add_months(month, 1)).explain()
    assert Month(JOURNALS, month).name in plan
    assert Month(JOURNALS, add_months(month, 1)).name not in plan
    assert "ledger_journal_default" not in plan
    # By id alone every month is probed (each one's primary key index).
    plan = Journal.objects.filter(pk=1).explain()
    assert Month(JOURNALS, add_months(month, 1)).name in plan


@pytest.mark.django_db
def test_a_key_is_found_by_its_journal_id_through_an_index(accounts):
    # archived_journal_date (ledger.detached_journals) reads the keys by
    # journal id; the planner may scan a tiny table, so it is told not to.
    journal = post_one(draft(accounts, "by-id", month_of()), posted_by=BY_TESTS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        keys = JournalKey.objects.filter(journal_id=journal.pk).order_by()
        plan = keys.values_list("date")[:1].explain()
    assert "Index Cond: (journal_id = " in plan, plan
    assert archived_journal_date(journal.pk) is None  # its month is attached


OLD_MONTH = Month(JOURNALS, OLD)
ENTRIES_MONTH = Month("ledger_entry", OLD)


def closed_march(accounts, alice) -> Journal:
    """A journal of OLD in its own months' partitions (of no source: a
    reclassification, which check_ledger compares with nothing), the month
    closed, the commit checks run (PostgreSQL refuses to detach over pending
    ones)."""
    create_ahead(0, today=OLD, tables=["ledger_entry", JOURNALS])
    journal = post_one(
        draft(accounts, "march", date(2024, 3, 5), kind=JournalKind.RECLASSIFICATION),
        posted_by=BY_TESTS,
    )
    commit_checks()
    with connection.cursor() as cursor:
        assert journals_kept(OLD_MONTH, cursor, locked=False) == (
            "2024-03 is not a closed accounting period"
        )
    close_period(month=OLD, user=alice, process="test", today=date(2024, 5, 2))
    commit_checks()
    return journal


def archive_entries_month() -> None:
    """The entries month detached and dropped by hand: not recorded."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE ledger_entry DETACH PARTITION ledger_entry_y2024m03")
        cursor.execute("DROP TABLE ledger_entry_y2024m03")


def detach_entries_month() -> None:
    """The entries month detached by its rule: recorded (ledger.detached)."""
    verdicts = {v.month.name: v for v in detach(1, tables=["ledger_entry"])}
    assert verdicts[ENTRIES_MONTH.name].reason == ""
    assert DetachedMonth.objects.filter(month=OLD).exists()


@pytest.mark.django_db
def test_a_journals_month_stays_while_open_and_while_its_entries_are_attached(accounts, alice):
    closed_march(accounts, alice)
    verdicts = {v.month.name: v for v in detach(1, dry_run=True, tables=[JOURNALS])}
    assert verdicts[OLD_MONTH.name].reason == (
        "its entries month ledger_entry_y2024m03 is attached: entries go first"
    )
    # In one run the entries go first, then their journals.
    verdicts = {v.month.name: v for v in detach(1, tables=["ledger_entry", JOURNALS])}
    assert verdicts[ENTRIES_MONTH.name].detachable
    assert verdicts[OLD_MONTH.name].detachable
    assert OLD not in {m.start for m in monthly_partitions(JOURNALS)}


@pytest.mark.django_db
def test_a_journals_month_stays_while_its_entries_month_is_detached_unrecorded(accounts, alice):
    closed_march(accounts, alice)
    archive_entries_month()
    verdicts = {v.month.name: v for v in detach(1, tables=[JOURNALS])}
    assert verdicts[OLD_MONTH.name].reason.startswith(
        "its entries month ledger_entry_y2024m03 is not recorded as detached"
    )
    assert OLD in {m.start for m in monthly_partitions(JOURNALS)}


@pytest.mark.django_db
def test_a_journals_month_stays_while_a_reversal_points_into_it(accounts, alice):
    journal = closed_march(accounts, alice)
    reverse_journal(journal, on=date.today(), posted_by=BY_TESTS)
    commit_checks()
    detach_entries_month()
    verdicts = {v.month.name: v for v in detach(1, tables=[JOURNALS])}
    assert verdicts[OLD_MONTH.name].reason == "rows of ledger_journal still point at its journals"
    assert OLD in {m.start for m in monthly_partitions(JOURNALS)}


@pytest.mark.django_db
def test_a_journals_month_goes_once_its_entries_have_gone(accounts, alice):
    closed_march(accounts, alice)
    detach_entries_month()
    # The detached entries keep their key into their own journals month,
    # which PostgreSQL does not check when that month goes: the two archives
    # keep it between them. Neither keeps one into ledger_journal.
    assert keys_into(ENTRIES_MONTH.name, OLD_MONTH.name) == 1
    verdicts = {v.month.name: v for v in detach(1, tables=[JOURNALS])}
    assert verdicts[OLD_MONTH.name].detachable, verdicts[OLD_MONTH.name].reason
    assert keys_into(ENTRIES_MONTH.name, OLD_MONTH.name) == 1
    assert journal_keys_of(ENTRIES_MONTH.name) == 0
    assert journal_keys_of(OLD_MONTH.name) == 0
    assert OLD not in {m.start for m in monthly_partitions(JOURNALS)}
    assert not Journal.objects.filter(posting_key="march").exists()
    recorded = DetachedJournalMonth.objects.get(month=OLD)
    assert (recorded.journals, recorded.entries) == (1, 2)
    assert check_invariants() == []
    # Its key stays taken: the source is never posted again.
    assert post_one(draft(accounts, "march", date.today()), posted_by=BY_TESTS) is None


def planner_setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s)", [name])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_the_journals_detach_checks_its_keys_by_lookups_then_puts_the_planner_back(
    accounts, alice, monkeypatch
):
    """The DETACH's check that no entry points into the month runs with hash
    and merge joins off (each journal looked up in its own month, not merged
    with every entry); the settings are what they were once it is done."""
    from refunds import partitions

    closed_march(accounts, alice)
    detach_entries_month()
    during: dict[str, str] = {}
    hook = partitions.detach_hook

    def hooks(when: str, table: str):
        found = hook(when, table)
        if (when, table) != ("after", JOURNALS):
            return found

        def after(month, cursor):
            during.update({n: planner_setting(n) for n in ("enable_hashjoin", "enable_mergejoin")})
            found(month, cursor)

        return after

    monkeypatch.setattr(partitions, "detach_hook", hooks)
    verdicts = {v.month.name: v for v in detach(1, tables=[JOURNALS])}
    assert verdicts[OLD_MONTH.name].detachable, verdicts[OLD_MONTH.name].reason
    assert during == {"enable_hashjoin": "off", "enable_mergejoin": "off"}
    assert planner_setting("enable_hashjoin") == "on"
    assert planner_setting("enable_mergejoin") == "on"


def keys_into(table: str, referenced: str) -> int:
    """Foreign keys declared on `table` (not copied from its parent's) into `referenced`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conparentid = 0 "
            "AND conrelid = to_regclass(%s) AND confrelid = to_regclass(%s)",
            [table, referenced],
        )
        return cursor.fetchone()[0]


def journal_keys_of(table: str) -> int:
    return keys_into(table, JOURNALS)


@pytest.mark.django_db
def test_ledger_0011_unlinks_the_entries_months_detached_before_it(accounts, alice):
    """Entries archives made before it keep their keys into the journals (as
    the detach now leaves them until their journals month goes): ledger 0011
    drops those of every detached month, none of an attached one."""
    unlink = import_module("ledger.migrations.0011_unlink_detached_entries")
    closed_march(accounts, alice)
    # Every attached month keyed into the whole of ledger_journal, and the
    # archive's copy of that key, as before ledger 0013.
    attached = [m.name for m in monthly_partitions("ledger_entry")]
    with connection.cursor() as cursor:
        for name in attached:
            cursor.execute(
                f"ALTER TABLE {name} ADD CONSTRAINT {name}_as_before "
                "FOREIGN KEY (journal_id, date) REFERENCES ledger_journal (id, date) "
                "DEFERRABLE INITIALLY DEFERRED"
            )
    detach_entries_month()
    assert journal_keys_of(ENTRIES_MONTH.name) == 1
    before = {name: journal_keys_of(name) for name in attached if name != ENTRIES_MONTH.name}
    unlink.unlink_detached_entries(apps, connection.schema_editor())
    assert journal_keys_of(ENTRIES_MONTH.name) == 0
    assert keys_into(ENTRIES_MONTH.name, OLD_MONTH.name) == 1
    assert {name: journal_keys_of(name) for name in before} == before
    assert all(before.values())
    verdicts = {v.month.name: v for v in detach(1, tables=[JOURNALS])}
    assert verdicts[OLD_MONTH.name].detachable, verdicts[OLD_MONTH.name].reason


def journal_rows() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, posting_key, date, reverses_id, entry_count FROM ledger_journal ORDER BY id"
        )
        return cursor.fetchall()


@pytest.mark.django_db
def test_migration_0008_keeps_every_journal_backwards_and_forwards(accounts):
    posted = [
        post_one(draft(accounts, f"kept-{n}", day, amount=f"{n + 1}.00"), posted_by=BY_TESTS)
        for n, day in enumerate([date.today(), date(2025, 7, 14), date(2024, 1, 2)])
    ]
    reverse_journal(posted[1], on=date.today(), posted_by=BY_TESTS)
    commit_checks()
    rows = journal_rows()
    assert len(rows) == 4

    MigrationExecutor(connection).migrate([("ledger", "0007_account_day")])
    assert not is_partitioned(JOURNALS)
    assert journal_rows() == rows
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('ledger_journalkey')")
        assert cursor.fetchone()[0] is None
        # The unique posting key is back on the journals.
        with pytest.raises(IntegrityError, match="posting_key"), transaction.atomic():
            cursor.execute(JOURNAL, ["kept-0", date.today()])

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert is_partitioned(JOURNALS)
    assert journal_rows() == rows
    assert monthly_partitions(JOURNALS)[0].start == date(2024, 1, 1)
    assert set(JournalKey.objects.values_list("posting_key", "journal_id", "date")) == {
        (key, journal_id, day) for journal_id, key, day, _, _ in rows
    }
    reversal = Journal.objects.get(reverses__isnull=False)
    assert reversal.reverses_date == date(2025, 7, 14)
    # Posting works again, once per key, and the triggers are the current ones.
    assert post_one(draft(accounts, "kept-0", date.today()), posted_by=BY_TESTS) is None
    assert post_one(draft(accounts, "after", date.today()), posted_by=BY_TESTS) is not None
    with pytest.raises(DatabaseError, match="ledger_journalkey_pkey"), transaction.atomic():
        with connection.cursor() as cursor:
            raw_journal(cursor, accounts, "after", date(2025, 7, 14))


class Forgetful(dict):
    """A memory of verified months that keeps nothing."""

    def __setitem__(self, key: str, value: object) -> None:
        pass


@pytest.mark.django_db
def test_a_journals_month_not_verified_before_the_lock_stays(accounts, alice, monkeypatch):
    """As if the period had been reopened and closed again between the two
    asks of the rule: under the lock check_ledger's checks are not run again."""
    closed_march(accounts, alice)
    detach_entries_month()
    monkeypatch.setattr("ledger.detached_journals._VERIFIED", Forgetful())
    verdicts = {v.month.name: v for v in detach(1, tables=[JOURNALS])}
    assert verdicts[OLD_MONTH.name].reason == (
        "2024-03 changed since check_ledger agreed on it: detach it again"
    )
    assert OLD in {m.start for m in monthly_partitions(JOURNALS)}
    assert not DetachedJournalMonth.objects.exists()


@pytest.mark.django_db
def test_a_journals_month_stays_while_check_ledger_disagrees(accounts, alice):
    closed_march(accounts, alice)
    detach_entries_month()
    # A sale journal of no order posted since (today: an open month).
    post_one(draft(accounts, "orphan", date.today()), posted_by=BY_TESTS)
    commit_checks()
    verdicts = {v.month.name: v for v in detach(1, tables=[JOURNALS])}
    assert verdicts[OLD_MONTH.name].reason.startswith(
        "check_ledger finds [sales_posted] order (no order)"
    ), verdicts[OLD_MONTH.name].reason


@pytest.mark.django_db
def test_reads_of_a_detached_month_say_it_is_archived(accounts, alice, staff):
    journal = closed_march(accounts, alice)
    detach_entries_month()
    api = client_for(StaffFactory(username="fiona"))
    # Its entries detached: the journal still reads, saying so; it cannot be
    # reversed (there is nothing left to mirror).
    body = api.get(f"/api/v1/journals/{journal.pk}/").json()
    assert (body["entries"], body["entries_archived"]) == ([], True)
    listed = api.get("/api/v1/journals/").json()["results"]
    assert {row["id"]: row["entries_archived"] for row in listed}[journal.pk] is True
    page = staff.get(reverse("admin:ledger_journal_change", args=[journal.pk])).content.decode()
    assert "Archived: the ledger entries of its month were detached" in page
    with pytest.raises(EntriesDetachedError, match=f"Reversing journal {journal.pk} needs"):
        reverse_journal(journal, on=date.today(), posted_by=BY_TESTS)
    today = post_one(
        draft(accounts, "today", date.today(), kind=JournalKind.RECLASSIFICATION),
        posted_by=BY_TESTS,
    )
    commit_checks()
    assert api.get(f"/api/v1/journals/{today.pk}/").json()["entries_archived"] is False

    # Its journals detached too: 410 journal_archived, not 404; the admin says why.
    assert detach(1, tables=[JOURNALS])[0].detachable
    answer = api.get(f"/api/v1/journals/{journal.pk}/")
    assert answer.status_code == 410, answer.content
    assert answer.json()["code"] == "journal_archived"
    assert api.get(f"/api/v1/journals/{today.pk + 1000}/").status_code == 404
    page = staff.get(
        reverse("admin:ledger_journal_change", args=[journal.pk]), follow=True
    ).content.decode()
    assert f"Journal J{journal.pk} is archived: its month 2024-03 was detached" in page


# ------------------------------------------------- each entries month's own key


def entries_keys() -> dict[str, tuple[str, bool]]:
    """{entries table: (the table its journal key points into, validated)}
    of the keys declared on ledger_entry and its partitions."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, confrelid::regclass::text, convalidated "
            "FROM pg_constraint WHERE contype = 'f' AND conparentid = 0 "
            "AND conrelid::regclass::text LIKE 'ledger_entry%%' "
            "AND confrelid::regclass::text LIKE 'ledger_journal%%'"
        )
        return {table: (target, valid) for table, target, valid in cursor.fetchall()}


@pytest.mark.django_db
def test_each_entries_month_is_keyed_into_its_own_journals_month(accounts):
    """ledger 0013: each attached entries month points into the journals
    month of its name (the default into the whole of ledger_journal), all
    validated; ledger_entry itself declares no key into the journals."""
    keys = entries_keys()
    journals = {m.start for m in monthly_partitions(JOURNALS)}
    expected = {
        m.name: (Month(JOURNALS, m.start).name if m.start in journals else JOURNALS, True)
        for m in monthly_partitions("ledger_entry")
    }
    expected["ledger_entry_default"] = (JOURNALS, True)
    assert {t: k for t, k in keys.items() if t in expected} == expected
    assert "ledger_entry" not in keys
    assert any(target != JOURNALS for target, _ in expected.values())


@pytest.mark.django_db
def test_create_ahead_makes_the_journals_month_first_and_keys_the_entries_into_it(accounts):
    later = date(2031, 5, 1)
    made = create_ahead(0, today=later, tables=["ledger_entry", JOURNALS])
    assert made == [Month(JOURNALS, later).name, Month("ledger_entry", later).name]
    assert entries_keys()[Month("ledger_entry", later).name] == (Month(JOURNALS, later).name, True)
    # An entries month made alone, its journals month missing: keyed into all
    # of ledger_journal (its journals wait in ledger_journal_default).
    alone = date(2032, 5, 1)
    assert create_ahead(0, today=alone, tables=["ledger_entry"]) == [
        Month("ledger_entry", alone).name
    ]
    assert entries_keys()[Month("ledger_entry", alone).name] == (JOURNALS, True)
    # Both refuse an entry whose journal is not there.
    for day in (later, alone):
        with pytest.raises(IntegrityError, match="foreign key"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(ENTRY, [10**12, day + timedelta(days=3), accounts["1100"], "1", "0"])
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.django_db
def test_a_journals_months_detach_checks_no_entries_month(accounts, alice):
    """PostgreSQL checks at a journals month's DETACH only the keys it made
    for that month from a key on a parent: no entries month is among them
    (ledger.month_keys), only ledger_entry_default and the journals' other
    referrers."""
    closed_march(accounts, alice)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT conrelid::regclass::text FROM pg_constraint "
            "WHERE contype = 'f' AND conparentid <> 0 AND confrelid = to_regclass(%s)",
            [OLD_MONTH.name],
        )
        checked = {table for (table,) in cursor.fetchall()}
    assert "ledger_entry_default" in checked
    assert not {t for t in checked if t.startswith("ledger_entry") and t != "ledger_entry_default"}


@pytest.mark.django_db
def test_ledger_0013_keys_each_month_and_goes_back_to_one_key(accounts):
    keyed = import_module("ledger.migrations.0013_entries_month_keys")
    post_one(draft(accounts, "keyed", date.today()), posted_by=BY_TESTS)
    commit_checks()
    tables = {m.name for m in monthly_partitions("ledger_entry")}
    tables |= {"ledger_entry", "ledger_entry_default"}

    def attached_keys() -> dict[str, tuple[str, bool]]:
        return {t: k for t, k in entries_keys().items() if t in tables}

    after = attached_keys()
    assert all(valid for _, valid in after.values())
    keyed.month_keys_backward(apps, connection.schema_editor())
    assert attached_keys() == {"ledger_entry": (JOURNALS, True)}
    keyed.month_keys_forward(apps, connection.schema_editor())
    assert attached_keys() == after
    # A run cut short after the swap (keys NOT VALID): the next one validates.
    keyed.month_keys_backward(apps, connection.schema_editor())
    with connection.cursor() as cursor:
        month_keys.link_month(cursor, month_of(), valid=False)
        month_keys.link_default(cursor, valid=False)
    assert attached_keys()["ledger_entry_default"] == (JOURNALS, False)
    keyed.month_keys_forward(apps, connection.schema_editor())
    assert attached_keys() == after


def keyed_findings() -> dict[str, str]:
    return {f.subject: f.detail for f in check_invariants() if f.check == "entries_keyed"}


@pytest.mark.django_db
def test_check_ledger_finds_an_entries_month_without_its_key_and_says_how_to_add_it(accounts):
    """A month made or attached by hand, or by the code before ledger 0013,
    has no key: check_ledger names it with the statements that add it
    without holding writers off, then its key while NOT VALID."""
    assert keyed_findings() == {}
    coming = Month("ledger_entry", add_months(month_of(), 1))
    key = month_keys.key_name(coming.start)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {coming.name} DROP CONSTRAINT {key}")
    found = keyed_findings()
    assert list(found) == [coming.name]
    assert "no foreign key into the journals" in found[coming.name]
    assert (
        f"REFERENCES {Month(JOURNALS, coming.start).name} (id, date) "
        "DEFERRABLE INITIALLY DEFERRED NOT VALID; COMMIT; "
        f"ALTER TABLE {coming.name} VALIDATE CONSTRAINT {key};"
    ) in found[coming.name]
    with connection.cursor() as cursor:
        month_keys.link_month(cursor, coming.start, valid=False)
    assert "NOT VALID" in keyed_findings()[coming.name]
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {coming.name} VALIDATE CONSTRAINT {key}")
    assert keyed_findings() == {}


@pytest.mark.django_db
def test_the_reversals_a_detach_looks_for_are_found_through_their_own_index(accounts):
    """A journals month's DETACH looks for reversals pointing into it with the
    key's MATCH FULL condition; ledger 0014's partial index answers that
    condition in every month, instead of a read of every journal."""
    journal = post_one(draft(accounts, "reversed", date.today()), posted_by=BY_TESTS)
    reverse_journal(journal, on=date.today(), posted_by=BY_TESTS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT fk.reverses_id, fk.reverses_date FROM ledger_journal fk "
            "WHERE (fk.reverses_id IS NOT NULL OR fk.reverses_date IS NOT NULL)"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan" not in plan, plan
    assert "reverses_id_reverses_date_idx" in plan, plan
