import os
from decimal import Decimal

import pytest

from refunds.services.cases import open_case
from tests.factories import PASSWORD, StaffFactory, VendorFactory, make_order, worked_refund_lines

# The ledger auditor runs after the whole suite: tests/audit_plugin.py, loaded
# with -p from pyproject.toml.


def pytest_collection_modifyitems(config, items):
    # A transactional test that flushes without serialized_rollback re-creates the
    # content types with new ids; the next serialized test then cannot load its data.
    for item in items:
        marker = item.get_closest_marker("django_db")
        transactional = "transactional_db" in getattr(item, "fixturenames", ()) or (
            marker is not None and marker.kwargs.get("transaction")
        )
        if transactional and not (marker and marker.kwargs.get("serialized_rollback")):
            raise pytest.UsageError(
                f"{item.nodeid}: use @pytest.mark.django_db(transaction=True, "
                "serialized_rollback=True) for a transactional test"
            )
    # Tests marked `postgres` need row locks and triggers that SQLite lacks.
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" in engine:
        return
    if os.environ.get("CI"):
        raise pytest.UsageError("CI must run the suite on PostgreSQL; set DATABASE_URL.")
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    # No test may be silently skipped in CI.
    if os.environ.get("CI") and terminalreporter.stats.get("skipped"):
        terminalreporter.write_line("CI: skipped tests are not allowed", red=True)
        terminalreporter._session.exitstatus = 1


@pytest.fixture(autouse=True)
def _seeded_defaults(request, _django_db_marker):
    """Reason codes and the default chart come from data migrations, and a
    transactional test's flush removes them for every test after it."""
    uses_db = request.node.get_closest_marker("django_db") or {
        "db",
        "transactional_db",
    } & set(request.fixturenames)
    if not uses_db:
        return
    for name in ("transactional_db", "db"):
        if name in request.fixturenames:
            request.getfixturevalue(name)
            break
    seed_defaults()


def seed_defaults() -> None:
    """Put back the reason codes and the default chart if a flush removed them."""
    from importlib import import_module

    from django.apps import apps
    from django.contrib.auth.models import Group

    from ledger.models import Account
    from refunds.models import ReasonPolicy
    from vendors.permissions import FINANCE_GROUP

    if not ReasonPolicy.objects.exists():
        import_module("refunds.migrations.0002_default_reason_policies").create(apps, None)
    if not Account.objects.exists():
        import_module("ledger.migrations.0003_default_chart").create(apps, None)
        import_module("ledger.migrations.0017_chart_for_tax_models").update_chart(apps, None)
    if not Group.objects.filter(name=FINANCE_GROUP).exists():
        import_module("vendors.migrations.0003_finance_group").create(apps, None)
        import_module("ledger.migrations.0018_accounting_periods").grant_finance(apps, None)
        import_module("cash.migrations.0002_payout_reports").grant_finance(apps, None)
        import_module("cash.migrations.0003_reconciliation_periods").grant_finance(apps, None)


@pytest.fixture
def acme(db):
    return VendorFactory(code="ACME", name="Acme Mugs", commission_rate=Decimal("0.1000"))


@pytest.fixture
def bolt(db):
    return VendorFactory(code="BOLT", name="Bolt Tees", commission_rate=Decimal("0.1500"))


@pytest.fixture
def alice(db):
    """Finance staff."""
    return StaffFactory(username="alice")


@pytest.fixture
def staff(client, alice):
    """The test client, logged in as alice (staff)."""
    assert client.login(username="alice", password=PASSWORD)
    return client


@pytest.fixture
def worked_order(acme, bolt):
    """DESIGN's worked example: ORD-1001, EUR, tax 10%, shipping 10.00 untaxed, card."""
    return make_order(
        number="ORD-1001",
        shipping="10.00",
        lines=[
            (acme, "MUG-01", 2, "20.00", "0.10"),
            (bolt, "TEE-01", 1, "50.00", "0.10"),
        ],
    )


@pytest.fixture
def worked_case(worked_order, alice):
    """ORD-1001's worked refund, opened by alice: one mug (damaged) and 5.50 on
    the tee (late delivery), 27.50 EUR. ACME's part: net 20.00, of which it bears
    18.00 (the platform 2.00, its commission given back)."""
    return open_case(order=worked_order, lines=worked_refund_lines(worked_order), actor=alice)
