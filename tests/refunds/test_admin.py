"""The staff admin as finance uses it: find cases, read them, work them."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from lib.admin import EstimatedCountPaginator
from refunds.models import (
    Attachment,
    CaseEvent,
    CaseStatus,
    EventChannel,
    EventKind,
    Order,
    OutboxMessage,
    ReasonPolicy,
    RefundCase,
)
from refunds.services.cases import (
    LineRequest,
    acknowledge_case,
    add_attachment,
    approve_case,
    complete_case,
    dispute_case,
    open_case,
)
from tests.factories import PASSWORD, StaffFactory, UserFactory, VendorFactory, make_order

D = Decimal
CHANGELIST = "admin:refunds_refundcase_changelist"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def crab(db):
    return VendorFactory(code="CRAB", name="Crab Hats")


@pytest.fixture
def hat_case(crab):
    order = make_order(number="ORD-2002", lines=[(crab, "HAT-01", 2, "15.00", "0.10")])
    return open_case(
        order=order,
        lines=[LineRequest(order_line_id=order.lines.get().pk, quantity=1, reason="defective")],
    )


def listed(response) -> list[str]:
    assert response.status_code == 200
    return [case.case_id for case in response.context["cl"].result_list]


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def case_url(name: str, case: RefundCase) -> str:
    return reverse(f"admin:refunds_refundcase_{name}", args=[case.pk])


def run_action(client, action: str, cases: list[RefundCase], text: str = ""):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [c.pk for c in cases], "text": text, "index": 0},
    )


# ---------------------------------------------------------------- list, search, filters


def test_it_lists_cases_with_order_amount_and_vendors(staff, worked_case, hat_case):
    response = staff.get(reverse(CHANGELIST))

    assert listed(response) == [hat_case.case_id, worked_case.case_id]
    page = response.content.decode()
    assert "ORD-1001" in page
    assert "27.50 EUR" in page
    assert "ACME, BOLT" in page


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("ORD-1001", "worked"),
        ("ord-2002", "hat"),
        ("BOLT", "worked"),
        ("crab", "hat"),
        ("HAT-01", "hat"),
        ("mug-01", "worked"),
        ("nothing-like-this", None),
    ],
)
def test_it_finds_cases_by_order_number_vendor_and_sku(
    staff, worked_case, hat_case, term, expected
):
    cases = {"worked": [worked_case.case_id], "hat": [hat_case.case_id], None: []}

    assert listed(staff.get(reverse(CHANGELIST), {"q": term})) == cases[expected]


def test_it_finds_a_case_by_its_case_id_in_any_case(staff, worked_case, hat_case):
    assert listed(staff.get(reverse(CHANGELIST), {"q": hat_case.case_id})) == [hat_case.case_id]
    assert listed(staff.get(reverse(CHANGELIST), {"q": worked_case.case_id.lower()})) == [
        worked_case.case_id
    ]


def test_it_finds_cases_by_the_start_of_a_case_id(staff, worked_case, hat_case):
    url = reverse(CHANGELIST)

    assert listed(staff.get(url, {"q": hat_case.case_id[:-1].lower()})) == [hat_case.case_id]
    assert set(listed(staff.get(url, {"q": worked_case.case_id[:13]}))) == {
        worked_case.case_id,
        hat_case.case_id,
    }


def test_it_lists_a_case_once_when_several_of_its_lines_match(staff, acme):
    order = make_order(lines=[(acme, "MUG-01", 2, "10.00", "0"), (acme, "MUG-01", 3, "10.00", "0")])
    first, second = order.lines.all()
    case = open_case(
        order=order,
        lines=[
            LineRequest(order_line_id=first.pk, quantity=1, reason="damaged"),
            LineRequest(order_line_id=second.pk, quantity=1, reason="damaged"),
        ],
    )

    for params in ({"q": "MUG-01"}, {"q": "ACME MUG-01"}, {"reason": "damaged"}):
        response = staff.get(reverse(CHANGELIST), params)
        assert listed(response) == [case.case_id]
        assert response.context["cl"].result_count == 1


def test_it_filters_by_status_vendor_reason_and_owner(staff, alice, worked_case, hat_case):
    approve_case(case=hat_case, actor=alice)
    url = reverse(CHANGELIST)

    assert listed(staff.get(url, {"status__exact": "approved"})) == [hat_case.case_id]
    assert listed(staff.get(url, {"status__exact": "pending"})) == [worked_case.case_id]
    assert listed(staff.get(url, {"vendor": "CRAB"})) == [hat_case.case_id]
    assert listed(staff.get(url, {"vendor": "ACME"})) == [worked_case.case_id]
    assert listed(staff.get(url, {"reason": "late_delivery"})) == [worked_case.case_id]
    assert listed(staff.get(url, {"reason": "goodwill"})) == []
    staff.post(case_url("owner", hat_case), {"owner-owner": alice.pk})
    assert listed(staff.get(url, {"owner": str(alice.pk)})) == [hat_case.case_id]
    assert listed(staff.get(url, {"owner": "nobody"})) == [worked_case.case_id]


def test_it_keeps_the_list_query_count_flat_as_cases_grow(
    staff, acme, bolt, alice, django_assert_max_num_queries
):
    order = make_order(
        lines=[(acme, "MUG-01", 100, "1.00", "0.10"), (bolt, "TEE-01", 100, "1.00", "0.10")]
    )
    mug, tee = order.lines.order_by("sku")

    def open_cases(count: int) -> None:
        for n in range(count):
            open_case(
                order=order,
                lines=[
                    LineRequest(order_line_id=mug.pk, quantity=1, reason="damaged"),
                    LineRequest(order_line_id=tee.pk, quantity=1, reason="goodwill"),
                ],
                owner=alice if n % 2 else None,
            )

    url = reverse(CHANGELIST)
    open_cases(5)
    staff.get(url)  # the session and user caches warm up on the first request
    with CaptureQueriesContext(connection) as five:
        assert len(listed(staff.get(url))) == 5

    open_cases(45)
    with django_assert_max_num_queries(len(five.captured_queries)):
        response = staff.get(url)
    assert len(listed(response)) == 50
    assert "ACME, BOLT" in response.content.decode()


def test_it_counts_an_unfiltered_big_table_from_the_planner_estimate(db, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "estimate", lambda self: 2_000_000)

    with CaptureQueriesContext(connection) as queries:
        paginator = EstimatedCountPaginator(RefundCase.objects.all(), 50)
        assert paginator.count == 2_000_000
    assert paginator.count_is_estimate
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)


def test_it_counts_filtered_and_small_lists_exactly(worked_case, hat_case):
    filtered = EstimatedCountPaginator(RefundCase.objects.filter(status="pending"), 50)
    assert filtered.estimate() is None
    assert filtered.count == 2

    small = EstimatedCountPaginator(RefundCase.objects.all(), 50)
    assert small.count == 2
    assert not (small.count_is_estimate or small.count_is_capped)


def test_it_stops_counting_a_long_filtered_list_at_the_limit(
    staff, worked_case, hat_case, monkeypatch
):
    monkeypatch.setattr(EstimatedCountPaginator, "count_limit", 1)

    response = staff.get(reverse(CHANGELIST), {"status__exact": "pending"})

    assert response.context["cl"].paginator.count_is_capped
    assert response.context["cl"].result_count == 1
    assert "more than 1 refund case" in " ".join(response.content.decode().split())


@pytest.mark.postgres
def test_it_reads_the_row_estimate_from_pg_class(worked_case):
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE refunds_refundcase")

    assert EstimatedCountPaginator(RefundCase.objects.all(), 50).estimate() is not None


# ---------------------------------------------------------------- the case page


def test_it_shows_lines_breakdown_timeline_and_attachments(staff, alice, worked_case):
    attachment = add_attachment(
        case=worked_case,
        file=SimpleUploadedFile(
            "photo.jpg", b"\xff\xd8\xff\xe0jpeg bytes", content_type="image/jpeg"
        ),
        actor=alice,
    )

    response = staff.get(case_url("change", worked_case))

    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        worked_case.case_id,
        "ORD-1001",
        "MUG-01",
        "TEE-01",
        "late_delivery",  # a reason
        "27.50 EUR",  # the case total
        "22.00 EUR",  # ACME's part
        "18.00 EUR",  # ACME bears its net less the commission given back
        "5.50 EUR",  # BOLT's part
        "Opened",
        "Attachment",
        "photo.jpg",
        reverse("admin:refunds_refundcase_download", args=[worked_case.pk, attachment.pk]),
        'name="note-text"',  # the workbench forms
        case_url("breakdown", worked_case),
    ):
        assert text in page, text
    assert 'name="_save"' not in page  # status and amounts are never edited here
    assert 'name="status"' not in page


def test_it_shows_which_vendor_acknowledged_its_part(staff, alice, worked_case, acme):
    acknowledge_case(case=worked_case, vendor=acme, actor=alice)

    page = staff.get(case_url("change", worked_case)).content.decode()

    assert "by alice" in page
    assert "Acknowledged by vendor" in page


def test_it_ignores_a_direct_post_to_the_case_page(staff, worked_case):
    response = staff.post(case_url("change", worked_case), {"status": "completed"})

    assert response.status_code == 302
    worked_case.refresh_from_db()
    assert worked_case.status == CaseStatus.PENDING


def test_it_adds_a_note_through_the_case_page(staff, alice, worked_case, bolt):
    response = staff.post(
        case_url("note", worked_case),
        {"note-channel": "phone", "note-vendor": bolt.pk, "note-text": "Bolt agreed on the phone."},
    )

    assert response.status_code == 302
    assert response.url == case_url("change", worked_case)
    note = worked_case.events.get(kind=EventKind.NOTE)
    assert (note.channel, note.vendor, note.actor, note.text) == (
        EventChannel.PHONE,
        bolt,
        alice,
        "Bolt agreed on the phone.",
    )


def test_it_adds_an_internal_note_and_refuses_one_addressed_to_a_vendor(staff, worked_case, bolt):
    response = staff.post(
        case_url("note", worked_case),
        {"note-channel": "staff", "note-text": "Margin is thin here.", "note-internal": "on"},
    )
    assert response.status_code == 302
    assert worked_case.events.get(kind=EventKind.NOTE).internal is True

    refused = staff.post(
        case_url("note", worked_case),
        {"note-channel": "phone", "note-vendor": bolt.pk, "note-text": "x", "note-internal": "on"},
    )
    assert refused.status_code == 200
    assert "cannot be internal" in str(refused.context["item"].form.errors["internal"])
    assert worked_case.events.filter(kind=EventKind.NOTE).count() == 1


def test_it_refuses_an_empty_note_on_the_form(staff, worked_case):
    response = staff.post(case_url("note", worked_case), {"note-channel": "staff", "note-text": ""})

    assert response.status_code == 200
    assert response.context["item"].form.errors["text"]
    assert not worked_case.events.filter(kind=EventKind.NOTE).exists()


def test_it_uploads_an_attachment_through_the_case_page(staff, alice, worked_case):
    upload = SimpleUploadedFile("confirmation.pdf", b"%PDF-1.4 yes", content_type="application/pdf")

    response = staff.post(
        case_url("attachment", worked_case),
        {
            "attachment-file": upload,
            "attachment-note": "Vendor's OK",
            "attachment-channel": "email",
        },
    )

    assert response.status_code == 302
    attachment = Attachment.objects.get(case=worked_case)
    assert (attachment.filename, attachment.size, attachment.uploaded_by) == (
        "confirmation.pdf",
        12,
        alice,
    )
    assert attachment.event.kind == EventKind.ATTACHMENT
    assert attachment.event.channel == EventChannel.EMAIL


def test_it_shows_the_services_refusal_of_an_empty_file_on_the_file_field(staff, worked_case):
    upload = SimpleUploadedFile("empty.txt", b"", content_type="text/plain")

    response = staff.post(
        case_url("attachment", worked_case),
        {"attachment-file": upload, "attachment-channel": "staff"},
    )

    assert response.status_code == 200
    assert response.context["item"].form.errors["file"]
    assert not Attachment.objects.exists()


def test_it_assigns_the_owner_through_the_case_page(staff, alice, worked_case):
    bob = StaffFactory(username="bob")

    response = staff.post(case_url("owner", worked_case), {"owner-owner": bob.pk})

    assert response.status_code == 302
    worked_case.refresh_from_db()
    assert worked_case.owner == bob
    assert worked_case.events.filter(kind=EventKind.OWNER_ASSIGNED, actor=alice).exists()


def test_it_only_offers_active_staff_as_owner(staff, worked_case):
    customer = UserFactory(username="carol")

    response = staff.post(case_url("owner", worked_case), {"owner-owner": customer.pk})

    assert response.status_code == 200
    assert response.context["item"].form.errors["owner"]
    worked_case.refresh_from_db()
    assert worked_case.owner is None


def breakdown_post(case: RefundCase, **changes: str) -> dict[str, str]:
    data = {"reason": "Agreed with the vendors."}
    for row in case.liabilities.select_related("vendor"):
        for name in ("vendor_share", "platform_share", "commission_reversal"):
            data[f"liabilities.{row.vendor.code}.{name}"] = str(getattr(row, name))
    data.update({key.replace("__", "."): value for key, value in changes.items()})
    return data


def post_breakdown(staff, case: RefundCase, **changes: str):
    return staff.post(case_url("breakdown", case), breakdown_post(case, **changes))


# ACME's part (20.00) borne half by ACME, half by the platform.
ACME_HALF_AND_HALF = {
    "liabilities__ACME__vendor_share": "10.00",
    "liabilities__ACME__platform_share": "10.00",
}


def test_it_overrides_the_breakdown_of_a_pending_case(staff, alice, worked_case):
    assert staff.get(case_url("breakdown", worked_case)).status_code == 200

    response = post_breakdown(staff, worked_case, **ACME_HALF_AND_HALF)

    assert response.status_code == 302
    acme_row = worked_case.liabilities.get(vendor__code="ACME")
    bolt_row = worked_case.liabilities.get(vendor__code="BOLT")
    assert (acme_row.vendor_share, acme_row.platform_share, acme_row.overridden) == (
        D("10.00"),
        D("10.00"),
        True,
    )
    assert not bolt_row.overridden
    event = worked_case.events.get(kind=EventKind.BREAKDOWN_OVERRIDDEN)
    assert (event.actor, event.text) == (alice, "Agreed with the vendors.")
    assert [change["vendor"] for change in event.data["changes"]] == ["ACME"]


def test_it_shows_a_wrong_breakdown_sum_as_an_error_naming_the_vendor(staff, worked_case):
    response = post_breakdown(staff, worked_case, liabilities__ACME__vendor_share="15.00")

    assert response.status_code == 200
    errors = response.context["item"].form.non_field_errors()
    assert any("liabilities.ACME" in e and "must add up to 20.00" in e for e in errors)
    assert "must add up to 20.00" in response.content.decode()
    assert not worked_case.liabilities.filter(overridden=True).exists()


def test_it_puts_a_commission_reversal_refusal_on_its_field(staff, worked_case):
    response = post_breakdown(staff, worked_case, liabilities__ACME__commission_reversal="3.00")

    assert response.status_code == 200
    assert response.context["item"].form.errors["liabilities.ACME.commission_reversal"]


def test_it_refuses_to_override_the_breakdown_once_approved(staff, alice, worked_case):
    approve_case(case=worked_case, actor=alice)

    page = staff.get(case_url("breakdown", worked_case))
    assert page.status_code == 302
    assert any("only be overridden while pending" in m for m in messages_of(page))

    response = post_breakdown(staff, worked_case, **ACME_HALF_AND_HALF)
    assert response.status_code == 200
    assert "status: " in response.content.decode()
    assert not worked_case.liabilities.filter(overridden=True).exists()


# ---------------------------------------------------------------- attachments are staff-only


@pytest.fixture
def attachment(worked_case, alice):
    return add_attachment(
        case=worked_case,
        file=SimpleUploadedFile("proof.txt", b"the proof", content_type="text/plain"),
        actor=alice,
    )


def download_url(attachment: Attachment) -> str:
    return reverse("admin:refunds_refundcase_download", args=[attachment.case_id, attachment.pk])


def test_it_streams_an_attachment_to_staff(staff, attachment):
    response = staff.get(download_url(attachment))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"the proof"
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="proof.txt"' in response["Content-Disposition"]


def test_it_sends_non_staff_to_the_login_page_for_an_attachment(client, attachment):
    UserFactory(username="mallory")
    client.login(username="mallory", password=PASSWORD)

    response = client.get(download_url(attachment))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_it_refuses_an_attachment_to_staff_without_case_permissions(client, attachment):
    StaffFactory(username="intern", is_superuser=False)
    client.login(username="intern", password=PASSWORD)

    assert client.get(download_url(attachment)).status_code == 403


def test_it_lets_staff_with_view_permission_download(client, attachment):
    viewer = StaffFactory(username="viewer", is_superuser=False)
    viewer.user_permissions.add(Permission.objects.get(codename="view_refundcase"))
    client.login(username="viewer", password=PASSWORD)

    assert client.get(download_url(attachment)).status_code == 200
    assert (
        client.post(
            case_url("note", attachment.case), {"note-channel": "staff", "note-text": "hi"}
        ).status_code
        == 403
    )


def test_it_does_not_serve_an_attachment_through_another_case(staff, attachment, hat_case):
    url = reverse("admin:refunds_refundcase_download", args=[hat_case.pk, attachment.pk])

    assert staff.get(url).status_code == 404


# ---------------------------------------------------------------- bulk actions


def test_it_approves_pending_cases_in_bulk_and_reports_the_others(
    staff, alice, worked_case, hat_case, crab
):
    order = make_order(lines=[(crab, "HAT-02", 1, "10.00", "0")])
    approved = open_case(
        order=order,
        lines=[LineRequest(order_line_id=order.lines.get().pk, quantity=1, reason="goodwill")],
    )
    approve_case(case=approved, actor=alice)

    response = run_action(staff, "approve_selected", [worked_case, hat_case, approved])

    assert response.status_code == 302
    statuses = dict(RefundCase.objects.values_list("case_id", "status"))
    assert statuses == {
        worked_case.case_id: "approved",
        hat_case.case_id: "approved",
        approved.case_id: "approved",
    }
    reported = messages_of(response)
    assert any("2 cases approved" in m and worked_case.case_id in m for m in reported)
    assert (
        f"{approved.case_id} is approved: it is already approved; complete it next "
        "(not approved)." in reported
    )
    assert worked_case.events.filter(kind=EventKind.STATUS_CHANGED, actor=alice).exists()


@pytest.mark.parametrize("verb", ["reject", "cancel"])
def test_it_refuses_to_reject_or_cancel_without_a_reason(staff, worked_case, verb):
    response = run_action(staff, f"{verb}_selected", [worked_case], text="  ")

    assert response.status_code == 302
    assert messages_of(response) == [f"reason: give a reason to {verb} cases."]
    worked_case.refresh_from_db()
    assert worked_case.status == CaseStatus.PENDING


def test_it_rejects_with_a_reason_and_releases_the_order(staff, worked_case, worked_order):
    run_action(staff, "reject_selected", [worked_case], text="Not eligible.")

    worked_case.refresh_from_db()
    worked_order.refresh_from_db()
    assert worked_case.status == CaseStatus.REJECTED
    assert worked_case.events.get(to_status="rejected").text == "Not eligible."
    assert worked_order.refunded_amount == 0


def test_it_cancels_only_with_a_reason(staff, worked_case):
    run_action(staff, "cancel_selected", [worked_case])
    worked_case.refresh_from_db()
    assert worked_case.status == CaseStatus.PENDING

    run_action(staff, "cancel_selected", [worked_case], text="Customer withdrew.")
    worked_case.refresh_from_db()
    assert worked_case.status == CaseStatus.CANCELLED


def test_it_completes_approved_cases_with_the_gateway_reference(
    staff, alice, worked_case, hat_case
):
    approve_case(case=worked_case, actor=alice)

    response = run_action(staff, "complete_selected", [worked_case, hat_case], text="GW-42")

    worked_case.refresh_from_db()
    hat_case.refresh_from_db()
    assert (worked_case.status, worked_case.gateway_reference) == (CaseStatus.COMPLETED, "GW-42")
    assert hat_case.status == CaseStatus.PENDING
    assert f"{hat_case.case_id} is pending: approve it first (not completed)." in messages_of(
        response
    )


def test_it_closes_completed_cases(staff, alice, worked_case):
    approve_case(case=worked_case, actor=alice)
    complete_case(case=worked_case, actor=alice, gateway_reference="GW-1")

    run_action(staff, "close_selected", [worked_case])

    worked_case.refresh_from_db()
    assert worked_case.status == CaseStatus.CLOSED


def test_it_offers_no_way_to_add_or_delete_cases(staff, worked_case):
    assert staff.get(reverse("admin:refunds_refundcase_add")).status_code == 403
    page = staff.get(reverse(CHANGELIST)).content.decode()
    assert "delete_selected" not in page
    assert "approve_selected" in page
    assert 'name="text"' in page


# ---------------------------------------------------------------- orders, payments, reasons


def test_it_finds_orders_by_number_and_customer_email(staff, worked_order, crab):
    other = make_order(number="ORD-3003", lines=[(crab, "HAT-01", 1, "5.00", "0")])
    Order.objects.filter(pk=other.pk).update(customer_email="Kim@Example.com")
    url = reverse("admin:refunds_order_changelist")

    def numbers(term: str) -> list[str]:
        response = staff.get(url, {"q": term})
        assert response.status_code == 200
        return [order.number for order in response.context["cl"].result_list]

    assert numbers("ORD-1001") == ["ORD-1001"]
    assert numbers("ord-3003") == ["ORD-3003"]
    assert numbers("kim@example.com") == ["ORD-3003"]
    assert numbers("ORD-") == []


def test_it_shows_an_order_with_lines_and_payments_read_only(staff, worked_case, worked_order):
    response = staff.get(reverse("admin:refunds_order_change", args=[worked_order.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    for text in ("MUG-01", "TEE-01", "109.00 EUR", "27.50 EUR", "PAY-T", worked_case.case_id):
        assert text in page, text
    assert 'name="total_amount"' not in page
    assert 'name="_save"' not in page
    assert staff.get(reverse("admin:refunds_order_add")).status_code == 403
    posted = staff.post(
        reverse("admin:refunds_order_change", args=[worked_order.pk]), {"total_amount": "1"}
    )
    assert posted.status_code == 403


def test_it_shows_payments_and_channels_read_only(staff, worked_order):
    payment = worked_order.payments.get()

    response = staff.get(reverse("admin:refunds_payment_change", args=[payment.pk]))
    assert response.status_code == 200
    assert "109.00 EUR" in response.content.decode()
    assert staff.get(reverse("admin:refunds_payment_add")).status_code == 403
    channel = worked_order.channel
    assert staff.get(reverse("admin:refunds_channel_change", args=[channel.pk])).status_code == 200
    assert staff.get(reverse("admin:refunds_channel_add")).status_code == 403


def reason_form(**fields: str) -> dict[str, str]:
    data = {
        "code": "price_match",
        "label": "Price match",
        "vendor_share_percent": "50",
        "refund_commission_to_vendor": "on",
        "shipping_bearer": "platform",
        "platform_share_to": "allowances",
        "is_active": "on",
    }
    data.update(fields)
    return data


def test_it_lets_staff_add_a_reason_policy(staff):
    response = staff.post(reverse("admin:refunds_reasonpolicy_add"), reason_form())

    assert response.status_code == 302
    policy = ReasonPolicy.objects.get(code="price_match")
    assert (policy.vendor_share_percent, policy.shipping_bearer) == (D("50"), "platform")
    assert policy.platform_share_to == "allowances"


def test_a_reason_policy_may_charge_the_platforms_share_to_the_carrier(staff):
    response = staff.post(
        reverse("admin:refunds_reasonpolicy_add"),
        reason_form(code="lost_parcel", platform_share_to="carrier_claims"),
    )

    assert response.status_code == 302
    assert ReasonPolicy.objects.get(code="lost_parcel").platform_share_to == "carrier_claims"
    refused = staff.post(
        reverse("admin:refunds_reasonpolicy_add"),
        reason_form(code="lost_box", platform_share_to="the_courier"),
    )
    assert refused.context["adminform"].form.errors["platform_share_to"]


@pytest.mark.parametrize("percent", ["-1", "100.01", "150"])
def test_it_refuses_a_vendor_share_outside_0_to_100(staff, percent):
    response = staff.post(
        reverse("admin:refunds_reasonpolicy_add"), reason_form(vendor_share_percent=percent)
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["vendor_share_percent"]
    assert not ReasonPolicy.objects.filter(code="price_match").exists()


def test_it_fixes_the_code_of_a_reason_once_cases_use_it(staff, worked_case):
    used = ReasonPolicy.objects.get(code="damaged")
    unused = ReasonPolicy.objects.get(code="wrong_item")

    staff.post(
        reverse("admin:refunds_reasonpolicy_change", args=[used.pk]),
        reason_form(code="broken", label="Broken"),
    )
    staff.post(
        reverse("admin:refunds_reasonpolicy_change", args=[unused.pk]),
        reason_form(code="wrong_article", label="Wrong article"),
    )

    used.refresh_from_db()
    unused.refresh_from_db()
    assert (used.code, used.label) == ("damaged", "Broken")
    assert unused.code == "wrong_article"


def test_it_lists_every_admin_page_for_staff(staff, worked_case):
    for name in ("refundcase", "order", "payment", "channel", "reasonpolicy"):
        response = staff.get(reverse(f"admin:refunds_{name}_changelist"))
        assert response.status_code == 200, name
    assert CaseEvent.objects.filter(case=worked_case).exists()


# ---------------------------------------------------------------- reads like finance software


def test_every_refunds_model_names_itself_without_internal_ids(worked_case, worked_order, acme):
    mug = worked_order.lines.get(sku="MUG-01")
    quantity_line, amount_line = worked_case.lines.order_by("id")
    liability = worked_case.liabilities.get(vendor=acme)
    opened = worked_case.events.get(kind=EventKind.OPENED)
    payment = worked_order.payments.get()

    assert str(worked_order) == "ORD-1001"
    assert str(mug) == "ORD-1001 MUG-01 × 2"
    assert str(payment) == "Card payment 109.00 EUR (PAY-T)"
    assert str(worked_case) == worked_case.case_id
    assert str(quantity_line) == f"{worked_case.case_id} MUG-01 × 1"
    assert str(amount_line) == f"{worked_case.case_id} 5.50 EUR on TEE-01"
    assert str(liability) == f"{worked_case.case_id} ACME: 22.00 EUR"
    assert str(opened) == f"{worked_case.case_id} opened, {opened.created_at:%Y-%m-%d %H:%M}"
    assert str(ReasonPolicy.objects.get(code="damaged")) == "damaged"


def test_a_shipping_line_and_a_status_change_name_themselves(alice, worked_order):
    case = open_case(
        order=worked_order,
        lines=[],
        shipping_amount="10.00",
        shipping_reason="late_delivery",
        actor=alice,
    )
    approve_case(case=case, actor=alice)

    assert str(case.lines.get()) == f"{case.case_id} shipping 10.00 EUR"
    change = case.events.get(kind=EventKind.STATUS_CHANGED)
    assert str(change).startswith(f"{case.case_id} pending → approved, ")


def test_the_case_list_shows_amounts_with_separators_and_minor_units(staff, acme):
    yen = make_order(currency="JPY", lines=[(acme, "KETTLE", 3, "2420", "0")])
    yen_case = open_case(
        order=yen,
        lines=[LineRequest(order_line_id=yen.lines.get().pk, quantity=3, reason="damaged")],
    )
    dinar = make_order(currency="KWD", lines=[(acme, "LAMP", 1, "2750.5", "0")])
    dinar_case = open_case(
        order=dinar,
        lines=[LineRequest(order_line_id=dinar.lines.get().pk, quantity=1, reason="damaged")],
    )

    page = staff.get(reverse(CHANGELIST)).content.decode()

    assert yen_case.case_id in page and dinar_case.case_id in page
    assert "7,260 JPY" in page
    assert "2,750.500 KWD" in page
    assert "7260" not in page


def test_an_amount_line_shows_its_amount_not_a_quantity_of_0(staff, worked_case):
    response = staff.get(case_url("change", worked_case))

    page = response.content.decode()
    assert "1 unit" in page
    assert "amount 5.50 EUR" in page
    lines = response.context["inline_admin_formsets"][0]
    refunded = [
        field.contents()
        for form in lines
        for fieldset in form
        for line in fieldset
        for field in line
        if field.field["name"] == "refunded"
    ]
    assert refunded == ["1 unit", "amount 5.50 EUR"]


def test_the_case_page_offers_back_to_list_not_a_close_button(staff, worked_case):
    page = staff.get(case_url("change", worked_case)).content.decode()

    assert ">Back to list</a>" in page
    assert ">Close</a>" not in page
    assert "<h1>Refund case</h1>" in page


def test_inline_rows_are_titled_by_what_they_are(staff, worked_case, acme):
    page = staff.get(case_url("change", worked_case)).content.decode()

    assert f"{worked_case.case_id} ACME: 22.00 EUR" in page
    assert f"{worked_case.case_id} 5.50 EUR on TEE-01" in page
    liability = worked_case.liabilities.get(vendor=acme)
    assert f"{worked_case.pk} {acme.pk}: {liability.refund_amount}" not in page


# ---------------------------------------------------------------- bulk refusals say what to do


def test_a_disputed_case_is_refused_with_what_to_do(staff, alice, worked_case, acme):
    dispute_case(case=worked_case, vendor=acme, message="Not damaged.", actor=None)

    response = run_action(staff, "approve_selected", [worked_case])

    assert messages_of(response) == [
        f"{worked_case.case_id} is disputed: resolve the dispute on its case page first "
        "(not approved)."
    ]
    worked_case.refresh_from_db()
    assert worked_case.status == CaseStatus.DISPUTED


@pytest.mark.parametrize(
    ("action", "text", "expected"),
    [
        ("close_selected", "", "is pending: approve and complete it first (not closed)."),
        ("complete_selected", "GW-1", "is pending: approve it first (not completed)."),
    ],
)
def test_a_pending_case_is_refused_with_the_step_it_needs_first(
    staff, worked_case, action, text, expected
):
    response = run_action(staff, action, [worked_case], text=text)

    assert messages_of(response) == [f"{worked_case.case_id} {expected}"]
    worked_case.refresh_from_db()
    assert worked_case.status == CaseStatus.PENDING


def test_a_completed_case_cannot_be_cancelled_and_says_why(staff, alice, worked_case):
    approve_case(case=worked_case, actor=alice)
    complete_case(case=worked_case, actor=alice, gateway_reference="GW-1")

    response = run_action(staff, "cancel_selected", [worked_case], text="Changed our mind.")

    assert messages_of(response) == [
        f"{worked_case.case_id} is completed: the refund has been paid, so it can no longer "
        "be cancelled (not cancelled)."
    ]


def test_an_approved_case_offered_for_rejection_is_pointed_to_cancel(staff, alice, worked_case):
    approve_case(case=worked_case, actor=alice)

    response = run_action(staff, "reject_selected", [worked_case], text="Not eligible.")

    assert messages_of(response) == [
        f"{worked_case.case_id} is approved: only a pending case can be rejected; cancel it "
        "instead (not rejected)."
    ]


def test_every_refused_transition_has_a_hint_that_is_not_the_engines_wording():
    # Every pair the engine refuses from a bulk action gets a message staff can act on.
    from refunds.admin.actions import refusal_message
    from refunds.errors import TransitionNotAllowed
    from refunds.services.cases import TRANSITIONS

    bulk_targets = {
        CaseStatus.APPROVED: "approved",
        CaseStatus.COMPLETED: "completed",
        CaseStatus.CLOSED: "closed",
        CaseStatus.REJECTED: "rejected",
        CaseStatus.CANCELLED: "cancelled",
    }
    for current in CaseStatus.values:
        for wanted, verb in bulk_targets.items():
            if wanted in TRANSITIONS[current] and current != CaseStatus.DISPUTED:
                continue
            error = TransitionNotAllowed("RFND-20260101-AAAAAA", current, wanted)
            message = refusal_message("RFND-20260101-AAAAAA", verb, error)
            assert message.startswith(f"RFND-20260101-AAAAAA is {current}: "), message
            assert "cannot move from" not in message
            assert message.endswith(f"(not {verb}).")


# ---------------------------------------------------------------- outbox


@pytest.fixture
def parked(worked_case):
    """A ledger message that failed for good, as the drainer parks it."""
    message = OutboxMessage.objects.create(
        consumer="ledger",
        topic="case.opened",
        case=worked_case,
        order=worked_case.order,
        available_at=timezone.now(),
        attempts=10,
        last_error="OperationalError: could not obtain lock on row in relation ledger_journal",
        failed_at=timezone.now(),
    )
    return message


def test_failed_outbox_messages_are_listed_with_their_error_and_attempts(staff, parked):
    response = staff.get(reverse("admin:refunds_outboxmessage_changelist") + "?state=failed")

    assert response.status_code == 200
    assert [m.pk for m in response.context["cl"].result_list] == [parked.pk]
    page = response.content.decode()
    assert "Failed (parked)" in page
    assert "OperationalError: could not obtain lock on row" in page
    assert '<td class="field-attempts">10</td>' in page
    assert parked.case.case_id in page
    detail = staff.get(reverse("admin:refunds_outboxmessage_change", args=[parked.pk]))
    assert detail.status_code == 200
    assert f"Outbox message {parked.pk}: case.opened for ledger" in detail.content.decode()


def test_staff_retry_a_parked_message_and_the_drainer_takes_it(
    staff, parked, django_capture_on_commit_callbacks
):
    other = OutboxMessage.objects.create(
        consumer="ledger", topic="case.opened", available_at=timezone.now()
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = run_outbox_action(staff, [parked, other])

    assert response.status_code == 302
    assert len(callbacks) == 1  # the drain, queued once committed
    assert messages_of(response) == [
        "1 message given back to the drainer; a drain is queued.",
        "1 message not retried: not failed (still waiting for its first try) or already done.",
    ]
    # Tasks run eagerly in tests: the drain took the message and did its work.
    assert not OutboxMessage.objects.filter(pk=parked.pk).exists()


def test_retry_resets_the_message_for_the_drainer(parked, django_capture_on_commit_callbacks):
    from refunds.outbox import retry_messages

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert retry_messages(ids=[parked.pk]) == 1

    parked.refresh_from_db()
    assert (parked.failed_at, parked.attempts) == (None, 0)
    assert parked.available_at <= timezone.now()
    assert parked.last_error.startswith("OperationalError")  # kept until it succeeds
    assert len(callbacks) == 1


def test_staff_who_may_only_look_cannot_retry(client, parked):
    viewer = UserFactory(username="olga", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_outboxmessage"))
    assert client.login(username="olga", password=PASSWORD)

    page = client.get(reverse("admin:refunds_outboxmessage_changelist")).content.decode()
    assert "retry_selected" not in page
    run_outbox_action(client, [parked])

    parked.refresh_from_db()
    assert parked.failed_at is not None


def test_a_message_that_cannot_be_sent_is_logged_with_its_error(db, caplog):
    from refunds import outbox
    from refunds.tasks import drain_outbox

    with caplog.at_level("WARNING", logger="refunds.outbox"):
        sent = outbox.publish(drain_outbox, ["no-such-consumer"])

    assert sent is False
    record = next(r for r in caplog.records if "could not send" in r.getMessage())
    assert "refunds.tasks.drain_outbox" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is KeyError


def run_outbox_action(client, rows):
    return client.post(
        reverse("admin:refunds_outboxmessage_changelist"),
        {"action": "retry_selected", "_selected_action": [m.pk for m in rows], "index": 0},
    )


@pytest.mark.parametrize("form", ["note", "attachment", "owner", "breakdown"])
def test_a_workbench_page_leads_back_to_its_case(staff, worked_case, form):
    """admin/includes/model_crumbs.html with the case between the list and the form."""
    html = staff.get(case_url(form, worked_case)).content.decode()
    trail = html[html.index('<div class="breadcrumbs">') :]
    trail = trail[: trail.index("</div>")]
    changelist = reverse("admin:refunds_refundcase_changelist")
    case_link = f'<a href="{case_url("change", worked_case)}">{worked_case}</a>'
    assert f'href="{changelist}"' in trail
    assert case_link in trail
    assert trail.index(changelist) < trail.index(case_link)


def channel_form(**fields: str) -> dict[str, str]:
    data = {
        "tax_model": "seller",
        "jurisdiction": "DE",
        "shipping_tax": "follow_goods",
        "shipping_tax_rate": "0",
        "shipping_earned_by": "vendor",
    }
    data.update(fields)
    return data


def test_staff_change_a_channels_tax_settings_and_nothing_else(staff, worked_order):
    channel = worked_order.channel
    url = reverse("admin:refunds_channel_change", args=[channel.pk])

    response = staff.post(url, channel_form(source="hacked", payout_terms_days="99"))

    assert response.status_code == 302
    channel.refresh_from_db()
    assert (channel.source, channel.subsource, channel.payout_terms_days) == ("web", "eu-store", 14)
    assert (channel.tax_model, channel.jurisdiction) == ("seller", "DE")
    assert (channel.shipping_tax, channel.shipping_earned_by) == ("follow_goods", "vendor")
    assert staff.post(reverse("admin:refunds_channel_add"), channel_form()).status_code == 403
    assert staff.post(reverse("admin:refunds_channel_delete", args=[channel.pk])).status_code == 403


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"shipping_tax": "fixed", "shipping_tax_rate": "0"}, "shipping_tax_rate"),
        ({"shipping_tax": "fixed", "shipping_tax_rate": "1.5"}, "shipping_tax_rate"),
        ({"tax_model": "agent"}, "tax_model"),
    ],
)
def test_it_refuses_channel_tax_settings_that_cannot_post(staff, worked_order, fields, field):
    url = reverse("admin:refunds_channel_change", args=[worked_order.channel.pk])

    response = staff.post(url, channel_form(**fields))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field]
    worked_order.channel.refresh_from_db()
    assert worked_order.channel.tax_model == "facilitator"
