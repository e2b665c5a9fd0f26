"""Onboarding vendors and their users."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from lib.links import link_to
from lib.money import CURRENCY_EXPONENTS

from .errors import VendorError
from .models import PayoutFrequency, Vendor, VendorMembership, VendorRole


def create_vendor(
    *,
    code: Any,
    name: Any,
    currency: Any = "EUR",
    commission_rate: Any = "0.1",
    payout_frequency: Any = PayoutFrequency.MONTHLY,
    payout_delay_days: Any = 7,
    email: Any = "",
) -> Vendor:
    code = str(code or "").strip()
    if not code or len(code) > 32 or not code.replace("-", "").replace("_", "").isalnum():
        raise VendorError("code", "Use 1-32 letters, digits, - or _.", code="invalid")
    name = str(name or "").strip()
    if not name or len(name) > 200:
        raise VendorError("name", "A name of 1-200 characters is required.", code="required")
    currency = str(currency or "").upper()
    if currency not in CURRENCY_EXPONENTS:
        raise VendorError("currency", f"{currency!r} is not a supported ISO 4217 currency.")
    if isinstance(commission_rate, float):
        raise VendorError("commission_rate", 'Give the rate as a string, e.g. "0.1000".')
    try:
        rate = Decimal(str(commission_rate))
    except InvalidOperation:
        raise VendorError("commission_rate", "Not a number.") from None
    if not rate.is_finite() or not 0 <= rate <= 1 or rate != rate.quantize(Decimal("0.0001")):
        raise VendorError("commission_rate", "A fraction between 0 and 1 with at most 4 decimals.")
    if payout_frequency not in PayoutFrequency.values:
        raise VendorError("payout_frequency", f"One of {', '.join(PayoutFrequency.values)}.")
    try:
        delay = int(payout_delay_days)
    except (TypeError, ValueError):
        raise VendorError("payout_delay_days", "A whole number of days.") from None
    if not 0 <= delay <= 365:
        raise VendorError("payout_delay_days", "Between 0 and 365 days.")
    try:
        with transaction.atomic():
            return Vendor.objects.create(
                code=code,
                name=name,
                currency=currency,
                commission_rate=rate,
                payout_frequency=payout_frequency,
                payout_delay_days=delay,
                email=str(email or "")[:254],
            )
    except IntegrityError:
        raise VendorError("code", f"Vendor {code} already exists.", code="duplicate") from None


def onboard_vendor_user(
    *, vendor: Vendor, username: Any, email: Any, role: Any = VendorRole.VIEWER
) -> VendorMembership:
    """Give a person a seat at a vendor and invite them to the portal.

    A new user gets no usable password: the invitation carries a link to set
    one. An existing user keeps theirs and is told of the new vendor.
    """
    username = str(username or "").strip()
    email = str(email or "").strip()
    if not username or len(username) > 150:
        raise VendorError("username", "A username of 1-150 characters is required.")
    if "@" not in email or len(email) > 254:
        raise VendorError("email", "A valid email address is required.")
    if role not in VendorRole.values:
        raise VendorError("role", f"One of {', '.join(VendorRole.values)}.")
    User = get_user_model()
    with transaction.atomic():
        user, created = User.objects.get_or_create(username=username, defaults={"email": email})
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        membership, made = VendorMembership.objects.get_or_create(
            user=user, vendor=vendor, defaults={"role": role}
        )
        if not made:
            raise VendorError(
                "username", f"{username} is already a member of {vendor.code}.", code="duplicate"
            )
        transaction.on_commit(lambda: _invite(user, vendor, new_user=created))
    return membership


def _invite(user, vendor: Vendor, *, new_user: bool) -> None:
    if new_user:
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        link = link_to("portal:password_reset_confirm", uid, token)
        body = (
            f"You have been invited to the Splitledger vendor portal for {vendor.name}.\n\n"
            f"Choose your password here: {link}\n\nYour username is {user.get_username()}."
        )
    else:
        portal = link_to("portal:dashboard")
        body = f"You now also have access to {vendor.name} in the vendor portal: {portal}"
    send_mail(
        f"Splitledger vendor portal: {vendor.name}",
        body,
        settings.DEFAULT_FROM_EMAIL,
        [user.email],
        fail_silently=True,
    )
