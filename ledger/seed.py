"""What a new installation starts with: the default chart of accounts, and the
Finance group's permissions on accounting periods.

Run by the migrations (ledger 0001_squashed, 0002_finance_periods) and by the
test suite after a flush (tests/conftest.py); `apps` is the migration's app
registry or the real one.
"""

from typing import Any

from vendors.finance_group import grant_to_finance

# code, name, kind, role, payment method, bank account code (accounting system)
FIRST_CHART = [
    ("1000", "Bank", "asset", "bank", "", "090"),
    ("1100", "Gateway clearing - card", "asset", "gateway_clearing", "card", "090"),
    ("1110", "Gateway clearing - PayPal", "asset", "gateway_clearing", "paypal", "091"),
    (
        "1120",
        "Gateway clearing - bank transfer",
        "asset",
        "gateway_clearing",
        "bank_transfer",
        "090",
    ),
    ("1130", "Gateway clearing - wallet", "asset", "gateway_clearing", "wallet", "092"),
    ("2100", "Output tax payable", "liability", "output_tax", "", ""),
    ("4000", "Commission income", "income", "commission_income", "", ""),
    ("4100", "Shipping income", "income", "shipping_income", "", ""),
    ("5000", "Refund expense (platform-borne)", "expense", "refund_expense", "", ""),
]


# The platform's part of a refund is consideration paid to the customer
# (IFRS 15.70-72, ASC 606): a contra-revenue account, not an expense.
ALLOWANCES = {
    "role": "refunds_and_allowances",
    "kind": "income",
    "name": "Refunds and allowances (contra-revenue)",
}

# code, name, kind, role: the accounts the chart gains (skipped when an
# account already has the role or the code).
NEW_ACCOUNTS = [
    ("1200", "Carrier claims receivable", "asset", "carrier_claims"),
    ("1300", "Payment-provider reserve", "asset", "provider_reserve"),
    ("1900", "Suspense", "asset", "suspense"),
    ("6000", "Payment-provider fees", "expense", "provider_fees"),
    ("6100", "Chargebacks", "expense", "chargebacks"),
]


def _complete_chart(apps: Any) -> None:
    """Refund expense becomes refunds and allowances; the new accounts; each
    clearing account settles to the bank. Repeatable (tests/conftest.py runs
    it again after a flush)."""
    Account = apps.get_model("ledger", "Account")
    Account.objects.filter(role="refund_expense").update(**ALLOWANCES)
    for code, name, kind, role in NEW_ACCOUNTS:
        if Account.objects.filter(role=role).exists() or Account.objects.filter(code=code).exists():
            continue
        Account.objects.create(code=code, name=name, kind=kind, role=role)
    bank = Account.objects.filter(role="bank").order_by("code").first()
    if bank is not None:
        Account.objects.filter(role="gateway_clearing", settles_to__isnull=True).update(
            settles_to=bank
        )


def create_default_chart(apps: Any) -> None:
    """The chart's first accounts, then what the tax model added (idempotent);
    each account's history starts here, with its insert event."""
    _create_chart(apps)


def _create_chart(apps: Any) -> None:
    Account = apps.get_model("ledger", "Account")
    for code, name, kind, role, method, bank in FIRST_CHART:
        Account.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "role": role,
                "payment_method": method,
                "bank_account_code": bank,
            },
        )
    _complete_chart(apps)


# Finance staff view, close and reopen periods (add/change do not say that).
PERIOD_GRANTS = (
    ("ledger", "accountingperiod", ("view", "close", "reopen")),
    ("ledger", "periodevent", ("view",)),
)


def grant_period_permissions(apps: Any) -> None:
    """Finance staff view, close and reopen periods (add/change do not say that)."""
    grant_to_finance(apps, PERIOD_GRANTS)
