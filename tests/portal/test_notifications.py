"""Vendors are told of every case that touches them, once per event."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from portal import notifications, tasks
from portal.models import Notification
from refunds import outbox
from refunds.services.cases import LineRequest, approve_case, open_case
from tests.factories import worked_refund_lines


def test_each_vendor_of_a_case_is_notified_with_its_breakdown(
    worked_order, acme, bolt, alice, django_capture_on_commit_callbacks
):
    acme.email = "finance@acme.example"
    acme.save()
    case = open_case(
        order=worked_order,
        lines=worked_refund_lines(worked_order),
    )
    with django_capture_on_commit_callbacks(execute=True):
        outbox.drain("notifications")

    acme_note = Notification.objects.get(vendor=acme)
    assert case.case_id in acme_note.subject
    assert "Borne by you: 18.00 EUR" in acme_note.body
    assert "commission given back to you: 2.00 EUR" in acme_note.body
    bolt_note = Notification.objects.get(vendor=bolt)
    assert "Borne by you: 0.00 EUR" in bolt_note.body
    # Only ACME has an address; BOLT reads it in the portal inbox.
    assert [m.to for m in mail.outbox] == [["finance@acme.example"]]
    assert case.case_id in mail.outbox[0].subject
    acme_note.refresh_from_db()
    assert acme_note.emailed_at is not None


def test_a_redelivered_event_notifies_once(worked_order, acme, alice):
    mug, _ = worked_order.lines.order_by("sku")
    case = open_case(order=worked_order, lines=[LineRequest(mug.pk, "damaged", quantity=1)])
    approve_case(case=case, actor=alice)
    outbox.drain("notifications")
    for event in case.events.all():
        outbox.emit("case.status_changed", case=case, event=event)
    outbox.drain("notifications")
    assert Notification.objects.filter(vendor=acme).count() == 2
    assert set(Notification.objects.values_list("subject", flat=True)) == {
        f"Refund case {case.case_id} opened on order ORD-1001",
        f"Refund case {case.case_id} is now approved",
    }


def test_members_who_turned_email_off_are_not_emailed(
    worked_order, acme, django_capture_on_commit_callbacks
):
    from tests.factories import MembershipFactory, UserFactory

    MembershipFactory(vendor=acme, user=UserFactory(username="vera", email="vera@acme.example"))
    MembershipFactory(
        vendor=acme,
        user=UserFactory(username="quiet", email="quiet@acme.example"),
        email_notifications=False,
    )
    mug, _ = worked_order.lines.order_by("sku")
    open_case(order=worked_order, lines=[LineRequest(mug.pk, "damaged", quantity=1)])
    with django_capture_on_commit_callbacks(execute=True):
        outbox.drain("notifications")
    assert [m.to for m in mail.outbox] == [["vera@acme.example"]]


def test_emails_missed_when_queued_are_sent_by_the_sweep(worked_order, acme, monkeypatch):
    """The broker was down when the notification was made: the inbox has it, and
    the periodic sweep emails it later, once; an old one is left alone."""
    acme.email = "finance@acme.example"
    acme.save()
    monkeypatch.setattr(notifications.outbox, "publish", lambda task, args: False)
    mug, _ = worked_order.lines.order_by("sku")
    open_case(order=worked_order, lines=[LineRequest(mug.pk, "damaged", quantity=1)])
    outbox.drain("notifications")
    missed = Notification.objects.get(vendor=acme)
    assert missed.emailed_at is None and mail.outbox == []

    monkeypatch.undo()  # the broker is back
    assert tasks.resend_missed_emails() == 0  # too recent: its own task may still run
    now = timezone.now()
    Notification.objects.filter(pk=missed.pk).update(created_at=now - timedelta(minutes=6))
    assert tasks.resend_missed_emails() == 1  # eager in tests: sent now

    assert [m.to for m in mail.outbox] == [["finance@acme.example"]]
    missed.refresh_from_db()
    assert missed.emailed_at is not None
    assert tasks.resend_missed_emails() == 0

    # Days later an email about it helps nobody: the inbox has it.
    Notification.objects.filter(pk=missed.pk).update(
        emailed_at=None, created_at=now - timedelta(days=4)
    )
    assert tasks.resend_missed_emails() == 0


def test_one_email_that_fails_does_not_hold_back_the_others(worked_order, acme, monkeypatch):
    acme.email = "finance@acme.example"
    acme.save()
    monkeypatch.setattr(notifications.outbox, "publish", lambda task, args: False)
    mug, _ = worked_order.lines.order_by("sku")
    first = open_case(order=worked_order, lines=[LineRequest(mug.pk, "damaged", quantity=1)])
    second = open_case(order=worked_order, lines=[LineRequest(mug.pk, "damaged", quantity=1)])
    outbox.drain("notifications")
    monkeypatch.undo()
    ids = [Notification.objects.get(case=case).pk for case in (first, second)]
    real_send = notifications.send_mail

    def send(subject, *args, **kwargs):
        if first.case_id in subject:
            raise ConnectionRefusedError("SMTP refused")
        return real_send(subject, *args, **kwargs)

    monkeypatch.setattr(notifications, "send_mail", send)
    with pytest.raises(tasks.EmailsFailed, match="SMTP refused"):
        tasks.email_notifications.run(ids)

    assert [second.case_id in m.subject for m in mail.outbox] == [True]
    failed = Notification.objects.get(pk=ids[0])
    assert (failed.emailed_at, failed.email_attempts) == (None, 1)
    assert "SMTP refused" in failed.email_error
    # After MAX_EMAIL_ATTEMPTS failures the sweep leaves it to the inbox.
    Notification.objects.filter(pk=ids[0]).update(email_attempts=tasks.MAX_EMAIL_ATTEMPTS)
    Notification.objects.filter(pk=ids[0]).update(created_at=timezone.now() - timedelta(minutes=10))
    assert tasks.resend_missed_emails() == 0
