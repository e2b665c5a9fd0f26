"""The Finance group (migration vendors 0003): what finance staff are given."""

from django.contrib.auth.models import Group

from tests.factories import FinanceStaffFactory
from vendors.permissions import FINANCE_GROUP


def test_finance_staff_may_work_cases_and_read_the_ledger_but_delete_nothing(db):
    user = FinanceStaffFactory(username="farid")
    assert not user.is_superuser
    for permission in (
        "refunds.add_order",
        "refunds.add_refundcase",
        "refunds.change_refundcase",
        "vendors.add_vendor",
        "vendors.add_vendormembership",
        "ledger.view_journal",
        "ledger.add_settlementstatement",
        "ledger.view_invoice",
        "ledger.view_taxcode",
        "api.view_apitoken",
        "webhooks.view_webhookdelivery",
    ):
        assert user.has_perm(permission), permission
    codenames = set(
        Group.objects.get(name=FINANCE_GROUP).permissions.values_list("codename", flat=True)
    )
    assert not {c for c in codenames if c.startswith("delete_")}
    # A key acts as its user: who may make keys is a superuser's decision.
    assert not user.has_perm("api.add_apitoken")
