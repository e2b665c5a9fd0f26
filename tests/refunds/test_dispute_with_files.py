"""A vendor's dispute with its evidence: one service, all or nothing."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from refunds.errors import RefundError
from refunds.models import Attachment, CaseEvent, CaseStatus, EventKind
from refunds.services.opening import LineRequest, open_case
from refunds.services.transitions import dispute_case


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def case(worked_order):
    mug, _ = worked_order.lines.order_by("sku")
    return open_case(order=worked_order, lines=[LineRequest(mug.pk, "damaged", amount="1")])


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def test_it_disputes_and_attaches_every_file_under_the_vendor(case, acme, alice, media):
    files = [
        SimpleUploadedFile("scan.pdf", b"%PDF-1.4 carrier scan", content_type="application/pdf"),
        SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n....", content_type="image/png"),
    ]

    disputed = dispute_case(
        case=case, vendor=acme, message="Shipped intact", actor=alice, files=files
    )

    assert disputed.status == CaseStatus.DISPUTED
    attachments = list(Attachment.objects.filter(case=case).order_by("filename"))
    assert [a.filename for a in attachments] == ["photo.png", "scan.pdf"]
    assert {a.event.vendor_id for a in attachments} == {acme.pk}
    assert {a.event.channel for a in attachments} == {"vendor_portal"}
    assert len(stored_files(media)) == 2


def test_a_refused_file_leaves_nothing_half_written(case, acme, alice, media):
    files = [
        SimpleUploadedFile("scan.pdf", b"%PDF-1.4 carrier scan", content_type="application/pdf"),
        SimpleUploadedFile("empty.png", b"", content_type="image/png"),
    ]

    with pytest.raises(RefundError) as refused:
        dispute_case(case=case, vendor=acme, message="Shipped intact", actor=alice, files=files)

    assert refused.value.field == "file"
    case.refresh_from_db()
    assert case.status == CaseStatus.PENDING
    assert not Attachment.objects.filter(case=case).exists()
    assert not CaseEvent.objects.filter(
        case=case, kind__in=[EventKind.STATUS_CHANGED, EventKind.ATTACHMENT]
    ).exists()
    assert stored_files(media) == []  # the first file, written before the refusal, is gone


def test_a_refused_dispute_stores_no_file(case, bolt, alice, media):
    photo = SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n....", content_type="image/png")

    with pytest.raises(RefundError):
        dispute_case(case=case, vendor=bolt, message="Not ours", actor=alice, files=[photo])

    assert not Attachment.objects.filter(case=case).exists()
    assert stored_files(media) == []


def test_without_files_it_is_a_plain_dispute(case, acme, alice):
    disputed = dispute_case(case=case, vendor=acme, message="Shipped intact", actor=alice)

    assert disputed.status == CaseStatus.DISPUTED
    assert not Attachment.objects.filter(case=case).exists()


def test_the_api_sends_files_with_the_dispute_through_the_same_service(
    case, acme, alice, media, settings
):
    from tests.api.conftest import client_for

    settings.REFUND_ATTACHMENT_MAX_BYTES = 1024 * 1024
    good = SimpleUploadedFile("scan.pdf", b"%PDF-1.4 carrier scan", content_type="application/pdf")
    # The API's parser takes it; the service refuses it, after storing `good`.
    big = SimpleUploadedFile("big.png", b"x" * (1024 * 1024 + 1), content_type="image/png")
    url = f"/api/v1/refund-cases/{case.case_id}/dispute/"

    refused = client_for(alice).post(
        url,
        {"vendor": "ACME", "message": "Shipped intact", "files": [good, big]},
        format="multipart",
    )

    assert refused.status_code == 400
    assert "file" in refused.json()["errors"], refused.json()
    case.refresh_from_db()
    assert case.status == CaseStatus.PENDING and stored_files(media) == []

    good.seek(0)
    accepted = client_for(alice).post(
        url, {"vendor": "ACME", "message": "Shipped intact", "files": [good]}, format="multipart"
    )

    assert accepted.status_code == 200
    assert [a["filename"] for a in accepted.json()["attachments"]] == ["scan.pdf"]
