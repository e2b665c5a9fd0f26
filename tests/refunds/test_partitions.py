"""The case events and the outbox, partitioned by month (refunds.partitions):
rows land in their month, months are made ahead idempotently, old months are
detached only when nothing needs them, the composite keys to the events hold,
and the outbox keeps one number per message of a case and consumer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import psycopg2.errors
import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from lib.admin import EstimatedCountPaginator
from portal.models import Notification
from refunds import outbox, partitions
from refunds.models import CaseEvent, EventKind, OutboxMessage, RefundCase
from refunds.partitions import (
    Month,
    PartitionError,
    add_months,
    create_ahead,
    detach,
    month_of,
    monthly_partitions,
    verdict,
)
from tests.threads import hold_then_race

pytestmark = [pytest.mark.postgres]

EVENTS, OUTBOX = "refunds_caseevent", "refunds_outboxmessage"
OLD = date(2024, 3, 1)  # a month long before the migration made the tables


@pytest.fixture(autouse=True)
def refunds_tables_only(settings):
    """These tests are about the events and the outbox: the ledger's entries,
    partitioned by the same code, have theirs (tests/ledger/test_partitions.py)."""
    settings.PARTITIONED_TABLES = {
        table: rule
        for table, rule in settings.PARTITIONED_TABLES.items()
        if table in (EVENTS, OUTBOX)
    }


def where(table: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0]


def exists(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        return cursor.fetchone()[0]


def event_at(case: RefundCase, moment: datetime) -> CaseEvent:
    return CaseEvent.objects.create(case=case, kind=EventKind.NOTE, text="x", created_at=moment)


def old_month() -> datetime:
    """Made as if the task had run in OLD: its partitions exist."""
    assert create_ahead(0, today=OLD) == [Month(EVENTS, OLD).name, Month(OUTBOX, OLD).name]
    return datetime(OLD.year, OLD.month, 10, 12, tzinfo=UTC)


@pytest.mark.django_db
def test_rows_land_in_their_month(worked_case):
    now = timezone.now()
    opened = worked_case.events.get()
    assert where(EVENTS, opened.pk) == Month(EVENTS, month_of(opened.created_at)).name
    message = OutboxMessage.objects.filter(event=opened).first()
    assert message is not None
    assert message.event_created_at == opened.created_at
    assert where(OUTBOX, message.pk) == Month(OUTBOX, month_of(message.created_at)).name
    later = event_at(worked_case, now + timedelta(days=40))
    assert where(EVENTS, later.pk) == Month(EVENTS, month_of(later.created_at)).name
    # A month with no partition yet goes to DEFAULT, and stays readable.
    far = event_at(worked_case, now + timedelta(days=3 * 366))
    assert where(EVENTS, far.pk) == f"{EVENTS}_default"
    assert CaseEvent.objects.get(pk=far.pk).created_at == far.created_at
    # One sequence for every partition.
    assert opened.pk < later.pk < far.pk


@pytest.mark.django_db
def test_create_ahead_is_idempotent():
    first = month_of()
    made = create_ahead(6)
    # The migration made three months ahead; six asks for three more per table.
    assert made == [
        Month(table, add_months(first, n)).name for table in (EVENTS, OUTBOX) for n in (4, 5, 6)
    ]
    assert create_ahead(6) == []
    assert create_ahead(6, dry_run=True) == []
    starts = [m.start for m in monthly_partitions(EVENTS)]
    assert starts[-7:] == [add_months(first, n) for n in range(7)]


@pytest.mark.django_db
def test_create_ahead_dry_run_makes_nothing():
    wanted = create_ahead(8, dry_run=True)
    assert len(wanted) == 10
    assert not any(exists(name) for name in wanted)


@pytest.mark.django_db
def test_create_ahead_refuses_a_month_with_rows_in_default(worked_case):
    moment = datetime(2031, 5, 2, tzinfo=UTC)
    event = event_at(worked_case, moment)
    assert where(EVENTS, event.pk) == f"{EVENTS}_default"
    with pytest.raises(PartitionError, match="1 rows of 2031-05 are in the DEFAULT"):
        create_ahead(0, today=moment.date())
    assert not exists(Month(EVENTS, month_of(moment)).name)
    # The row is still where it was, nothing lost.
    assert where(EVENTS, event.pk) == f"{EVENTS}_default"


@pytest.mark.django_db
def test_a_row_reaching_default_after_the_check_is_refused_the_same_way(worked_case, monkeypatch):
    """The count said DEFAULT had none of the month, then a row came: PostgreSQL
    refuses the partition under its lock, and so does create_ahead."""
    moment = datetime(2031, 7, 2, tzinfo=UTC)
    event = event_at(worked_case, moment)
    monkeypatch.setattr(partitions, "rows_in_default", lambda month: 0)
    with pytest.raises(PartitionError, match="of 2031-07 are in the DEFAULT partition"):
        create_ahead(0, today=moment.date())
    assert not exists(Month(EVENTS, month_of(moment)).name)
    assert where(EVENTS, event.pk) == f"{EVENTS}_default"


@pytest.mark.django_db
def test_create_ahead_makes_every_other_month_then_names_the_refused_one(
    worked_case, monkeypatch, capsys
):
    """Rows of M+1 in events' DEFAULT: M, M+2, M+3 of events and every outbox
    month are made all the same, then one error names M+1."""
    first = date(2031, 9, 1)
    moment = datetime(2031, 10, 2, tzinfo=UTC)
    event = event_at(worked_case, moment)
    made = [Month(EVENTS, add_months(first, n)).name for n in (0, 2, 3)] + [
        Month(OUTBOX, add_months(first, n)).name for n in range(4)
    ]
    with pytest.raises(PartitionError, match="1 rows of 2031-10 are in the DEFAULT") as refused:
        create_ahead(3, today=first)
    assert refused.value.made == made
    assert all(exists(name) for name in made)
    assert not exists(Month(EVENTS, month_of(moment)).name)
    assert where(EVENTS, event.pk) == f"{EVENTS}_default"
    # The command (pretending today is M) says what it made, then fails naming M+1.
    real = partitions.create_ahead
    monkeypatch.setattr(
        partitions,
        "create_ahead",
        lambda months, dry_run: real(months, today=first, dry_run=dry_run),
    )
    with pytest.raises(CommandError, match="1 rows of 2031-10 are in the DEFAULT"):
        call_command("partitions", "create-ahead", "--months", "4")
    out = capsys.readouterr().out
    assert out.split() == [
        word
        for table in (EVENTS, OUTBOX)
        for word in ("did", "create", Month(table, add_months(first, 4)).name)
    ]


@pytest.mark.django_db
def test_detach_refuses_the_current_month():
    current = Month(EVENTS, month_of())
    assert verdict(current).reason == "the current month (or later)"
    # Even told that today is two months on, the clock's month stays, and the next.
    verdicts = detach(1, today=add_months(month_of(), 2))
    assert [(v.month.name, v.reason) for v in verdicts] == [
        (Month(table, add_months(month_of(), n)).name, "the current month (or later)")
        for table in (EVENTS, OUTBOX)
        for n in (0, 1)
    ]
    assert {current.start, add_months(current.start, 1)} <= {
        m.start for m in monthly_partitions(EVENTS)
    }
    with pytest.raises(PartitionError):
        detach(0)


@pytest.mark.django_db
def test_detach_refuses_a_month_still_referenced_or_undrained(worked_case, acme):
    moment = old_month()
    event = event_at(worked_case, moment)
    Notification.objects.create(vendor=acme, case=worked_case, event=event, subject="s", body="b")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO refunds_outboxmessage (consumer, topic, created_at, available_at, "
            "attempts, last_error) VALUES ('ledger', 'order.paid', %s, %s, 0, '')",
            [moment, moment],
        )
    verdicts = {v.month.name: v for v in detach(1)}
    assert verdicts[Month(EVENTS, OLD).name].reason == (
        "rows of portal_notification still point at its events"
    )
    assert verdicts[Month(OUTBOX, OLD).name].reason == ("1 outbox messages not drained (or failed)")
    assert {m.start for m in monthly_partitions(EVENTS)} >= {OLD}
    assert {m.start for m in monthly_partitions(OUTBOX)} >= {OLD}
    assert CaseEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db
def test_a_reference_arriving_after_the_verdict_keeps_the_month(worked_case, acme, monkeypatch):
    """The verdict reads without locking: a notification pointing at the month
    after it makes PostgreSQL refuse the DETACH, and the month is kept with why."""
    moment = old_month()
    event = event_at(worked_case, moment)
    Notification.objects.create(vendor=acme, case=worked_case, event=event, subject="s", body="b")
    monkeypatch.setattr(partitions, "verdict", lambda month: partitions.Verdict(month, ""))
    verdicts = {v.month.name: v for v in detach(1)}
    kept = verdicts[Month(EVENTS, OLD).name]
    assert not kept.detachable
    assert kept.reason.startswith("PostgreSQL refused: ")
    assert "portal_notification" in kept.reason
    assert OLD in {m.start for m in monthly_partitions(EVENTS)}
    assert CaseEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db
def test_detach_takes_an_old_month_nothing_needs(worked_case):
    moment = old_month()
    event = event_at(worked_case, moment)
    dry = detach(1, dry_run=True)
    assert [(v.month.name, v.detachable) for v in dry] == [
        (Month(EVENTS, OLD).name, True),
        (Month(OUTBOX, OLD).name, True),
    ]
    assert CaseEvent.objects.filter(pk=event.pk).exists()
    done = detach(1)
    assert all(v.detachable for v in done)
    # Gone from the parent, kept in a table of its own (detached, not dropped).
    assert not CaseEvent.objects.filter(pk=event.pk).exists()
    assert OLD not in {m.start for m in monthly_partitions(EVENTS)}
    assert count(Month(EVENTS, OLD).name) == 1
    # The case's other events are untouched.
    assert worked_case.events.count() == 1
    assert detach(1) == []


def lock_probe(month: Month) -> dict[str, bool]:
    """From a second connection: may the month's table be read, and the
    current month written, and may the month itself be written, without
    waiting (lock_timeout)?"""
    params = connection.get_connection_params()
    other = psycopg2.connect(**params)
    other.autocommit = True
    found = {}
    try:
        with other.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
            for what, sql in (
                ("read", f"SELECT count(*) FROM {month.table}"),
                # What an INSERT of this month's rows locks.
                (
                    "write",
                    f"LOCK TABLE ONLY {month.table} IN ROW EXCLUSIVE MODE; LOCK TABLE "
                    f"{Month(month.table, month_of()).name} IN ROW EXCLUSIVE MODE",
                ),
                ("write the month", f"LOCK TABLE {month.name} IN ROW EXCLUSIVE MODE"),
            ):
                try:
                    cursor.execute("BEGIN")
                    cursor.execute(sql)
                    found[what] = True
                except psycopg2.errors.LockNotAvailable:
                    found[what] = False
                finally:
                    cursor.execute("ROLLBACK")
    finally:
        other.close()
    return found


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_table_is_locked_only_for_the_detach_itself(monkeypatch):
    """While the rule looks again (and records what a month held), the
    table is read and written as usual; only the month's writers wait."""
    old_month()
    month = Month(EVENTS, OLD)
    real = partitions.rule(EVENTS)
    seen: dict[str, bool] = {}

    def probing(asked: Month, cursor, *, locked: bool) -> str:
        if locked:
            seen.update(lock_probe(asked))
        return real(asked, cursor, locked=locked)

    monkeypatch.setattr(partitions, "rule", lambda table: probing)
    try:
        # This month alone: other tests' old months may be there too.
        assert partitions._detach(month).reason == ""
        assert seen == {"read": True, "write": True, "write the month": False}
        assert OLD not in {m.start for m in monthly_partitions(EVENTS)}
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {month.name}")
            cursor.execute(f"DROP TABLE IF EXISTS {Month(OUTBOX, OLD).name}")


@pytest.mark.django_db
def test_the_command_says_what_it_does(capsys):
    call_command("partitions", "create-ahead", "--months", "4", "--dry-run")
    out = capsys.readouterr().out
    assert f"would create {Month(EVENTS, add_months(month_of(), 4)).name}" in out
    assert not exists(Month(EVENTS, add_months(month_of(), 4)).name)
    call_command("partitions", "create-ahead", "--months", "4")
    assert exists(Month(EVENTS, add_months(month_of(), 4)).name)
    call_command("partitions", "detach", "--older-than", "1")
    assert "nothing old enough to detach" in capsys.readouterr().out


@pytest.mark.django_db
def test_the_composite_key_refuses_a_wrong_created_at(worked_case, acme):
    event = worked_case.events.get()
    wrong = event.created_at + timedelta(seconds=1)
    for table, columns, values in [
        (
            "portal_notification",
            "vendor_id, kind, case_id, subject, body, created_at, email_error, email_attempts",
            f"{acme.pk}, 'case', {worked_case.pk}, 's', 'b', now(), '', 0",
        ),
        (
            "refunds_outboxmessage",
            "consumer, topic, case_id, created_at, available_at, attempts, last_error",
            f"'ledger', 'x', {worked_case.pk}, now(), now(), 0, ''",
        ),
    ]:
        for created_at in (wrong, None):  # wrong, or missing (MATCH FULL)
            with pytest.raises(IntegrityError), transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    cursor.execute(
                        f"INSERT INTO {table} ({columns}, event_id, event_created_at) "
                        f"VALUES ({values}, %s, %s)",
                        [event.pk, created_at],
                    )
    # The ORM fills the column from the event: accepted.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        note = Notification.objects.create(
            vendor=acme, case=worked_case, event_id=event.pk, subject="s", body="b"
        )
    assert note.event_created_at == event.created_at


@pytest.mark.django_db
def test_the_admin_estimates_a_partitioned_table_from_its_partitions(worked_case):
    # Autovacuum analyses the partitions, never the partitioned table itself.
    month = Month(EVENTS, month_of(worked_case.events.get().created_at))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {month.name}")
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [EVENTS])
        assert cursor.fetchone()[0] < 0  # the parent: never analysed
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [month.name])
        in_month = cursor.fetchone()[0]
    assert in_month >= 0
    assert EstimatedCountPaginator(CaseEvent.objects.all(), 50).estimate() == int(in_month)


@pytest.mark.django_db
def test_deleting_an_event_still_deletes_what_points_at_it(worked_case, acme):
    event = worked_case.events.get()
    Notification.objects.create(vendor=acme, case=worked_case, event=event, subject="s", body="b")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    pk = event.pk
    assert OutboxMessage.objects.filter(event_id=pk).exists()
    event.delete()
    assert not Notification.objects.filter(event_id=pk).exists()
    assert not OutboxMessage.objects.filter(event_id=pk).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_writers_cannot_give_a_case_the_same_number_twice(worked_case):
    """The unique index could not span the partitions: the trigger, under the
    case's row lock, refuses the second writer of a number once the first commits."""
    OutboxMessage.objects.all().delete()
    case = RefundCase.objects.get(pk=worked_case.pk)

    def write() -> int:
        message = OutboxMessage.objects.create(
            consumer="ledger",
            topic="case.note",
            case=case,
            sequence=7,
            available_at=timezone.now(),
        )
        return message.pk

    results = hold_then_race(write, write)
    assert results["blocked"] is True
    assert isinstance(results["first"], int)
    assert isinstance(results["second"], IntegrityError)
    assert results["second"].__cause__.diag.constraint_name == "outbox_case_sequence_once"
    assert OutboxMessage.objects.filter(case=case, sequence=7).count() == 1
    # Other consumers may share the number; the next number is free.
    OutboxMessage.objects.create(
        consumer="notifications", topic="x", case=case, sequence=7, available_at=timezone.now()
    )
    outbox.emit("case.note", case=case)
    assert OutboxMessage.objects.filter(case=case).count() >= 2


@pytest.mark.django_db
def test_the_numbering_refuses_a_snapshot_isolation_level(worked_case):
    """Under REPEATABLE READ the trigger's look could miss a concurrent writer:
    it refuses to number there (on a connection of its own: the test's
    transaction is READ COMMITTED and already begun)."""
    raw = connection.get_new_connection(connection.get_connection_params())
    try:
        with raw.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            with pytest.raises(psycopg2.errors.InvalidTransactionState, match="REPEATABLE READ"):
                cursor.execute(
                    "INSERT INTO refunds_outboxmessage (consumer, topic, case_id, sequence, "
                    "created_at, available_at, attempts, last_error) "
                    "VALUES ('ledger', 'x', %s, 1, now(), now(), 0, '')",
                    [worked_case.pk],
                )
        raw.rollback()
    finally:
        raw.close()
    # The test's own connection (READ COMMITTED) numbers as ever.
    OutboxMessage.objects.create(
        consumer="ledger", topic="x", case=worked_case, sequence=99, available_at=timezone.now()
    )


@pytest.mark.django_db
def test_consumers_find_their_events_in_those_months_alone(worked_case):
    """outbox.events_of, which every consumer uses, looks events up by id and
    created_at: PostgreSQL reads only the months the messages point into."""
    now = timezone.now()
    old = event_at(worked_case, old_month())
    later = event_at(worked_case, now + timedelta(days=40))
    messages = [
        OutboxMessage(event_id=old.pk, event_created_at=old.created_at),
        OutboxMessage(event_id=later.pk, event_created_at=later.created_at),
        OutboxMessage(),  # a message about an order: no event
    ]
    found = outbox.events_of(messages)
    assert sorted(found.values_list("pk", flat=True)) == [old.pk, later.pk]
    plan = found.explain()
    read = {Month(EVENTS, OLD).name, Month(EVENTS, month_of(later.created_at)).name}
    assert read <= set(plan.replace("\n", " ").replace("(", " ").split()), plan
    assert Month(EVENTS, month_of(now)).name not in plan, plan
    assert f"{EVENTS}_default" not in plan, plan
    # By id alone (as the consumers read before) every month is probed.
    assert f"{EVENTS}_default" in CaseEvent.objects.filter(pk__in=[old.pk, later.pk]).explain()
    assert not outbox.events_of(messages[2:]).exists()
