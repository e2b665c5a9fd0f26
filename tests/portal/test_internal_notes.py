"""Staff-only notes and files never reach the vendor portal."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.urls import reverse

from refunds.models import CaseEvent, EventKind
from refunds.services.cases import add_attachment, add_note
from tests.portal.test_portal_support import logged_in

pytest_plugins = ["tests.portal.test_portal_support"]


def test_the_case_page_leaves_out_internal_notes_and_files(vera, alice, shared_case):
    add_note(case=shared_case, text="Courier confirmed the damage.", actor=alice)
    add_note(case=shared_case, text="ACME is on our watch list.", actor=alice, internal=True)
    hidden = add_attachment(
        case=shared_case,
        file=SimpleUploadedFile("margins.csv", b"ours"),
        actor=alice,
        internal=True,
    )
    client = logged_in(vera)

    page = client.get(reverse("portal:case_detail", args=[shared_case.case_id]))

    body = page.content.decode()
    assert "Courier confirmed the damage." in body
    assert "watch list" not in body
    assert "margins.csv" not in body
    download = reverse("portal:attachment", args=[shared_case.case_id, hidden.pk])
    assert client.get(download).status_code == 404


def test_the_database_refuses_an_internal_status_change(shared_case):
    with pytest.raises(IntegrityError):
        CaseEvent.objects.create(
            case=shared_case,
            kind=EventKind.STATUS_CHANGED,
            from_status="pending",
            to_status="approved",
            internal=True,
            created_at=shared_case.initiated_at,
        )
