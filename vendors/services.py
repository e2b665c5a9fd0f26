"""Onboarding vendors and their users."""

from __future__ import annotations

import logging
import re
import smtplib
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from lib.links import link_to
from lib.money import CURRENCY_EXPONENTS

from .errors import VendorError
from .models import (
    PayoutFrequency,
    TaxModel,
    Vendor,
    VendorInvitation,
    VendorMembership,
    VendorRole,
)

logger = logging.getLogger(__name__)

# A vendor's code names it in URLs (/api/v1/vendors/<code>/, the portal): ASCII
# letters, digits, - and _ only, so that every client can address it as typed.
VENDOR_CODE_PATTERN = r"^[A-Za-z0-9_-]{1,32}\Z"


@dataclass(frozen=True)
class VendorTerms:
    """A vendor's fields as the rules accept them (see parse_vendor_terms)."""

    code: str
    name: str
    currency: str
    commission_rate: Decimal
    payout_frequency: str
    payout_delay_days: int
    email: str
    tax_model: str


def parse_vendor_terms(
    *,
    code: Any,
    name: Any,
    currency: Any = "EUR",
    commission_rate: Any = "0.1",
    payout_frequency: Any = PayoutFrequency.MONTHLY,
    payout_delay_days: Any = 7,
    email: Any = "",
    tax_model: Any = "",
) -> VendorTerms:
    """The vendor rules, without writing anything: forms ask them before saving."""
    code = str(code or "").strip()
    if not re.match(VENDOR_CODE_PATTERN, code):
        raise VendorError("code", "Use 1-32 letters A-Z or a-z, digits, - or _.", code="invalid")
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
    tax_model = str(tax_model or "")
    if tax_model not in ("", *TaxModel.values):
        raise VendorError(
            "tax_model",
            f"One of {', '.join(TaxModel.values)}, or blank for the channel's tax model.",
        )
    return VendorTerms(
        code=code,
        name=name,
        currency=currency,
        commission_rate=rate,
        payout_frequency=payout_frequency,
        payout_delay_days=delay,
        email=str(email or "")[:254],
        tax_model=tax_model,
    )


def create_vendor(*, is_active: bool = True, **fields: Any) -> Vendor:
    """A new vendor, on terms parse_vendor_terms accepts (same keyword arguments)."""
    terms = parse_vendor_terms(**fields)
    try:
        with transaction.atomic():
            return Vendor.objects.create(**asdict(terms), is_active=is_active)
    except IntegrityError:
        raise VendorError(
            "code", f"Vendor {terms.code} already exists.", code="duplicate"
        ) from None


def parse_invitee(*, username: Any, email: Any, role: Any) -> tuple[str, str]:
    """The rules for a new seat, without writing anything: (username, email)."""
    username = str(username or "").strip()
    email = str(email or "").strip()
    if not username or len(username) > 150:
        raise VendorError("username", "A username of 1-150 characters is required.")
    if "@" not in email or len(email) > 254:
        raise VendorError("email", "A valid email address is required.")
    if role not in VendorRole.values:
        raise VendorError("role", f"One of {', '.join(VendorRole.values)}.")
    return username, email


def onboard_vendor_user(
    *, vendor: Vendor, username: Any, email: Any, role: Any = VendorRole.VIEWER
) -> VendorMembership:
    """Give a person a seat at a vendor and invite them to the portal.

    A new user gets no usable password: the invitation carries a link to set
    one. An existing user keeps theirs and is told of the new vendor.
    """
    username, email = parse_invitee(username=username, email=email, role=role)
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
        invitation = VendorInvitation.objects.create(
            vendor=vendor, user=user, new_user=created, email=user.email or email
        )
        # Imported here: the task module imports this one.
        from .tasks import queue_invitation

        transaction.on_commit(lambda: queue_invitation(invitation.pk))
    return membership


def send_invitation(invitation_id: int) -> bool:
    """Email one invitation unless it is sent already; True when this call sent it.

    The row is claimed (locked, skipping one another worker holds) while the
    mail server is asked, so the on-commit task and the sweep never both send.
    A refusal is logged and kept on the row (attempts, last_error) for the sweep.
    """
    with transaction.atomic():
        invitation = (
            VendorInvitation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("vendor", "user")
            .filter(pk=invitation_id, sent_at__isnull=True)
            .first()
        )
        if invitation is None:
            return False
        now = timezone.now()
        invitation.attempts += 1
        invitation.last_attempt_at = now
        try:
            send_mail(
                f"Splitledger vendor portal: {invitation.vendor.name}",
                invitation_body(invitation),
                settings.DEFAULT_FROM_EMAIL,
                [invitation.email],
            )
        except (smtplib.SMTPException, OSError) as error:
            logger.exception("vendor invitation %s to %s not sent", invitation.pk, invitation.email)
            invitation.last_error = f"{type(error).__name__}: {error}"[:2000]
            invitation.save(update_fields=["attempts", "last_attempt_at", "last_error"])
            return False
        invitation.sent_at = now
        invitation.last_error = ""
        invitation.save(update_fields=["attempts", "last_attempt_at", "last_error", "sent_at"])
        return True


def invitation_body(invitation: VendorInvitation) -> str:
    user, vendor = invitation.user, invitation.vendor
    if invitation.new_user:
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        link = link_to("portal:password_reset_confirm", uid, token)
        return (
            f"You have been invited to the Splitledger vendor portal for {vendor.name}.\n\n"
            f"Choose your password here: {link}\n\nYour username is {user.get_username()}."
        )
    portal = link_to("portal:dashboard")
    return f"You now also have access to {vendor.name} in the vendor portal: {portal}"
