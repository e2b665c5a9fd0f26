from decimal import Decimal

from django.db import migrations

# code, label, vendor share %, commission back to vendor, who bears shipping
DEFAULTS = [
    ("damaged", "Arrived damaged", 100, True, "vendor"),
    ("defective", "Defective", 100, True, "vendor"),
    ("wrong_item", "Wrong item sent", 100, True, "vendor"),
    ("not_as_described", "Not as described", 100, True, "vendor"),
    ("missing_item", "Item missing from parcel", 100, True, "vendor"),
    ("customer_remorse", "Customer changed their mind", 100, False, "platform"),
    ("late_delivery", "Late delivery", 0, False, "platform"),
    ("shipping_damage", "Damaged in shipping", 0, False, "platform"),
    ("goodwill", "Goodwill gesture", 0, False, "platform"),
]


def create(apps, schema_editor):
    ReasonPolicy = apps.get_model("refunds", "ReasonPolicy")
    for code, label, share, commission, shipping in DEFAULTS:
        ReasonPolicy.objects.get_or_create(
            code=code,
            defaults={
                "label": label,
                "vendor_share_percent": Decimal(share),
                "refund_commission_to_vendor": commission,
                "shipping_bearer": shipping,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("refunds", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
