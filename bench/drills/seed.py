"""What both drills put in their database before the load, and the bodies they send."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

STAFF_USERNAME = "drill-staff"
STAFF_PASSWORD = "drill-staff-password-1"  # a private throwaway database
VENDOR_PASSWORD = "drill-vendor-password-1"


@dataclass(frozen=True)
class Seeded:
    key: str  # the staff API key
    vendors: list[str]  # vendor codes
    vendor_users: dict[str, str]  # vendor code -> username (password VENDOR_PASSWORD)


def seed(vendors: int, *, vendor_users: bool = False) -> Seeded:
    """A staff superuser with an API key, `vendors` vendors and (optionally) an
    owner login per vendor for the portal."""
    from django.contrib.auth import get_user_model

    from api.tokens import create_token
    from vendors.models import VendorMembership, VendorRole
    from vendors.services import create_vendor

    user_model = get_user_model()
    staff = user_model.objects.create_superuser(
        STAFF_USERNAME, "staff@drill.invalid", STAFF_PASSWORD
    )
    _, key = create_token(user=staff, name="drill")
    codes = []
    users = {}
    for index in range(vendors):
        code = f"V{index:02d}"
        vendor = create_vendor(
            code=code,
            name=f"Drill vendor {index:02d}",
            commission_rate="0.10" if index % 2 else "0.15",
        )
        codes.append(code)
        if vendor_users:
            username = f"owner-{code.lower()}"
            user = user_model.objects.create_user(
                username, f"{username}@drill.invalid", VENDOR_PASSWORD
            )
            VendorMembership.objects.create(user=user, vendor=vendor, role=VendorRole.OWNER)
            users[code] = username
    return Seeded(key, codes, users)


def order_body(number: str, index: int, vendors: list[str]) -> dict:
    """A paid order of two lines (two vendors), tax 10 %, shipping 5.00."""
    first = vendors[index % len(vendors)]
    second = vendors[(index + 1) % len(vendors)]
    price_a = Decimal(20 + index % 7)
    price_b = Decimal(50 + index % 11)
    net = 2 * price_a + price_b
    total = net + net / 10 + Decimal("5.00")
    return {
        "number": number,
        "currency": "EUR",
        "channel": {"source": "web", "subsource": "drill"},
        "payment": {"method": "card", "amount": f"{total:.2f}", "reference": f"ch_{number}"},
        "shipping_amount": "5.00",
        "customer_name": "Drill Customer",
        "lines": [
            {
                "vendor": first,
                "sku": f"SKU-{first}-{index % 13}",
                "quantity": 2,
                "unit_price": f"{price_a:.2f}",
                "tax_rate": "0.10",
            },
            {
                "vendor": second,
                "sku": f"SKU-{second}-{index % 17}",
                "quantity": 1,
                "unit_price": f"{price_b:.2f}",
                "tax_rate": "0.10",
            },
        ],
    }


def case_body(number: str, order: dict, note: str) -> dict:
    """One unit of the order's first line, damaged."""
    return {
        "order": number,
        "lines": [{"order_line": order["lines"][0]["id"], "quantity": 1, "reason": "damaged"}],
        "note": note,
    }
