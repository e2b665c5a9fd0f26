"""What a new installation starts with: the default reason policies.

Run by the migrations (refunds 0001_squashed) and by the test suite after a
flush (tests/conftest.py); `apps` is the migration's app registry or the real one.
"""

from decimal import Decimal
from typing import Any

# code, label, vendor share %, commission back to vendor, who bears shipping
DEFAULT_POLICIES = [
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


def create_default_policies(apps: Any) -> None:
    """Each default policy's history starts here, with its insert event."""
    _create(apps.get_model("refunds", "ReasonPolicy"))


def _create(ReasonPolicy: Any) -> None:
    for code, label, share, commission, shipping in DEFAULT_POLICIES:
        ReasonPolicy.objects.get_or_create(
            code=code,
            defaults={
                "label": label,
                "vendor_share_percent": Decimal(share),
                "refund_commission_to_vendor": commission,
                "shipping_bearer": shipping,
            },
        )
