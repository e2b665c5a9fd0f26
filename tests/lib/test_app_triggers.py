"""Each app's triggers are declared in its own `triggers.py` and installed on
its own tables only; the database holds exactly those definitions, and the
model state knows every index Django can express."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pghistory.models
import pgtrigger
import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection

from cash import payout_triggers
from cash import triggers as cash_triggers
from ledger import triggers as ledger_triggers
from refunds import triggers as refunds_triggers
from refunds.models import RefundDay

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the triggers are PostgreSQL's"
)

# Each app's trigger modules, as one: their triggers and functions.
MODULES = {
    "ledger": SimpleNamespace(
        TRIGGERS=(*ledger_triggers.TRIGGERS, *ledger_triggers.KEY_TRIGGERS),
        FUNCTIONS=(*ledger_triggers.FUNCTIONS, *ledger_triggers.KEY_FUNCTIONS),
    ),
    "refunds": refunds_triggers,
    "cash": SimpleNamespace(
        TRIGGERS=(*cash_triggers.TRIGGERS, *payout_triggers.TRIGGERS),
        FUNCTIONS=(*cash_triggers.FUNCTIONS, *payout_triggers.FUNCTIONS),
    ),
}


def installed_triggers() -> set[tuple[str, str]]:
    """(table, trigger) of every trigger made by hand or by pgtrigger (not foreign keys',
    nor the clones PostgreSQL makes of a partitioned table's triggers on its partitions)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, t.tgname FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND n.nspname = current_schema()
            """
        )
        return set(cursor.fetchall())


def cloned_triggers() -> set[tuple[str, str, str]]:
    """(partitioned table, partition, trigger) of each trigger cloned onto a partition."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT parent.relname, c.relname, t.tgname FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_trigger pt ON pt.oid = t.tgparentid
            JOIN pg_class parent ON parent.oid = pt.tgrelid
            WHERE NOT t.tgisinternal AND t.tgparentid <> 0 AND n.nspname = current_schema()
            """
        )
        return set(cursor.fetchall())


def app_functions() -> dict[str, str]:
    """Our functions (named after an app) and their bodies, as installed."""
    labels = "|".join(
        config.label for config in apps.get_app_configs() if config.label != "pgtrigger"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT p.proname, p.prosrc FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = current_schema() AND p.proname ~ %s
            """,
            [f"^({labels})_"],
        )
        return dict(cursor.fetchall())


def pgtrigger_functions() -> set[str]:
    """The functions pgtrigger installed (one per trigger, named like it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT p.proname FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = current_schema() AND p.proname LIKE %s
            """,
            ["pgtrigger\\_%"],
        )
        return {name for (name,) in cursor.fetchall()}


def by_pgtrigger() -> set[tuple[str, str]]:
    """(table, trigger) pgtrigger installs: pghistory's event triggers on the tracked
    models' tables, the append-only guards on the event tables (lib.history), and
    whatever else a model declares in its own Meta (the reason policy's version, the
    ledger's accounting periods and the journal's period check). Each is declared by
    the model owning the table, and only those tables have any."""
    events = [m for m in apps.get_models() if issubclass(m, pghistory.models.Event)]
    allowed = {m for m in events} | {m.pgh_tracked_model for m in events}
    found = set()
    for model, trigger in pgtrigger.registered():
        declared_here = trigger in getattr(model._meta, "triggers", [])
        assert model in allowed or declared_here, (model, trigger.name)
        found.add((model._meta.db_table, trigger.get_pgid(model)))
    return found


def indexes(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return {
            name
            for name, info in connection.introspection.get_constraints(cursor, table).items()
            if info["index"] or info["unique"]
        }


def owner(table: str) -> str:
    """The app whose model the table is."""
    owners = {m._meta.db_table: m._meta.app_label for m in apps.get_models()}
    return owners[table]


def declared() -> set[tuple[str, str]]:
    return {(t.table, t.name) for module in MODULES.values() for t in module.TRIGGERS}


def body(sql: str) -> str:
    match = re.search(r"\$\$(.*)\$\$", sql, re.S)
    assert match, sql
    return match.group(1)


@pytest.mark.django_db
def test_every_trigger_is_declared_by_the_app_owning_its_table():
    installed = installed_triggers()
    # pgtrigger's own (named pgtrigger_*): exactly what the tracked models and their
    # event tables declare, each with its function; nothing else of pgtrigger's.
    from_pgtrigger = {(table, name) for table, name in installed if name.startswith("pgtrigger_")}
    assert from_pgtrigger == by_pgtrigger()
    assert pgtrigger_functions() == {name for _, name in from_pgtrigger}
    events = [m for m in apps.get_models() if issubclass(m, pghistory.models.Event)]
    for model in events:
        names = {name for table, name in from_pgtrigger if table == model._meta.db_table}
        assert {n.rsplit("_", 1)[0] for n in names} == {
            "pgtrigger_append_only",
            "pgtrigger_no_delete",
        }, model
        tracked = model.pgh_tracked_model._meta.db_table
        assert {
            "pgtrigger_insert_insert",
            "pgtrigger_update_update",
            "pgtrigger_delete_delete",
        } <= {name.rsplit("_", 1)[0] for table, name in from_pgtrigger if table == tracked}
    found = installed - from_pgtrigger
    assert found == declared()
    for table, trigger in found:
        app = owner(table)
        assert trigger.startswith(f"{app}_"), (table, trigger)
        assert (table, trigger) in {(t.table, t.name) for t in MODULES[app].TRIGGERS}
    # A partitioned table's triggers are cloned onto each partition, by PostgreSQL:
    # only from a declared trigger, onto partitions of its own table.
    for parent, partition, trigger in cloned_triggers():
        assert (parent, trigger) in found, (parent, partition, trigger)
        assert partition.startswith(f"{parent}_"), (parent, partition)
    assert ("refunds_outboxmessage", "refunds_outbox_sequence_once") in found
    # The staff dashboard's summary: refunds' triggers on refunds' tables, none of portal's.
    assert {t for _, t in found if "refundday" in t} == {
        f"refunds_refundday_{table}_{event}s"
        for table in ("refundcase", "vendorliability", "refundline", "order", "orderline")
        for event in ("insert", "delete", "update")
    }


@pytest.mark.django_db
def test_the_database_runs_the_functions_the_modules_declare():
    installed = app_functions()
    wanted = {f.signature.split("(")[0]: body(f.sql) for m in MODULES.values() for f in m.FUNCTIONS}
    assert installed == wanted
    assert not [name for name in installed if name.startswith("portal_")]


@pytest.mark.django_db
def test_refunds_indexes_for_the_portal_are_refunds_own():
    assert {"case_id_trgm_idx", "case_completed_idx"} <= indexes("refunds_refundcase")
    assert "order_number_trgm_idx" in indexes("refunds_order")
    assert {"order_line_sku_trgm_idx", "order_line_vendor_sku_idx"} <= indexes("refunds_orderline")
    assert "liability_vendor_amount_idx" in indexes("refunds_vendorliability")
    assert {"refund_day_key_idx", "refund_day_unique"} <= indexes("portal_refundday")
    # The plain ones are in the model state; the state matches the models.
    meta = {i.name for i in apps.get_model("refunds", "RefundCase")._meta.indexes}
    assert "case_completed_idx" in meta
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_refund_day_belongs_to_refunds():
    assert RefundDay._meta.app_label == "refunds"
    assert RefundDay._meta.db_table == "portal_refundday"
    assert ContentType.objects.get_for_model(RefundDay).app_label == "refunds"
    assert not ContentType.objects.filter(app_label="portal", model="refundday").exists()
