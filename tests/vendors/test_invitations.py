"""Vendor invitations: written with the seat, sent after commit, resent by the sweep."""

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from tests.factories import UserFactory
from vendors.models import VendorInvitation
from vendors.services import onboard_vendor_user, send_invitation
from vendors.tasks import RESEND_AFTER, resend_invitations

pytestmark = pytest.mark.django_db


class RefusingBackend(BaseEmailBackend):
    """The mail server at the edge of the world, refusing every message."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


REFUSING = f"{__name__}.RefusingBackend"


def test_it_records_the_invitation_with_the_seat_and_sends_it_on_commit(
    acme, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        onboard_vendor_user(vendor=acme, username="carol", email="carol@acme.example")

    invitation = VendorInvitation.objects.get(vendor=acme, user__username="carol")
    assert invitation.new_user is True
    assert invitation.sent_at is not None
    assert invitation.attempts == 1
    [message] = mail.outbox
    assert message.to == ["carol@acme.example"]
    assert "Choose your password here: http" in message.body


def test_an_existing_user_is_told_of_the_new_vendor(acme, django_capture_on_commit_callbacks):
    UserFactory(username="dave", email="dave@elsewhere.example")

    with django_capture_on_commit_callbacks(execute=True):
        onboard_vendor_user(vendor=acme, username="dave", email="ignored@acme.example")

    invitation = VendorInvitation.objects.get(user__username="dave")
    assert (invitation.new_user, invitation.email) == (False, "dave@elsewhere.example")
    [message] = mail.outbox
    assert message.to == ["dave@elsewhere.example"]
    assert "You now also have access to" in message.body


def test_a_refused_invitation_is_logged_kept_and_resent_by_the_sweep(
    acme, settings, caplog, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = REFUSING
    with django_capture_on_commit_callbacks(execute=True):
        onboard_vendor_user(vendor=acme, username="erin", email="erin@acme.example")

    invitation = VendorInvitation.objects.get(user__username="erin")
    assert invitation.sent_at is None
    assert invitation.attempts == 1
    assert "SMTPServerDisconnected" in invitation.last_error
    assert any(
        r.name == "vendors.services" and "not sent" in r.getMessage() for r in caplog.records
    )

    # The mail server is back; the sweep only takes invitations old enough that
    # their own task has had its chance.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert resend_invitations() == 0
    VendorInvitation.objects.filter(pk=invitation.pk).update(
        created_at=timezone.now() - RESEND_AFTER - timedelta(seconds=1)
    )
    assert resend_invitations() == 1

    invitation.refresh_from_db()
    assert invitation.sent_at is not None
    assert (invitation.attempts, invitation.last_error) == (2, "")
    assert [m.to for m in mail.outbox] == [["erin@acme.example"]]


def test_a_sent_invitation_is_never_sent_again(acme, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        onboard_vendor_user(vendor=acme, username="fred", email="fred@acme.example")
    invitation = VendorInvitation.objects.get(user__username="fred")
    VendorInvitation.objects.filter(pk=invitation.pk).update(
        created_at=timezone.now() - RESEND_AFTER * 2
    )

    assert send_invitation(invitation.pk) is False
    assert resend_invitations() == 0
    assert len(mail.outbox) == 1


def test_no_invitation_is_written_when_the_seat_is_refused(acme):
    UserFactory(username="gina")
    onboard_vendor_user(vendor=acme, username="gina", email="gina@acme.example")

    with pytest.raises(Exception, match="already a member"):
        onboard_vendor_user(vendor=acme, username="gina", email="gina@acme.example")

    assert VendorInvitation.objects.filter(user__username="gina").count() == 1
