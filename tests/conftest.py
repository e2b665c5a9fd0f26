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


@pytest.fixture(scope="session", autouse=True)
def _snapshot_restored_as_it_was():
    """A transactional test's database is put back from its saved snapshot
    (serialized_rollback) with the triggers off, as a restore should be: the
    history triggers would otherwise write events for the restored rows on top
    of the snapshot's own, and the append-only guard refuses the clash.
    Setting session_replication_role needs a superuser role (the suite's
    default `postgres` is one)."""
    from django.db.backends.base.creation import BaseDatabaseCreation

    original = BaseDatabaseCreation.deserialize_db_from_string

    def deserialize_db_from_string(self, data):
        if self.connection.vendor != "postgresql":
            return original(self, data)
        with self.connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            return original(self, data)
        finally:
            with self.connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")

    BaseDatabaseCreation.deserialize_db_from_string = deserialize_db_from_string
    yield
    BaseDatabaseCreation.deserialize_db_from_string = original


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
    """Put back the reason codes, the default chart and the Finance group if a
    flush removed them: the same functions the migrations run."""
    from django.apps import apps
    from django.contrib.auth.models import Group

    from cash.seed import grant_finance as grant_cash
    from cash.seed import grant_receivables, grant_reconciliation
    from ledger.models import Account
    from ledger.seed import create_default_chart, grant_period_permissions
    from refunds.models import ReasonPolicy
    from refunds.seed import create_default_policies
    from vendors.finance_group import create_finance_group
    from vendors.permissions import FINANCE_GROUP

    if not ReasonPolicy.objects.exists():
        create_default_policies(apps)
    if not Account.objects.exists():
        create_default_chart(apps)
    if not Group.objects.filter(name=FINANCE_GROUP).exists():
        create_finance_group(apps)
        grant_period_permissions(apps)
        grant_cash(apps)
        grant_receivables(apps)
        grant_reconciliation(apps)


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
