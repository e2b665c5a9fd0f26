"""/api/v1/payout-reports/: upload (multipart), list, detail with rows; the
exception queue and its resolution."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cash.models import PayoutException
from refunds.models import Payment
from tests.api.conftest import client_for
from tests.audit_plugin import drain_ledger
from tests.factories import StaffFactory, complete_worked_refund

from .files import Txn, stripe_report

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

URL = "/api/v1/payout-reports/"


@pytest.fixture
def api(db):
    return client_for(StaffFactory(username="fiona"))


def upload(api, data: bytes, **fields):
    body = {"file": SimpleUploadedFile("payouts.csv", data, content_type="text/csv"), **fields}
    return api.post(URL, body, format="multipart")


def test_staff_upload_a_report_and_read_its_rows(api, stripe, worked_order, alice):
    Payment.objects.filter(order=worked_order).update(reference="ch_1001")
    drain_ledger()
    case = complete_worked_refund(worked_order, alice, gateway_reference="re_1001")
    data = stripe_report(
        [
            Txn("charge", "109.00", "3.27", source_id="ch_1001", txn="txn_1"),
            Txn("refund", "-27.50", source_id="re_1001", txn="txn_2"),
            Txn("other_adjustment", "-1.00", txn="txn_3"),
        ]
    )
    response = upload(api, data, provider="stripe")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["format"], body["new_rows"], body["known_rows"], body["exceptions"]) == (
        "stripe",
        3,
        0,
        1,
    )
    (payout,) = body["payouts"]
    assert (payout["payout_id"], payout["new"], payout["new_rows"]) == ("po_1QxYz", True, 3)

    again = upload(api, data)  # the only provider: no need to name it
    assert again.status_code == 200
    assert (again.json()["already_imported"], again.json()["known_rows"]) == (True, 3)

    listed = api.get(URL, {"provider": "stripe"}).json()["results"]
    assert [(r["payout_id"], r["payout_amount"], r["row_count"]) for r in listed] == [
        ("po_1QxYz", "77.23", 3)
    ]
    detail = api.get(f"{URL}{payout['report']}/").json()
    assert detail["journal"] is not None and detail["bank_account"] == "1000"
    rows = detail["rows"]
    assert [(r["type"], r["net"], r["match_status"]) for r in rows] == [
        ("charge", "105.73", "matched"),
        ("refund", "-27.50", "matched"),
        ("adjustment", "-1.00", "exception"),
    ]
    assert (rows[0]["order"], rows[1]["case"]) == ("ORD-1001", case.case_id)
    assert rows[2]["exception"] == PayoutException.objects.get().pk


def test_a_bad_file_is_refused_with_its_row_number(api, stripe):
    data = stripe_report([Txn("charge", "15.00", "0.50"), Txn("charge", "1.00", net="2.00")])
    response = upload(api, data, provider="stripe")
    assert response.status_code == 400
    assert "row 3: net 2.00 is not the amount 1.00 less the fee 0.00" in response.content.decode()
    assert api.get(URL).json()["results"] == []
    assert upload(api, data, provider="nope").status_code in (400, 404)
    assert api.post(URL, {"provider": "stripe"}, format="multipart").status_code == 400


def test_staff_work_the_exception_queue(api, stripe):
    upload(api, stripe_report([Txn("charge", "15.00", "0.50", source_id="ch_nobody")]))
    (exception,) = api.get(URL + "exceptions/", {"status": "open"}).json()["results"]
    assert (exception["reason"], exception["gross"], exception["gateway_reference"]) == (
        "no_match",
        "15.00",
        "ch_nobody",
    )
    resolve = f"{URL}exceptions/{exception['id']}/resolve/"
    assert api.post(resolve, {"note": ""}, format="json").status_code == 400
    done = api.post(resolve, {"note": "Test charge"}, format="json")
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["note"], done.json()["resolved_by"]) == (
        "resolved",
        "Test charge",
        "fiona",
    )
    assert api.post(resolve, {"note": "Again"}, format="json").status_code == 409
    assert api.get(URL + "exceptions/", {"status": "open"}).json()["results"] == []
