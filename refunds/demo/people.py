"""Demo people and reference data: staff, the admin and vendor portal logins,
vendors and channels upserted before the orders."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group

from vendors.models import Vendor, VendorMembership
from vendors.permissions import FINANCE_GROUP

from ..models import (
    Channel,
    ReasonPolicy,
)
from .catalogue import CHANNELS, STAFF, VENDORS, ChannelSpec, Product, VendorSpec
from .drafts import DemoError, Login

# ---------------------------------------------------------------- users


def _user(username: str, **defaults: Any) -> AbstractUser:
    user, _ = get_user_model().objects.get_or_create(username=username, defaults=defaults)
    return user


def _portal_user(username: str, seats: Sequence[tuple[Vendor, str]]) -> Login:
    password = secrets.token_urlsafe(12)
    user = _user(username, email=f"{username}@example.com")
    user.is_active = True
    user.is_staff = user.is_superuser = False
    user.set_password(password)
    user.save()
    for vendor, role in seats:
        VendorMembership.objects.update_or_create(user=user, vendor=vendor, defaults={"role": role})
    return Login(username, password, ", ".join(f"{v.code} ({role})" for v, role in seats))


def _staff_users() -> list[AbstractUser]:
    """Finance staff: in the Finance group (vendors.finance_group), no superusers."""
    finance = Group.objects.get(name=FINANCE_GROUP)
    users = []
    for username, first, last in STAFF:
        user = _user(username, first_name=first, last_name=last, email=f"{username}@example.com")
        if not (user.is_staff and user.is_active):
            user.is_staff = user.is_active = True
            user.save(update_fields=["is_staff", "is_active"])
        if not user.password:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        user.groups.add(finance)
        users.append(user)
    return users


# ---------------------------------------------------------------- reference data


@dataclass(frozen=True)
class _VendorEntry:
    pk: int
    code: str
    commission_rate: Decimal
    products: tuple[Product, ...]


@dataclass(frozen=True)
class _ChannelEntry:
    pk: int
    spec: ChannelSpec
    vendors: tuple[_VendorEntry, ...]


@dataclass(frozen=True)
class _Context:
    channels: tuple[_ChannelEntry, ...]
    policies: tuple[ReasonPolicy, ...]
    staff: tuple[tuple[int, str], ...]
    vendor_codes: dict[int, str]

    @classmethod
    def prepare(cls) -> _Context:
        vendors = [_upsert_vendor(spec) for spec in VENDORS]
        channels = []
        for spec in CHANNELS:
            channel, _ = Channel.objects.update_or_create(
                source=spec.source,
                subsource=spec.subsource,
                defaults={"payout_terms_days": spec.payout_terms_days},
            )
            sellers = tuple(
                v for v, s in zip(vendors, VENDORS, strict=True) if s.currency == spec.currency
            )
            channels.append(_ChannelEntry(channel.pk, spec, sellers))
        policies = tuple(ReasonPolicy.objects.filter(is_active=True).order_by("code"))
        if not policies:
            raise DemoError("There are no active reason policies: run the migrations first.")
        staff = tuple((u.pk, u.get_username()) for u in _staff_users())
        return cls(tuple(channels), policies, staff, {v.pk: v.code for v in vendors})


def _upsert_vendor(spec: VendorSpec) -> _VendorEntry:
    vendor, _ = Vendor.objects.update_or_create(
        code=spec.code,
        defaults={
            "name": spec.name,
            "currency": spec.currency,
            "commission_rate": spec.commission_rate,
            "payout_frequency": spec.payout_frequency,
            "payout_delay_days": spec.payout_delay_days,
            "email": f"payouts@{spec.code.lower()}.example.com",
            "is_active": True,
        },
    )
    return _VendorEntry(vendor.pk, spec.code, spec.commission_rate, spec.products)
