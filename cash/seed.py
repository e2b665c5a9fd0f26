"""The Finance group's permissions on the cash side's models.

Run by the migrations (cash 0002_finance) and by the test suite after a flush
(tests/conftest.py); `apps` is the migration's app registry or the real one.
"""

from typing import Any

from django.contrib.auth.management import create_permissions

FINANCE_MODELS = (
    "payoutprovider",
    "payoutmapping",
    "payoutreport",
    "payoutreportrow",
    "payoutexception",
)


def grant_finance(apps: Any) -> None:
    """Give the Finance group (if there is one) the payout models' permissions."""
    app_config = apps.get_app_config("cash")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    group = apps.get_model("auth", "Group").objects.filter(name="Finance").first()
    if group is None:
        return
    Permission = apps.get_model("auth", "Permission")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="cash",
            content_type__model__in=FINANCE_MODELS,
            codename__regex=r"^(view|add|change)_",
        )
    )


def grant_receivables(apps: Any) -> None:
    """The Finance group reads receivables and their allocations and may
    allocate payouts."""
    app_config = apps.get_app_config("cash")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    group = apps.get_model("auth", "Group").objects.filter(name="Finance").first()
    if group is None:
        return
    Permission = apps.get_model("auth", "Permission")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="cash",
            content_type__model__in=["receivable", "receivableallocation"],
            codename__regex=r"^(view|add)_",
        )
    )


# The bank side and reconciliation: view, add and change, never delete.
RECONCILIATION_MODELS = (
    "bankaccount",
    "bankstatement",
    "bankstatementline",
    "openitem",
    "suggestion",
    "allocation",
    "reconciliationrun",
    "reconciliationperiod",
    "periodreopening",
    "writeoffrequest",
)


def grant_reconciliation(apps: Any) -> None:
    """Give the Finance group (if there is one) the bank side's and the
    reconciliation's permissions."""
    app_config = apps.get_app_config("cash")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    group = apps.get_model("auth", "Group").objects.filter(name="Finance").first()
    if group is None:
        return
    Permission = apps.get_model("auth", "Permission")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="cash",
            content_type__model__in=RECONCILIATION_MODELS,
            codename__regex=r"^(view|add|change)_",
        )
    )
