"""Every portal URL, walked by ACME's owner with BOLT's ids: 404 each time, nothing changes."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import get_resolver, reverse

from ledger.models import Invoice
from portal.models import Notification
from refunds import outbox
from refunds.models import CaseStatus, EventChannel, VendorLiability
from refunds.services.cases import add_attachment
from tests.portal.test_portal_support import logged_in, single_vendor_case

pytest_plugins = ["tests.portal.test_portal_support"]

# Login, logout and password reset take no object ids.
AUTH_URL_NAMES = {
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}


def bolt_upload(bruno, bolt, case, name: str):
    """Bruno uploads a small PDF for BOLT to case through the portal."""
    return add_attachment(
        case=case,
        file=SimpleUploadedFile(name, b"%PDF-1.4 bolt"),
        actor=bruno,
        vendor=bolt,
        channel=EventChannel.VENDOR_PORTAL,
    )


@pytest.fixture
def foreign(bolt, bruno, shared_case):
    """BOLT's objects: a case of its own, its attachment and notification, and
    BOLT's upload on the case it shares with ACME."""
    case = single_vendor_case(bolt, sku="BOLT-ONLY")
    attachment = bolt_upload(bruno, bolt, case, "bolt.pdf")
    shared_upload = bolt_upload(bruno, bolt, shared_case, "bolt-on-shared.pdf")
    outbox.drain("notifications")
    outbox.drain("ledger")  # BOLT's commission invoices
    return {
        "case": case,
        "attachment": attachment,
        "shared_upload": shared_upload,
        "notification": Notification.objects.filter(vendor=bolt, case=case).first(),
        "vendor": bolt,
        "invoice": Invoice.objects.filter(billed_vendor=bolt).first(),
    }


def walk(foreign, shared_case, own_case) -> list[tuple[str, str, str, dict]]:
    """(url name, method, url, data): every portal URL that takes an id, with BOLT's."""
    case_id = foreign["case"].case_id
    return [
        ("case_detail", "get", reverse("portal:case_detail", args=[case_id]), {}),
        ("acknowledge", "post", reverse("portal:acknowledge", args=[case_id]), {}),
        ("dispute", "post", reverse("portal:dispute", args=[case_id]), {"message": "mine now"}),
        (
            "attachment",
            "get",
            reverse("portal:attachment", args=[case_id, foreign["attachment"].pk]),
            {},
        ),
        # BOLT's attachment through ACME's own case id.
        (
            "attachment",
            "get",
            reverse("portal:attachment", args=[own_case.case_id, foreign["attachment"].pk]),
            {},
        ),
        # BOLT's upload on the case both vendors share.
        (
            "attachment",
            "get",
            reverse("portal:attachment", args=[shared_case.case_id, foreign["shared_upload"].pk]),
            {},
        ),
        (
            "mark_read",
            "post",
            reverse("portal:mark_read", args=[foreign["notification"].pk]),
            {},
        ),
        (
            "open_notification",
            "get",
            reverse("portal:open_notification", args=[foreign["notification"].pk]),
            {},
        ),
        (
            "invoice_pdf",
            "get",
            reverse("portal:invoice_pdf", args=[foreign["invoice"].number]),
            {},
        ),
        (
            "switch_vendor",
            "post",
            reverse("portal:switch_vendor", args=[foreign["vendor"].pk]),
            {},
        ),
    ]


def test_every_url_with_another_vendors_id_is_not_found(vera, acme, shared_case, foreign):
    own_case = single_vendor_case(acme, sku="ACME-ONLY")
    client = logged_in(vera)
    steps = walk(foreign, shared_case, own_case)

    for name, method, url, data in steps:
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, (name, url, response.status_code)

    # Nothing of BOLT's moved.
    foreign["case"].refresh_from_db()
    assert foreign["case"].status == CaseStatus.PENDING
    assert not VendorLiability.objects.filter(
        case=foreign["case"], acknowledged_at__isnull=False
    ).exists()
    foreign["notification"].refresh_from_db()
    assert foreign["notification"].read_at is None


def test_the_lists_never_show_another_vendors_objects(vera, shared_case, foreign):
    client = logged_in(vera)
    case_id = foreign["case"].case_id
    pages = [
        client.get(reverse("portal:dashboard")),
        client.get(reverse("portal:case_list")),
        client.get(reverse("portal:case_list"), {"q": case_id}),
        client.get(reverse("portal:case_list"), {"q": "BOLT-ONLY"}),
        client.get(reverse("portal:case_list"), {"status": "pending", "sort": "-amount"}),
        client.get(reverse("portal:inbox")),
        client.get(reverse("portal:case_detail", args=[shared_case.case_id])),
        client.get(reverse("portal:invoice_list")),
        client.get(reverse("portal:receivable_list")),
        client.get(reverse("portal:payout_list")),
    ]
    for response in pages:
        assert response.status_code == 200
        # The search box echoes what was searched for; the rest must not name it.
        body = response.content.decode().replace(f'value="{case_id}"', "")
        assert case_id not in body
        assert "bolt-on-shared.pdf" not in body
        assert foreign["invoice"].number not in body
    mark_all = client.post(reverse("portal:mark_all_read"))
    assert mark_all.status_code == 302
    foreign["notification"].refresh_from_db()
    assert foreign["notification"].read_at is None


def test_the_walk_covers_every_portal_url(foreign, shared_case, acme):
    names = {
        pattern.name
        for pattern in get_resolver().url_patterns
        if getattr(pattern, "namespace", None) == "portal"
        for pattern in pattern.url_patterns
    }
    walked = {name for name, *_ in walk(foreign, shared_case, single_vendor_case(acme))}
    # The id-less pages are covered by the lists test above.
    id_less = {
        "dashboard",
        "case_list",
        "inbox",
        "mark_all_read",
        "email_preference",
        "invoice_list",
        "receivable_list",
        "payout_list",
    }
    assert names - AUTH_URL_NAMES - id_less == walked
