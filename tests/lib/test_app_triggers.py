"""Each app's triggers are declared in its own `triggers.py` and installed on
its own tables only; the database holds exactly those definitions, the model
state knows every index Django can express, and migrating from the state
before the triggers modules gives the same triggers as a fresh database."""

from __future__ import annotations

import re
from importlib import import_module

import pghistory.models
import pgtrigger
import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from ledger import triggers as ledger_triggers
from refunds import triggers as refunds_triggers
from refunds.models import ReasonPolicy, RefundDay, RefundLine
from refunds.services.cases import LineRequest, cancel_case, open_case
from tests.factories import make_order
from tests.refund_day import expected, kept

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the triggers are PostgreSQL's"
)

MODULES = {"ledger": ledger_triggers, "refunds": refunds_triggers}

# The state just before the triggers modules: the leaves the migrations had then.
# Going back there also takes back refunds 0012 and ledger 0014 (history of
# configuration, which came after); vendors 0005 stays.
BEFORE = [
    ("ledger", "0012_issuer_profile_and_customer_address"),
    ("refunds", "0010_order_customer_address"),
    ("portal", "0007_refund_day_lock_order"),
]


def installed_triggers() -> set[tuple[str, str]]:
    """(table, trigger) of every trigger made by hand or by pgtrigger (not foreign keys')."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, t.tgname FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE NOT t.tgisinternal AND n.nspname = current_schema()
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
    assert "order_line_sku_trgm_idx" in indexes("refunds_orderline")
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


def policy_version_columns(*, add: bool) -> None:
    with connection.schema_editor() as editor:
        for model, name in ((ReasonPolicy, "version"), (RefundLine, "policy_version")):
            field = model._meta.get_field(name)
            if add:
                editor.add_field(model, field)
            else:
                editor.remove_field(model, field)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_migrating_from_before_gives_what_a_fresh_database_has(acme, bolt):
    fresh = (installed_triggers(), app_functions())
    order = make_order(number="TRIP-1", lines=[(acme, "MUG-01", 2, "20.00", "0.10")])
    open_case(order=order, lines=[LineRequest(order.lines.get().pk, "damaged", quantity=1)])

    content_type = ContentType.objects.get(app_label="refunds", model="refundday").pk

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    before = installed_triggers()
    # The content type row went back to portal, keeping its id (and its grants).
    assert ContentType.objects.filter(pk=content_type, app_label="portal").exists()
    # Portal's triggers on refunds' tables, as they were.
    assert ("refunds_refundcase", "portal_refundday_refundcase_updates") in before
    assert not any(name.startswith("refunds_refundday") for _, name in before)
    # Written under the old triggers, between the two migrations. The code stamps the
    # reason policy's version (refunds 0012, after the triggers): lend it the columns.
    policy_version_columns(add=True)
    cancel_case(case=order.refund_cases.get(), actor=None, reason="Round trip")
    second = make_order(
        number="TRIP-2",
        lines=[(acme, "MUG-01", 1, "20.00", "0.10"), (bolt, "TEE-01", 1, "50.00", "0.10")],
    )
    mug, tee = second.lines.order_by("sku")
    open_case(order=second, lines=[LineRequest(mug.pk, "damaged", quantity=1)])
    policy_version_columns(add=False)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert (installed_triggers(), app_functions()) == fresh
    assert ContentType.objects.filter(pk=content_type, app_label="refunds").exists()
    # The sums kept by the old triggers and then the new are the live rows' sums.
    assert kept() == expected()
    open_case(order=second, lines=[LineRequest(tee.pk, "goodwill", amount="5.00")])
    assert kept() == expected()


def test_ledger_sql_is_what_its_migrations_installed():
    """The ledger's current SQL is what 0002, 0005 and 0011 installed."""
    previous = (
        import_module("ledger.migrations.0002_ledger_invariants").INSTALL
        + import_module("ledger.migrations.0005_credit_notes_immutable").INSTALL
    )
    for trigger in ledger_triggers.TRIGGERS:
        assert " ".join(trigger.sql.split()) in " ".join(previous.split())
    full = import_module("ledger.migrations.0011_full_balance_check").FULL_CHECK
    assert body(ledger_triggers.CHECK_JOURNAL.sql) == body(full)
    assert body(ledger_triggers.REFUSE_CHANGE.sql) in previous


def renamed(sql: str) -> str:
    return sql.replace("portal_day(", "refunds_refundday_day(").replace(
        "portal_refundday_rank(", "refunds_refundday_rank("
    )


def test_refund_day_sql_is_portal_0007s_under_refunds_names():
    """The summary's triggers moved app, not behaviour: the same SQL but for names."""
    old = import_module("portal.migrations.0007_refund_day_lock_order")
    for table, (name, sql) in old.TABLES.items():
        new = refunds_triggers.SUMMARY_FUNCTIONS[table]
        assert renamed(sql).replace(f"{name}()", new.signature) == new.sql
        for event in old.REFERENCING:
            trigger = refunds_triggers.summary_trigger(table, event)
            assert trigger.sql == renamed(
                f"CREATE TRIGGER {old.trigger_name(table, event)} AFTER {event.upper()} ON "
                f"{table}\n    {old.REFERENCING[event]} FOR EACH STATEMENT EXECUTE FUNCTION "
                f"{name}();\n"
            ).replace(old.trigger_name(table, event), trigger.name).replace(
                f"{name}()", new.signature
            )
    assert renamed(old.INSTALL.split("$$")[1]) == body(refunds_triggers.RANK.sql)
    expected = import_module("portal.migrations.0003_refund_day_summary").EXPECTED
    assert " ".join(renamed(expected).split()) == " ".join(refunds_triggers.EXPECTED.split())
