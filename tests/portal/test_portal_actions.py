"""A vendor answers a case: accept its part, or dispute it with evidence."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from refunds.models import (
    Attachment,
    CaseEvent,
    CaseStatus,
    EventChannel,
    EventKind,
    VendorLiability,
)
from refunds.services.cases import acknowledge_case, reject_case
from tests.portal.test_portal_support import logged_in

pytest_plugins = ["tests.portal.test_portal_support"]


def acknowledge_url(case) -> str:
    return reverse("portal:acknowledge", args=[case.case_id])


def dispute_url(case) -> str:
    return reverse("portal:dispute", args=[case.case_id])


def test_an_owner_accepts_the_vendors_part(vera, acme, shared_case):
    response = logged_in(vera).post(acknowledge_url(shared_case), {"message": "Fair enough."})

    assert response.status_code == 302
    assert response.url == reverse("portal:case_detail", args=[shared_case.case_id])
    row = VendorLiability.objects.get(case=shared_case, vendor=acme)
    assert row.acknowledged_at is not None
    assert row.acknowledged_by == vera
    event = CaseEvent.objects.get(case=shared_case, kind=EventKind.ACKNOWLEDGED)
    assert (event.vendor, event.actor, event.channel, event.text) == (
        acme,
        vera,
        EventChannel.VENDOR_PORTAL,
        "Fair enough.",
    )
    # BOLT's part is BOLT's to answer.
    assert (
        VendorLiability.objects.get(case=shared_case, vendor__code="BOLT").acknowledged_at is None
    )


def test_accepting_twice_shows_the_engines_refusal_as_a_form_error(vera, acme, shared_case):
    acknowledge_case(case=shared_case, vendor=acme, actor=vera)
    response = logged_in(vera).post(acknowledge_url(shared_case), {"message": ""})
    assert response.status_code == 400
    form = response.context["acknowledge_form"]
    assert form.errors == {"__all__": ["ACME already acknowledged this case."]}
    assert CaseEvent.objects.filter(kind=EventKind.ACKNOWLEDGED).count() == 1


def test_finance_disputes_with_a_message_and_files(mia, acme, shared_case, alice, client):
    photo = SimpleUploadedFile("photo.jpg", b"\xff\xd8\xff\xe0jpeg", content_type="image/jpeg")
    note = SimpleUploadedFile("courier.pdf", b"%PDF-1.4", content_type="application/pdf")

    response = logged_in(mia).post(
        dispute_url(shared_case),
        {"message": "The mug left us intact; see the courier's note.", "files": [photo, note]},
    )

    assert response.status_code == 302
    shared_case.refresh_from_db()
    assert shared_case.status == CaseStatus.DISPUTED
    assert shared_case.status_before_dispute == CaseStatus.PENDING
    change = CaseEvent.objects.get(case=shared_case, to_status=CaseStatus.DISPUTED)
    assert (change.vendor, change.actor, change.channel) == (acme, mia, EventChannel.VENDOR_PORTAL)
    assert change.text == "The mug left us intact; see the courier's note."
    attachments = list(Attachment.objects.filter(case=shared_case).select_related("event"))
    assert [a.filename for a in attachments] == ["photo.jpg", "courier.pdf"]
    for attachment in attachments:
        assert attachment.uploaded_by == mia
        assert (attachment.event.vendor, attachment.event.channel) == (
            acme,
            EventChannel.VENDOR_PORTAL,
        )
    assert attachments[0].file.read() == b"\xff\xd8\xff\xe0jpeg"

    # Staff see the same rows in the admin right away.
    client.force_login(alice)
    admin_page = client.get(reverse("admin:refunds_refundcase_change", args=[shared_case.pk]))
    assert "The mug left us intact" in admin_page.content.decode()


def test_a_dispute_needs_a_message(vera, shared_case):
    response = logged_in(vera).post(dispute_url(shared_case), {"message": "  "})
    assert response.status_code == 400
    assert "message" in response.context["dispute_form"].errors
    shared_case.refresh_from_db()
    assert shared_case.status == CaseStatus.PENDING


def test_a_refused_upload_leaves_no_dispute_and_no_file(vera, shared_case, settings):
    settings.REFUND_ATTACHMENT_MAX_BYTES = 1024 * 1024
    small = SimpleUploadedFile("ok.txt", b"fine")
    big = SimpleUploadedFile("huge.bin", b"x" * (1024 * 1024 + 1))

    response = logged_in(vera).post(
        dispute_url(shared_case), {"message": "See files.", "files": [small, big]}
    )

    assert response.status_code == 400
    form = response.context["dispute_form"]
    assert form.errors == {"files": ["The file is larger than 1 MB."]}
    shared_case.refresh_from_db()
    assert shared_case.status == CaseStatus.PENDING
    assert not CaseEvent.objects.filter(case=shared_case, to_status=CaseStatus.DISPUTED).exists()
    assert not Attachment.objects.exists()
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_a_case_that_cannot_be_disputed_says_why(vera, acme, alice, shared_case):
    reject_case(case=shared_case, actor=alice, reason="duplicate")
    response = logged_in(vera).post(dispute_url(shared_case), {"message": "No!"})
    assert response.status_code == 400
    assert response.context["dispute_form"].errors == {
        "__all__": [f"case {shared_case.case_id} cannot move from rejected to disputed"]
    }


def test_a_viewer_cannot_accept_or_dispute(victor, acme, shared_case):
    client = logged_in(victor)
    assert client.post(acknowledge_url(shared_case)).status_code == 403
    response = client.post(dispute_url(shared_case), {"message": "no"})
    assert response.status_code == 403
    assert "can read cases but not accept or dispute them" in response.content.decode()
    assert VendorLiability.objects.get(case=shared_case, vendor=acme).acknowledged_at is None
    shared_case.refresh_from_db()
    assert shared_case.status == CaseStatus.PENDING


def test_the_role_counts_per_vendor(mia, bolt, shared_case):
    # mia is finance at ACME but only a viewer at BOLT.
    client = logged_in(mia)
    client.post(reverse("portal:switch_vendor", args=[bolt.pk]))
    assert client.post(acknowledge_url(shared_case)).status_code == 403
    client.post(reverse("portal:switch_vendor", args=[shared_case.liabilities.first().vendor_id]))
    assert client.post(acknowledge_url(shared_case)).status_code == 302


def test_answering_needs_a_post(vera, shared_case):
    client = logged_in(vera)
    assert client.get(acknowledge_url(shared_case)).status_code == 405
    assert client.get(dispute_url(shared_case)).status_code == 405
