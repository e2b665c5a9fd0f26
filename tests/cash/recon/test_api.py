"""/api/v1/bank-statements/ and /api/v1/reconciliations/: upload, lines with
their reference and status, run, results, deciding suggestions, sign-off."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from cash.models import BankStatement, ReconciliationPeriod, Suggestion
from cash.services.imports import import_statement_file
from tests.cash.statement_files import Entry, camt

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def api(alice) -> APIClient:
    client = APIClient()
    client.force_authenticate(alice)
    return client


def upload(api, data: bytes, **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile("statement.xml", data, content_type="application/xml")
    return api.post("/api/v1/bank-statements/", {"file": file, **fields}, format="multipart")


def test_upload_then_again_adds_nothing_and_lists_lines(api, account):
    data = camt([Entry("-12.00", acct_svcr_ref="REF-1"), Entry("5.00", acct_svcr_ref="REF-2")])
    first = upload(api, data)
    assert first.status_code == 201, first.content
    assert (first.json()["new_lines"], first.json()["known_lines"]) == (2, 0)
    again = upload(api, data)
    assert again.status_code == 200 and again.json()["already_imported"] is True

    listed = api.get("/api/v1/bank-statements/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [row["new_lines"] for row in rows] == [2]
    statement = BankStatement.objects.get()
    detail = api.get(f"/api/v1/bank-statements/{statement.pk}/").json()
    assert [(line["reference"], line["status"]) for line in detail["lines"]] == [
        ("ref:REF-1", "unmatched"),
        ("ref:REF-2", "unmatched"),
    ]


def test_a_bad_file_names_the_field(api, account):
    answer = upload(api, b"not a statement at all")
    assert answer.status_code == 400
    assert BankStatement.objects.count() == 0


def test_an_unknown_account_is_refused(api, account):
    answer = upload(api, camt([Entry("1.00", acct_svcr_ref="R")]), account="XX00NOPE")
    assert answer.status_code in (400, 404)
    assert "account" in answer.json()["errors"]


def test_run_read_confirm_and_sign_off(api, paid_out, account, alice):
    # The payout's amount without its reference: a suggestion, not a match.
    import_statement_file(
        data=camt([Entry("78.23", booked="2026-11-06", acct_svcr_ref="B-1")], opening="0.00"),
        user=alice,
    )
    run = api.post("/api/v1/reconciliations/", {"account": account.pk, "month": "2026-11"})
    assert run.status_code == 201, run.content
    body = run.json()
    assert body["month"] == "2026-11" and body["figures"]["verdict"] == "pending"
    (suggestion,) = body["suggestions"]
    assert suggestion["line_reference"] == "ref:B-1" and suggestion["items"]

    period = ReconciliationPeriod.objects.get()
    confirmed = api.post(
        f"/api/v1/reconciliations/{period.pk}/confirm/", {"suggestion": suggestion["id"]}
    )
    assert confirmed.status_code == 200, confirmed.content
    assert Suggestion.objects.get().status == "confirmed"
    again = api.post("/api/v1/reconciliations/", {"account": account.pk, "month": "2026-11"})
    assert again.json()["figures"]["verdict"] == "reconciled"

    signed = api.post(f"/api/v1/reconciliations/{period.pk}/sign-off/")
    assert signed.status_code == 200 and signed.json()["signed_off_by"] == "alice"
    locked = api.post("/api/v1/reconciliations/", {"account": account.pk, "month": "2026-11"})
    assert locked.status_code == 400 and "month" in locked.json()["errors"]
    reopened = api.post(f"/api/v1/reconciliations/{period.pk}/reopen/", {"reason": "Late line"})
    assert reopened.status_code == 200 and reopened.json()["signed_off_at"] is None


def test_reject_and_bad_input(api, paid_out, account, alice):
    import_statement_file(
        data=camt([Entry("78.23", booked="2026-11-06", acct_svcr_ref="B-1")], opening="0.00"),
        user=alice,
    )
    body = api.post("/api/v1/reconciliations/", {"account": account.pk, "month": "2026-11"}).json()
    period_id, suggestion_id = body["id"], body["suggestions"][0]["id"]
    rejected = api.post(
        f"/api/v1/reconciliations/{period_id}/reject/", {"suggestion": suggestion_id}
    )
    assert rejected.status_code == 200 and rejected.json()["suggestions"] == []
    unknown = api.post(f"/api/v1/reconciliations/{period_id}/confirm/", {"suggestion": 999999})
    assert unknown.status_code in (400, 404) and "suggestion" in unknown.json()["errors"]
    bad_month = api.post("/api/v1/reconciliations/", {"account": account.pk, "month": "2026-13"})
    assert bad_month.status_code == 400 and "month" in bad_month.json()["errors"]
    no_account = api.post("/api/v1/reconciliations/", {"account": 999999, "month": "2026-11"})
    assert no_account.status_code in (400, 404) and "account" in no_account.json()["errors"]
