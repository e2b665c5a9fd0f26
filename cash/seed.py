"""The Finance group's permissions on the cash side's models.

Run by the migrations (cash 0002_finance, 0003_receivables,
0004_reconciliation_periods) and by the test suite after a flush
(tests/conftest.py); `apps` is the migration's app registry or the real one.
Each grants a table of (app label, model, actions) with
vendors.finance_group.grant_to_finance.
"""

from typing import Any

from vendors.finance_group import EDIT, grant_to_finance

FINANCE_MODELS = (
    "payoutprovider",
    "payoutmapping",
    "payoutreport",
    "payoutreportrow",
    "payoutexception",
)

# Receivables and their allocations: read, and allocate payouts.
RECEIVABLE_MODELS = ("receivable", "receivableallocation")

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


def grant_finance(apps: Any) -> None:
    """Give the Finance group (if there is one) the payout models' permissions."""
    grant_to_finance(apps, [("cash", model, EDIT) for model in FINANCE_MODELS])


def grant_receivables(apps: Any) -> None:
    """The Finance group reads receivables and their allocations and may
    allocate payouts."""
    grant_to_finance(apps, [("cash", model, ("view", "add")) for model in RECEIVABLE_MODELS])


def grant_reconciliation(apps: Any) -> None:
    """Give the Finance group (if there is one) the bank side's and the
    reconciliation's permissions."""
    grant_to_finance(apps, [("cash", model, EDIT) for model in RECONCILIATION_MODELS])
