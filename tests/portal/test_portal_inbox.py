"""The vendor's inbox: its notifications, unread count, marking read."""

from __future__ import annotations

from django.urls import reverse

from portal.models import Notification
from refunds import outbox
from refunds.services.cases import add_note, approve_case
from tests.portal.test_portal_support import logged_in

pytest_plugins = ["tests.portal.test_portal_support"]

INBOX = reverse("portal:inbox")


def notify(shared_case, alice) -> None:
    approve_case(case=shared_case, actor=alice)
    outbox.drain("notifications")


def test_the_inbox_lists_the_vendors_notifications_only(vera, acme, shared_case, alice):
    notify(shared_case, alice)
    response = logged_in(vera).get(INBOX)
    items = response.context["page"].items
    assert {n.vendor_id for n in items} == {acme.pk}
    assert [n.subject for n in items] == [
        f"Refund case {shared_case.case_id} is now approved",
        f"Refund case {shared_case.case_id} opened on order ORD-1001",
    ]
    body = response.content.decode()
    assert "Borne by you: 18.00 EUR" in body
    # BOLT's copy of the same events says 0.00; ACME never sees it.
    assert "Borne by you: 0.00 EUR" not in body
    assert "2 unread" in body


def test_marking_one_notification_read(vera, acme, shared_case, alice):
    notify(shared_case, alice)
    first = Notification.objects.filter(vendor=acme).order_by("id").first()
    client = logged_in(vera)
    response = client.post(reverse("portal:mark_read", args=[first.pk]), {"next": INBOX})
    assert response.status_code == 302
    assert response.url == INBOX
    first.refresh_from_db()
    assert first.read_at is not None
    assert Notification.objects.filter(vendor=acme, read_at__isnull=True).count() == 1
    assert 'title="Unread notifications">1</span>' in client.get(INBOX).content.decode()
    unread = client.get(INBOX, {"unread": "1"}).context["page"].items
    assert [n.pk for n in unread] != [first.pk] and len(unread) == 1


def test_marking_all_read_touches_only_the_current_vendor(vera, acme, bolt, shared_case, alice):
    notify(shared_case, alice)
    response = logged_in(vera).post(reverse("portal:mark_all_read"))
    assert response.status_code == 302
    assert not Notification.objects.filter(vendor=acme, read_at__isnull=True).exists()
    assert Notification.objects.filter(vendor=bolt, read_at__isnull=True).count() == 2


def test_mark_read_never_redirects_off_site(vera, acme, shared_case, alice):
    notify(shared_case, alice)
    note = Notification.objects.filter(vendor=acme).first()
    response = logged_in(vera).post(
        reverse("portal:mark_read", args=[note.pk]), {"next": "https://evil.example/"}
    )
    assert response.url == INBOX


def test_the_inbox_pages_by_next_and_previous(vera, acme, shared_case):
    events = [add_note(case=shared_case, text=f"note {i}", actor=None) for i in range(30)]
    Notification.objects.bulk_create(
        [
            Notification(vendor=acme, case=shared_case, event=e, subject=f"n{i}", body="")
            for i, e in enumerate(events)
        ]
    )
    client = logged_in(vera)
    first = client.get(INBOX).context["page"]
    assert (first.number, first.has_next, len(first.items)) == (1, True, 25)
    second = client.get(INBOX, {"page": 2}).context["page"]
    assert (second.number, second.has_next, len(second.items)) == (2, False, 5)


def test_a_user_turns_email_off_for_the_current_vendor_only(mia, acme, bolt):
    client = logged_in(mia)
    response = client.post(reverse("portal:email_preference"), {"next": INBOX})
    assert response.status_code == 302
    seats = dict(mia.vendor_memberships.values_list("vendor__code", "email_notifications"))
    assert seats == {"ACME": False, "BOLT": True}
    assert "checked" not in client.get(INBOX).content.decode().split("email_notifications")[1][:40]

    client.post(reverse("portal:email_preference"), {"email_notifications": "on"})
    assert mia.vendor_memberships.get(vendor=acme).email_notifications is True


def test_opening_a_notification_marks_it_read_and_goes_to_its_case(vera, acme, shared_case, alice):
    notify(shared_case, alice)
    first, second = Notification.objects.filter(vendor=acme).order_by("id")
    client = logged_in(vera)
    page = client.get(INBOX).content.decode()
    assert page.count('class="notification unread"') == 2
    assert page.count('title="Unread">New</span>') == 2

    response = client.get(reverse("portal:open_notification", args=[first.pk]))

    assert response.status_code == 302
    assert response.url == reverse("portal:case_detail", args=[shared_case.case_id])
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None
    page = client.get(INBOX).content.decode()
    assert page.count('class="notification unread"') == 1
    assert page.count('class="notification read"') == 1
    # Opening it again keeps the first time it was read.
    read_at = first.read_at
    client.get(reverse("portal:open_notification", args=[first.pk]))
    first.refresh_from_db()
    assert first.read_at == read_at


def test_another_vendors_notification_cannot_be_opened(vera, bolt, shared_case, alice):
    notify(shared_case, alice)
    theirs = Notification.objects.filter(vendor=bolt).first()
    response = logged_in(vera).get(reverse("portal:open_notification", args=[theirs.pk]))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
