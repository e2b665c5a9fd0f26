"""What the portal, inbox and emails say reads right to a vendor: no news of its
own acts, no answer offered that the case engine would refuse, nothing borne on
a case that refunded nothing, and no staff member's name."""

from __future__ import annotations

from django.core import mail
from django.urls import reverse

from portal.models import Notification
from refunds import outbox
from refunds.errors import RefundError
from refunds.models import CaseStatus
from refunds.services.cases import (
    TRANSITIONS,
    acknowledge_case,
    add_note,
    assign_owner,
    cancel_case,
    dispute_case,
    may_acknowledge,
    may_dispute,
    reject_case,
    resolve_dispute,
)
from tests.api.conftest import client_for
from tests.portal.test_portal_support import logged_in

pytest_plugins = ["tests.portal.test_portal_support"]


def case_page(user, case) -> str:
    return logged_in(user).get(reverse("portal:case_detail", args=[case.case_id])).content.decode()


def test_a_vendor_is_not_told_of_its_own_dispute(
    vera, acme, bolt, shared_case, django_capture_on_commit_callbacks
):
    acme.email = "finance@acme.example"
    acme.save()
    response = logged_in(vera).post(
        reverse("portal:dispute", args=[shared_case.case_id]), {"message": "Not damaged by us."}
    )
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        outbox.drain("notifications")

    subjects = list(Notification.objects.filter(vendor=acme).values_list("subject", flat=True))
    assert subjects == [f"Refund case {shared_case.case_id} opened on order ORD-1001"]
    assert not any("disputed" in m.subject for m in mail.outbox)
    # BOLT may not read ACME's dispute: no notification of it either.
    assert not Notification.objects.filter(vendor=bolt, subject__contains="disputed").exists()


def test_a_dispute_staff_record_for_the_vendor_is_news_to_it(acme, alice, shared_case):
    dispute_case(case=shared_case, vendor=acme, message="Called us: not their fault.", actor=alice)
    outbox.drain("notifications")
    told = Notification.objects.get(vendor=acme, subject__contains="disputed")
    assert "Called us: not their fault." in told.body


def test_after_disputing_the_page_offers_no_answer(vera, acme, shared_case, alice):
    before = case_page(vera, shared_case)
    assert "Accept your part" in before and "Dispute your part" in before

    client = logged_in(vera)
    client.post(reverse("portal:dispute", args=[shared_case.case_id]), {"message": "No."})

    after = case_page(vera, shared_case)
    assert "Accept your part" not in after
    assert "Dispute your part" not in after
    assert "our team is reviewing it" in after
    # ... because the engine itself refuses it, whichever channel asks.
    response = client.post(reverse("portal:acknowledge", args=[shared_case.case_id]))
    assert response.status_code == 400
    errors = response.context["acknowledge_form"].errors["__all__"]
    assert errors == [
        f"Case {shared_case.case_id} is disputed; it cannot be accepted until our team "
        "decides the dispute."
    ]
    resolve_dispute(case=shared_case, message="Kept as is.", actor=alice)
    assert "Accept your part" in case_page(vera, shared_case)


def test_answers_offered_follow_the_engines_transitions():
    for status in CaseStatus:
        assert may_dispute(status) == (CaseStatus.DISPUTED in TRANSITIONS[status])
        assert may_acknowledge(status, None) == may_dispute(status)
        assert may_acknowledge(status, "2026-01-01") is False


def test_acknowledging_a_closed_case_is_refused(acme, shared_case, alice):
    from refunds.services.cases import approve_case, close_case, complete_case

    approve_case(case=shared_case, actor=alice)
    complete_case(case=shared_case, actor=alice)
    close_case(case=shared_case, actor=alice)
    try:
        acknowledge_case(case=shared_case, vendor=acme, actor=None)
    except RefundError as error:
        assert error.field == "status"
    else:
        raise AssertionError("a closed case was accepted")
    assert shared_case.liabilities.get(vendor=acme).acknowledged_at is None


def test_a_cancelled_case_says_nothing_is_borne(
    vera, acme, shared_case, alice, django_capture_on_commit_callbacks
):
    assert "18.00 EUR" in case_page(vera, shared_case)  # ACME's share while pending
    cancel_case(case=shared_case, actor=alice, reason="The customer kept the mug.")
    with django_capture_on_commit_callbacks(execute=True):
        outbox.drain("notifications")

    page = case_page(vera, shared_case)
    assert "nothing was refunded, so nothing is borne by you" in page
    assert "18.00 EUR" not in page
    listing = logged_in(vera).get(reverse("portal:case_list")).content.decode()
    row = listing.split(shared_case.case_id)[2].split("</tr>")[0]
    assert "Nothing" in row and "18.00" not in row
    told = Notification.objects.get(vendor=acme, subject__contains="cancelled")
    assert "nothing is borne by you" in told.body
    assert "Borne by you:" not in told.body


def test_a_rejected_case_says_nothing_is_borne(vera, acme, shared_case, alice):
    reject_case(case=shared_case, actor=alice, reason="Outside the return window.")
    outbox.drain("notifications")
    assert "nothing is borne by you" in case_page(vera, shared_case)
    told = Notification.objects.get(vendor=acme, subject__contains="rejected")
    assert "Borne by you:" not in told.body


def test_staff_are_the_splitledger_team_to_vendors(
    vera, acme, shared_case, alice, django_capture_on_commit_callbacks
):
    acme.email = "finance@acme.example"
    acme.save()
    assign_owner(case=shared_case, owner=alice, actor=alice)
    add_note(case=shared_case, text="We asked the courier.", actor=alice, channel="phone")
    dispute_case(case=shared_case, vendor=acme, message="Recorded for ACME.", actor=alice)
    with django_capture_on_commit_callbacks(execute=True):
        outbox.drain("notifications")

    page = case_page(vera, shared_case)
    assert "We asked the courier." in page and "Recorded for ACME." in page
    assert "Splitledger team" in page
    inbox = logged_in(vera).get(reverse("portal:inbox")).content.decode()
    api = client_for(vera).get(f"/api/v1/refund-cases/{shared_case.case_id}/").json()
    listed = client_for(vera).get("/api/v1/refund-cases/").json()["results"][0]
    assert api["owner"] == listed["owner"] == "Splitledger team"
    assert {e["actor"] for e in api["events"]} == {None, "Splitledger team"}  # None: the engine
    assert api["events"] == listed["events"]
    emails = "\n".join(f"{m.subject}\n{m.body}" for m in mail.outbox)
    assert emails
    for text in (page, inbox, emails, str(api), str(listed)):
        assert "alice" not in text
    # Staff still see who did what.
    staff = client_for(alice).get(f"/api/v1/refund-cases/{shared_case.case_id}/").json()
    assert staff["owner"] == "alice"
