"""Attachments are typed by their bytes (lib.filetypes), allowed by setting,
and served back with that type, nosniff, and as a download unless an image or a PDF."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from lib.downloads import stored_file_response
from refunds.errors import RefundError
from refunds.models import Attachment
from refunds.services.cases import LineRequest, add_attachment, open_case
from tests.factories import StaffFactory

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 20
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
EML = b"From: courier@example.com\r\nSubject: delivered\r\n\r\nThe parcel was left at the door.\r\n"


@pytest.fixture
def case(worked_order, alice):
    mug, _ = worked_order.lines.order_by("sku")
    return open_case(
        order=worked_order,
        lines=[LineRequest(order_line_id=mug.pk, quantity=1, reason="damaged")],
        actor=alice,
    )


def attach(case, alice, name: str, data: bytes, claimed: str = "image/png") -> Attachment:
    return add_attachment(
        case=case, file=SimpleUploadedFile(name, data, content_type=claimed), actor=alice
    )


@pytest.mark.parametrize(
    ("name", "data", "stored"),
    [
        ("photo.png", PNG, "image/png"),
        ("scan.pdf", PDF, "application/pdf"),
        ("photo.JPG", JPEG, "image/jpeg"),
        ("notes.txt", b"left at the door\n", "text/plain"),
        ("lines.csv", b"sku,qty\nMUG-01,1\n", "text/csv"),
        ("courier.eml", EML, "message/rfc822"),
    ],
)
def test_an_allowed_file_is_stored_with_the_type_its_bytes_show(case, alice, name, data, stored):
    attachment = attach(case, alice, name, data, claimed="application/x-whatever")

    assert attachment.content_type == stored


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("invoice.png", HTML, "This file is HTML, which cannot be attached"),
        ("page.html", HTML, "This file is HTML"),
        ("notes.txt", b"  <svg onload=alert(1)>", "This file is HTML"),
        ("photo.png", PDF, "This file is a PDF, but its name has .png"),
        ("scan.pdf", PNG, "This file is a PNG image, but its name has .pdf"),
        ("photo.png", b"just words", "This file is plain text, but its name has .png"),
        ("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 60, "cannot be attached"),
        ("blob.bin", b"\x00\x01\x02\x03binary", "a binary file of unknown type"),
    ],
)
def test_a_file_that_is_not_what_it_says_or_not_allowed_is_refused(
    case, alice, name, data, message
):
    with pytest.raises(RefundError) as refused:
        attach(case, alice, name, data)

    assert refused.value.field == "file"
    assert message in refused.value.message
    assert not Attachment.objects.filter(case=case).exists()


def test_the_allowed_types_come_from_the_setting(settings, case, alice):
    settings.REFUND_ATTACHMENT_ALLOWED_TYPES = ["application/pdf"]

    with pytest.raises(RefundError) as refused:
        attach(case, alice, "photo.png", PNG)

    assert "allowed: PDF" in refused.value.message
    assert attach(case, alice, "scan.pdf", PDF).content_type == "application/pdf"


def test_the_api_refuses_an_html_file_named_png_with_a_field_error(case):
    from rest_framework.test import APIClient

    from api.tokens import create_token

    _, key = create_token(user=StaffFactory(username="fiona"))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = api.post(
        f"/api/v1/refund-cases/{case.case_id}/attachments/",
        {"file": SimpleUploadedFile("x.png", HTML, content_type="image/png")},
        format="multipart",
    )

    assert response.status_code == 400
    assert "file" in response.json()["errors"]
    assert "HTML" in response.json()["detail"]


def admin_download(client: Client, attachment: Attachment):
    return client.get(
        reverse("admin:refunds_refundcase_download", args=[attachment.case_id, attachment.pk])
    )


@pytest.fixture
def staff_client(alice):
    client = Client()
    client.force_login(alice)
    return client


def test_an_image_is_served_inline_with_its_sniffed_type_and_nosniff(staff_client, case, alice):
    response = admin_download(staff_client, attach(case, alice, "photo.png", PNG, "text/html"))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline;")
    assert b"".join(response.streaming_content) == PNG


def test_text_is_served_as_a_download_with_a_charset(staff_client, case, alice):
    response = admin_download(staff_client, attach(case, alice, "notes.txt", b"hello", "text/html"))

    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_file_stored_before_sniffing_as_html_is_served_as_octet_stream_download(
    staff_client, case, alice
):
    attachment = attach(case, alice, "notes.txt", b"hello")
    Attachment.objects.filter(pk=attachment.pk).update(content_type="text/html")
    attachment.refresh_from_db()

    response = admin_download(staff_client, attachment)

    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")


def test_the_portal_serves_files_with_the_same_rules(case, alice, acme):
    from tests.factories import MembershipFactory, UserFactory

    vera = MembershipFactory(user=UserFactory(username="vera"), vendor=acme, role="owner").user
    client = Client()
    client.force_login(vera)
    attachment = attach(case, alice, "notes.txt", b"hello", "text/html")

    response = client.get(reverse("portal:attachment", args=[case.case_id, attachment.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")


def test_stored_file_response_never_answers_html(db, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "page.html").write_bytes(HTML)
    attachment = Attachment(filename="page.html")
    attachment.file.name = "page.html"

    response = stored_file_response(attachment.file, filename="page.html", content_type="text/html")

    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    response.close()
