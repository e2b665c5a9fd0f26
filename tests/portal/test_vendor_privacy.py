"""No vendor reads another vendor's words, on any channel.

One case shared by three vendors. Each disputes it through a real channel
(ACME in the portal with a file, BOLT through the API, CORK through the case
engine as staff would record it for CORK, and CORK's own note and file from
staff), each with its own marker; staff add an internal note with a marker of
its own. Then every channel a vendor reads is collected for each vendor:
portal pages, its notification rows, the emails sent to its addresses, and
its API answers. No marker of another vendor (nor the internal one) may be in
any of them; its own marker must be (so that the collection itself is proved).
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.models import Notification
from refunds import outbox
from refunds.models import Attachment, CaseEvent, RefundCase
from refunds.services.cases import (
    LineRequest,
    add_attachment,
    add_note,
    dispute_case,
    open_case,
    resolve_dispute,
)
from refunds.visibility import events_visible_to, vendor_may_see
from tests.api.conftest import client_for
from tests.factories import MembershipFactory, StaffFactory, UserFactory, VendorFactory, make_order
from tests.portal.test_portal_support import logged_in
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytest_plugins = ["tests.portal.test_portal_support"]

MARKS = {
    "ACME": "acme-secret-7731",
    "BOLT": "bolt-secret-4412",
    "CORK": "cork-secret-9054",
}
INTERNAL = "internal-secret-2208"


@pytest.fixture
def world(db, acme, bolt):
    cork = VendorFactory(code="CORK", name="Cork Bottles", commission_rate=Decimal("0.1000"))
    vendors = {"ACME": acme, "BOLT": bolt, "CORK": cork}
    users = {}
    for code, name in (("ACME", "vera"), ("BOLT", "bruno"), ("CORK", "carla")):
        vendor = vendors[code]
        vendor.email = f"finance@{code.lower()}.example"
        vendor.save()
        users[code] = MembershipFactory(
            user=UserFactory(username=name, email=f"{name}@{code.lower()}.example"),
            vendor=vendor,
            role="owner",
        ).user
    alice = StaffFactory(username="alice")
    WebhookEndpoint.objects.create(url="http://127.0.0.1:9/hook")
    order = make_order(
        number="ORD-3V",
        shipping="9.00",
        lines=[
            (acme, "MUG-01", 2, "20.00", "0.10"),
            (bolt, "TEE-01", 1, "50.00", "0.10"),
            (cork, "CORK-01", 3, "5.00", "0.10"),
        ],
    )
    cork_line, mug, tee = order.lines.order_by("sku")
    case = open_case(
        order=order,
        lines=[
            LineRequest(mug.pk, "damaged", quantity=1),
            LineRequest(tee.pk, "late_delivery", amount="5.50"),
            LineRequest(cork_line.pk, "damaged", quantity=2),
        ],
        shipping_amount="3.00",
        shipping_reason="damaged",
        actor=alice,
    )
    return {"vendors": vendors, "users": users, "alice": alice, "case": case}


def everything_happens(world) -> dict[str, str]:
    """Each vendor disputes through its channel; returns answers seen on the way."""
    case, users, alice = world["case"], world["users"], world["alice"]
    seen: dict[str, str] = {}

    # ACME: the portal form, with a file whose name carries the marker.
    evidence = SimpleUploadedFile(f"photo-{MARKS['ACME']}.png", b"\x89PNG", "image/png")
    response = logged_in(users["ACME"]).post(
        reverse("portal:dispute", args=[case.case_id]),
        {"message": f"Not our fault: {MARKS['ACME']}", "files": [evidence]},
    )
    assert response.status_code == 302
    resolve_dispute(case=case.case_id, message="Reviewed, no change.", actor=alice)

    # BOLT: the API.
    api = client_for(users["BOLT"])
    response = api.post(
        f"/api/v1/refund-cases/{case.case_id}/dispute/",
        {"vendor": "BOLT", "message": f"Late by the courier: {MARKS['BOLT']}"},
        format="json",
    )
    assert response.status_code == 200, response.content
    seen["BOLT"] = response.content.decode()
    resolve_dispute(case=case.case_id, message="Reviewed again.", actor=alice)

    # CORK: the case engine directly (its user), then staff write to CORK only.
    dispute_case(
        case=case.case_id,
        vendor=world["vendors"]["CORK"],
        message=MARKS["CORK"],
        actor=users["CORK"],
    )
    add_note(
        case=case.case_id,
        text=f"For CORK only: {MARKS['CORK']}",
        actor=alice,
        channel="email",
        vendor=world["vendors"]["CORK"],
    )
    add_attachment(
        case=case.case_id,
        file=SimpleUploadedFile(f"label-{MARKS['CORK']}.pdf", b"%PDF"),
        actor=alice,
        vendor=world["vendors"]["CORK"],
    )
    add_note(case=case.case_id, text=f"Watch these three: {INTERNAL}", actor=alice, internal=True)
    add_attachment(
        case=case.case_id,
        file=SimpleUploadedFile(f"margins-{INTERNAL}.csv", b"ours"),
        actor=alice,
        internal=True,
    )
    resolve_dispute(case=case.case_id, message="Decided for everyone.", actor=alice)
    return seen


def channels_of(world, code: str, django_capture_on_commit_callbacks) -> dict[str, str]:
    """Everything vendor `code` can read, by channel."""
    case, vendor, user = world["case"], world["vendors"][code], world["users"][code]
    texts: dict[str, str] = {}
    portal = logged_in(user)
    pages = {
        "dashboard": reverse("portal:dashboard"),
        "case list": reverse("portal:case_list"),
        "case search": reverse("portal:case_list") + f"?q={case.case_id}",
        "case page": reverse("portal:case_detail", args=[case.case_id]),
        "inbox": reverse("portal:inbox"),
        "unread inbox": reverse("portal:inbox") + "?unread=1",
    }
    for name, url in pages.items():
        response = portal.get(url)
        assert response.status_code == 200, name
        texts[f"portal {name}"] = response.content.decode()
    texts["notification rows"] = "\n".join(
        f"{n.subject}\n{n.body}" for n in Notification.objects.filter(vendor=vendor)
    )
    addresses = {vendor.email, user.email}
    texts["emails"] = "\n".join(
        f"{m.subject}\n{m.body}" for m in mail.outbox if addresses & set(m.to)
    )
    api = client_for(user)
    for name, url in {
        "api case list": "/api/v1/refund-cases/",
        "api case detail": f"/api/v1/refund-cases/{case.case_id}/",
        "api filtered list": f"/api/v1/refund-cases/?vendor={code}",
    }.items():
        response = api.get(url)
        assert response.status_code == 200, name
        texts[name] = response.content.decode()
    # Vendors may not write notes or files through the API: refused, nothing shown.
    notes = api.post(f"/api/v1/refund-cases/{case.case_id}/notes/", {"text": "hi"}, format="json")
    assert notes.status_code == 403
    texts["api notes"] = notes.content.decode()
    return texts


def test_no_vendor_reads_another_vendors_words_on_any_channel(
    world, django_capture_on_commit_callbacks
):
    seen = everything_happens(world)
    with django_capture_on_commit_callbacks(execute=True):
        outbox.drain("notifications")
    outbox.drain("webhooks")  # built, not sent: on_commit does not run here
    assert len(mail.outbox) >= 3

    for code in MARKS:
        texts = channels_of(world, code, django_capture_on_commit_callbacks)
        if code in seen:
            texts["api dispute answer"] = seen[code]
        foreign = [mark for other, mark in MARKS.items() if other != code] + [INTERNAL]
        for channel, text in texts.items():
            for mark in foreign:
                assert mark not in text, f"{code} reads {mark!r} in its {channel}"
        # Its own words do reach it: the collection above reads real content.
        assert MARKS[code] in texts["portal case page"]
        assert MARKS[code] in texts["api case detail"]
        assert texts["emails"], f"{code} got no email at all"

    # Webhooks go to integrators, not vendors, and carry no log text at all.
    payloads = json.dumps(list(WebhookDelivery.objects.values_list("payload", flat=True)))
    assert WebhookDelivery.objects.exists()
    for mark in [*MARKS.values(), INTERNAL]:
        assert mark not in payloads


def test_another_vendors_files_cannot_be_downloaded(world, django_capture_on_commit_callbacks):
    everything_happens(world)
    case = world["case"]
    files = {a.filename: a for a in Attachment.objects.filter(case=case)}
    acme_file = files[f"photo-{MARKS['ACME']}.png"]
    cork_file = files[f"label-{MARKS['CORK']}.pdf"]
    internal_file = files[f"margins-{INTERNAL}.csv"]

    def download(code: str, attachment: Attachment) -> int:
        url = reverse("portal:attachment", args=[case.case_id, attachment.pk])
        return logged_in(world["users"][code]).get(url).status_code

    assert download("ACME", acme_file) == 200
    assert download("CORK", cork_file) == 200
    assert download("BOLT", acme_file) == 404
    assert download("BOLT", cork_file) == 404
    assert download("ACME", cork_file) == 404
    for code in MARKS:
        assert download(code, internal_file) == 404
    # The API lists the same files as the portal page: the vendor's own only.
    detail = client_for(world["users"]["CORK"]).get(f"/api/v1/refund-cases/{case.case_id}/")
    assert [a["filename"] for a in detail.json()["attachments"]] == [cork_file.filename]


def test_the_rule_as_a_predicate_and_as_a_filter_agree(world):
    everything_happens(world)
    case: RefundCase = world["case"]
    events = list(CaseEvent.objects.filter(case=case))
    assert len(events) >= 12
    for vendor in world["vendors"].values():
        by_predicate = {event.pk for event in events if vendor_may_see(event, vendor.pk)}
        by_filter = set(
            CaseEvent.objects.filter(case=case)
            .filter(events_visible_to(vendor.pk))
            .values_list("pk", flat=True)
        )
        assert by_predicate == by_filter
        # Every vendor sees the case's own history, and only its own entries besides.
        assert 0 < len(by_filter) < len(events)
