"""Links in notifications and e-mails point at the address the app is served on
(settings.PORTAL_BASE_URL, which scripts/dev.sh sets to its port)."""

import re

from django.core import mail
from django.test import Client

from lib.links import absolute_url
from portal.models import Notification
from refunds import outbox
from refunds.services.cases import LineRequest, open_case
from vendors.services import onboard_vendor_user

BASE = "http://127.0.0.1:8765"


def links(text: str) -> list[str]:
    return re.findall(r"https?://\S+", text)


def test_absolute_url_joins_base_and_path_with_one_slash(settings):
    settings.PORTAL_BASE_URL = BASE + "/"
    assert absolute_url("/portal/") == f"{BASE}/portal/"
    settings.PORTAL_BASE_URL = BASE
    assert absolute_url("portal/") == f"{BASE}/portal/"


def test_a_case_notification_links_to_the_case_page_on_the_served_address(
    settings, worked_order, acme, django_capture_on_commit_callbacks
):
    settings.PORTAL_BASE_URL = BASE
    acme.email = "finance@acme.example"
    acme.save()
    mug, _ = worked_order.lines.order_by("sku")
    case = open_case(order=worked_order, lines=[LineRequest(mug.pk, "damaged", quantity=1)])
    with django_capture_on_commit_callbacks(execute=True):
        outbox.drain("notifications")

    note = Notification.objects.get(vendor=acme)
    assert links(note.body) == [f"{BASE}/portal/cases/{case.case_id}/"]
    assert links(mail.outbox[0].body) == [f"{BASE}/portal/cases/{case.case_id}/"]


def test_invitations_link_to_the_served_address_and_the_link_works(
    settings, acme, django_capture_on_commit_callbacks
):
    settings.PORTAL_BASE_URL = BASE
    with django_capture_on_commit_callbacks(execute=True):
        onboard_vendor_user(vendor=acme, username="newbie", email="newbie@acme.example")

    [link] = links(mail.outbox[0].body)
    assert link.startswith(f"{BASE}/portal/password-reset/")
    # The path part is a working password-setting page.
    response = Client().get(link.removeprefix(BASE), follow=True)
    assert response.status_code == 200
    assert b"password" in response.content.lower()
