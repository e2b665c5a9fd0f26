from django.db import migrations

# code, name, kind, role, payment method, bank account code (accounting system)
CHART = [
    ("1000", "Bank", "asset", "bank", "", "090"),
    ("1100", "Gateway clearing - card", "asset", "gateway_clearing", "card", "090"),
    ("1110", "Gateway clearing - PayPal", "asset", "gateway_clearing", "paypal", "091"),
    ("1120", "Gateway clearing - bank transfer", "asset", "gateway_clearing", "bank_transfer", "090"),
    ("1130", "Gateway clearing - wallet", "asset", "gateway_clearing", "wallet", "092"),
    ("2100", "Output tax payable", "liability", "output_tax", "", ""),
    ("4000", "Commission income", "income", "commission_income", "", ""),
    ("4100", "Shipping income", "income", "shipping_income", "", ""),
    ("5000", "Refund expense (platform-borne)", "expense", "refund_expense", "", ""),
]


def create(apps, schema_editor):
    Account = apps.get_model("ledger", "Account")
    for code, name, kind, role, method, bank in CHART:
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


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_ledger_invariants")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
