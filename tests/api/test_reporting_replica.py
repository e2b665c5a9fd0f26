"""Read-only reports from a replica (lib.replica): with one configured, each
reporting endpoint reads its rows on the "replica" alias and writes nothing
there; without one, everything reads "default" and the replica is untouched.

The "replica" alias is a test mirror of the test database (config.settings.test),
a second connection to it: the tests are transactional, so what the fixtures
wrote is committed and the mirror sees it, as a real replica would, a moment later.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cash.services.periods import run_period
from ledger.credit_notes import issue_credit_notes
from lib.replica import DEFAULT, reading_db, reading_from_replica, reporting_db
from tests.factories import (
    PASSWORD,
    StaffFactory,
    complete_worked_refund,
    empty_statement,
    main_eur_bank_account,
)
from tests.portal.test_portal_support import logged_in
from vendors.models import Vendor

from .conftest import client_for

pytest_plugins = ["tests.portal.test_portal_support"]

pytestmark = [
    pytest.mark.django_db(
        transaction=True, serialized_rollback=True, databases=["default", "replica"]
    ),
    pytest.mark.postgres,
]

WRITE = re.compile(
    r"^\s*(INSERT|UPDATE|DELETE|TRUNCATE|CREATE|ALTER|DROP|COPY)\b|\bFOR (NO KEY )?UPDATE\b"
    r"|\bFOR (KEY )?SHARE\b",
    re.IGNORECASE,
)


@dataclass
class Read:
    status: int
    body: bytes
    primary: list[str]
    replica: list[str]

    def on(self, queries: list[str], table: str) -> bool:
        return any(f'"{table}"' in sql for sql in queries)


def measured(call: Callable[[], Any]) -> Read:
    """The response (its streamed body read too) and the SQL run on each alias."""
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        response = call()
        body = b"".join(response.streaming_content) if response.streaming else response.content
    return Read(
        response.status_code,
        body,
        [query["sql"] for query in primary.captured_queries],
        [query["sql"] for query in replica.captured_queries],
    )


@pytest.fixture(params=["replica", "default"])
def reporting(request, settings) -> str:
    """The reporting database: the replica configured, or not."""
    settings.REPORTING_DATABASE = request.param
    return request.param


@pytest.fixture
def books(worked_order, alice, vera):
    """A completed refund with its journals and credit notes, ACME's statement
    for this month, and a reconciliation period run for it."""
    today = timezone.localdate()
    case = complete_worked_refund(worked_order, alice)
    issue_credit_notes([case])
    acme = Vendor.objects.get(code="ACME")
    statement = empty_statement(
        acme, today.replace(day=1), today, cutoff=timezone.now() + timedelta(minutes=1)
    )
    bank = main_eur_bank_account()
    period = run_period(account=bank, month=today).period
    return {"today": today, "statement": statement, "period": period, "vera": vera}


def api_get(path: str, **query: str) -> Callable[[], Any]:
    def call():
        return client_for(StaffFactory(username="fiona")).get(path, query)

    return call


def admin_get(path: str, **query: str) -> Callable[[], Any]:
    def call():
        from django.test import Client

        client = Client()
        assert client.login(username="alice", password=PASSWORD)
        return client.get(path, query)

    return call


def endpoints(books) -> dict[str, tuple[Callable[[], Any], str]]:
    """name: (the request, a table its report reads)."""
    day = str(books["today"])
    statement = books["statement"].pk
    period = books["period"].pk
    return {
        "staff dashboard": (admin_get("/staff/"), "refunds_refundcase"),
        # Booked tax from the daily totals (ledger.detached).
        "tax report": (
            api_get("/api/v1/reports/tax/", date_from=day, date_to=day),
            "ledger_accountday",
        ),
        "accrued refunds": (
            api_get("/api/v1/reports/accrued-refunds/", at=day),
            "refunds_refundcase",
        ),
        # Balances from the daily totals (none owes the platform here).
        "vendor aging": (api_get("/api/v1/reports/vendor-aging/", at=day), "ledger_accountday"),
        "customer aging": (api_get("/api/v1/reports/customer-aging/", at=day), "ledger_entry"),
        "journals export": (
            api_get("/api/v1/exports/journals/", date_from=day, date_to=day),
            "ledger_entry",
        ),
        "xero credit notes export": (
            api_get("/api/v1/exports/xero-credit-notes/", date_from=day, date_to=day),
            "ledger_creditnote",
        ),
        "statement csv (API)": (
            api_get(f"/api/v1/settlement-statements/{statement}/csv/"),
            "ledger_entry",
        ),
        "statement pdf (API)": (
            api_get(f"/api/v1/settlement-statements/{statement}/pdf/", format="pdf"),
            "ledger_entry",
        ),
        "statement csv (portal)": (
            lambda: logged_in(books["vera"]).get(reverse("statements:csv", args=[statement])),
            "ledger_entry",
        ),
        "statement pdf (portal)": (
            lambda: logged_in(books["vera"]).get(reverse("statements:pdf", args=[statement])),
            "ledger_entry",
        ),
        "reconciliation csv": (
            admin_get(reverse("admin:cash_reconciliationperiod_csv", args=[period])),
            "cash_bankstatementline",
        ),
        "reconciliation pdf": (
            admin_get(reverse("admin:cash_reconciliationperiod_pdf", args=[period])),
            "cash_bankstatementline",
        ),
    }


ENDPOINTS = [
    "staff dashboard",
    "tax report",
    "accrued refunds",
    "vendor aging",
    "customer aging",
    "journals export",
    "xero credit notes export",
    "statement csv (API)",
    "statement pdf (API)",
    "statement csv (portal)",
    "statement pdf (portal)",
    "reconciliation csv",
    "reconciliation pdf",
]


@pytest.mark.parametrize("name", ENDPOINTS)
def test_each_report_reads_the_reporting_database_and_writes_only_default(books, reporting, name):
    call, table = endpoints(books)[name]

    read = measured(call)

    assert read.status == 200, read.body[:500]
    assert read.body
    assert not [sql for sql in read.replica if WRITE.search(sql)]
    if reporting == "replica":
        assert read.on(read.replica, table)
        assert not read.on(read.primary, table)
    else:
        assert read.replica == []
        assert read.on(read.primary, table)


def test_the_exported_rows_are_read_from_the_replica(books, settings):
    """The mirror sees the committed rows, so the export is not empty: what a
    replica shows once it has caught up."""
    settings.REPORTING_DATABASE = "replica"
    day = str(books["today"])

    read = measured(api_get("/api/v1/exports/journals/", date_from=day, date_to=day))

    assert read.on(read.replica, "ledger_entry")
    assert len(read.body.decode().splitlines()) > 1


def test_a_write_inside_the_block_goes_to_default_and_reads_after_it_too(settings, acme):
    settings.REPORTING_DATABASE = "replica"
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        with reading_from_replica():
            assert reading_db() == "replica"
            assert Vendor.objects.filter(code="ACME").exists()
            Vendor.objects.filter(code="ACME").update(name="Acme Mugs Ltd")
            Vendor.objects.get_or_create(code="CRAB", defaults={"name": "Crab Cups"})
            read_there = Vendor.objects.get(code="ACME")
            read_from = read_there._state.db
            read_there.name = "Acme Mugs GmbH"
            read_there.save()
        assert reading_db() == DEFAULT
        assert Vendor.objects.get(code="ACME").name == "Acme Mugs GmbH"

    replica_sql = [query["sql"] for query in replica.captured_queries]
    primary_sql = [query["sql"] for query in primary.captured_queries]
    assert replica_sql and not [sql for sql in replica_sql if WRITE.search(sql)]
    assert any(sql.startswith("UPDATE") for sql in primary_sql)
    assert any(sql.startswith("INSERT") for sql in primary_sql)
    # Read on the replica, saved on the primary, and bound to it from then on.
    assert (read_from, read_there._state.db) == ("replica", "default")


def test_without_a_replica_the_block_reads_default(settings, acme):
    settings.REPORTING_DATABASE = "default"
    with CaptureQueriesContext(connections["replica"]) as replica:
        with reading_from_replica():
            assert reporting_db() == reading_db() == DEFAULT
            assert Vendor.objects.filter(code="ACME").exists()
    assert replica.captured_queries == []


def test_a_reporting_alias_that_is_not_configured_reads_default(settings):
    settings.REPORTING_DATABASE = "nowhere"
    with reading_from_replica():
        assert reading_db() == DEFAULT
