"""History of money-bearing configuration (lib/history.py): every change is an
event with its author, events cannot be edited, the admin shows them, and a
refund line keeps the policy version that priced it."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import InternalError, transaction
from django.test import RequestFactory
from django.urls import reverse
from pghistory.models import MiddlewareEvents

from ledger.models import Account, AccountKind, ChannelMapping, CreditNoteSettings, TaxCode
from lib.history import history_context
from refunds.models import Channel, ReasonPolicy
from refunds.services.cases import LineRequest, open_case
from tests.api.conftest import client_for
from tests.factories import FinanceStaffFactory, StaffFactory, UserFactory
from vendors.models import Vendor

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
PASSWORD = "correct horse battery staple"


def events_of(obj) -> list:
    """The object's event rows, oldest first."""
    return list(obj.events.order_by("pgh_id").select_related("pgh_context"))


def form_data(response) -> dict:
    """What the admin change form would post back unchanged."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        data.update({management.add_prefix(n): management[n].value() for n in management.fields})
        forms.extend(formset.forms)
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else value
    return data


def make_vendor():
    return Vendor.objects.create(code="HIST", name="History Ltd")


def make_policy():
    return ReasonPolicy.objects.create(
        code="hist",
        label="History",
        vendor_share_percent=Decimal("100"),
        refund_commission_to_vendor=True,
        shipping_bearer="vendor",
    )


# model factory, field, new value as posted, new value as stored
ADMIN_EDITS = {
    "reason policy": (make_policy, "vendor_share_percent", "40.00", Decimal("40.00")),
    "vendor commission": (make_vendor, "commission_rate", "0.1500", Decimal("0.1500")),
    "vendor payout terms": (make_vendor, "payout_delay_days", "21", 21),
    "tax code": (
        lambda: TaxCode.objects.create(code="VAT-7", rate=Decimal("0.07"), tax_type="7% VAT"),
        "tax_type",
        "7% (VAT on Income)",
        "7% (VAT on Income)",
    ),
    "channel mapping": (
        lambda: ChannelMapping.objects.create(source="amazon", sales_account_code="210"),
        "sales_account_code",
        "215",
        "215",
    ),
    "credit note settings": (
        CreditNoteSettings.load,
        "default_refund_tax_rate",
        "0.2000",
        Decimal("0.2000"),
    ),
}


@pytest.mark.parametrize("case", ADMIN_EDITS, ids=list(ADMIN_EDITS))
def test_an_admin_change_is_recorded_with_its_author_and_shown_in_its_history(client, case):
    make, field, posted, stored = ADMIN_EDITS[case]
    obj = make()
    before = getattr(obj, field)
    alice = StaffFactory(username="alice")
    assert client.login(username="alice", password=PASSWORD)
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    data = form_data(client.get(url))
    data[field] = posted
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    obj.refresh_from_db()
    assert getattr(obj, field) == stored
    *_, update = events_of(obj)
    assert update.pgh_label == "update"
    assert getattr(update, field) == stored
    assert update.pgh_context.metadata["user"] == alice.pk
    assert update.pgh_context.metadata["url"] == url

    # The change page's History button leads to the object's events.
    history = client.get(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk])
    )
    assert history.status_code == 302
    page = client.get(history["Location"])
    assert page.status_code == 200
    assert page.context["title"] == "History of changes"
    listed = list(page.context["cl"].result_list)
    assert [e.pgh_label for e in listed][:1] == ["update"]
    assert listed[0].user == alice
    assert listed[0].pgh_diff[field] == [_json(before), _json(stored)]
    html = page.content.decode()
    assert "alice" in html and field in html


def _json(value):
    # pgh_diff holds the values as row_to_json wrote them.
    return float(value) if isinstance(value, Decimal) else value


def make_account():
    return Account.objects.create(
        code="1299", name="Clearing (test)", kind=AccountKind.ASSET, role="other"
    )


SERVICE_EDITS = {
    "reason policy": (make_policy, "label", "Changed"),
    "vendor": (make_vendor, "commission_rate", Decimal("0.2000")),
    "tax code": (
        lambda: TaxCode.objects.create(code="VAT-5", rate=Decimal("0.05"), tax_type="5%"),
        "tax_type",
        "5% X",
    ),
    "channel mapping": (
        lambda: ChannelMapping.objects.create(source="ebay"),
        "customer_name",
        "eBay",
    ),
    "credit note settings": (CreditNoteSettings.load, "channel_mapping_enabled", False),
    "account (payment method -> bank)": (make_account, "bank_account_code", "090"),
    "channel": (lambda: Channel.objects.create(source="pos"), "payout_terms_days", 30),
}


@pytest.mark.parametrize("case", SERVICE_EDITS, ids=list(SERVICE_EDITS))
def test_writes_outside_a_request_are_recorded_with_their_context(case):
    make, field, value = SERVICE_EDITS[case]
    robot = UserFactory(username="robot")
    with history_context(user=robot.pk, task="test"):
        obj = make()
        setattr(obj, field, value)
        obj.save()
    events = events_of(obj)
    labels = [e.pgh_label for e in events]
    # CreditNoteSettings' one row may predate the test: its migration snapshotted it.
    assert labels[-1] == "update" and labels[-2] in ("insert", "snapshot")
    update = events[-1]
    assert getattr(update, field) == value
    assert update.pgh_context.metadata == {"user": robot.pk, "task": "test"}


def test_an_unchanged_save_records_nothing(db):
    policy = make_policy()
    count = len(events_of(policy))
    policy.save()
    policy.refresh_from_db()
    assert len(events_of(policy)) == count
    assert policy.version == 1


def test_events_are_append_only(db):
    policy = make_policy()
    policy.label = "Changed"
    policy.save()
    event_model = type(events_of(policy)[0])
    with pytest.raises(InternalError), transaction.atomic():
        event_model.objects.filter(pgh_obj_id=policy.pk).update(label="Forged")
    with pytest.raises(InternalError), transaction.atomic():
        event_model.objects.filter(pgh_obj_id=policy.pk).delete()
    assert [e.label for e in events_of(policy)] == ["History", "Changed"]
    # ... and the admin offers no way to change or delete them.
    events_admin = admin.site._registry[MiddlewareEvents]
    request = RequestFactory().get("/")
    request.user = StaffFactory(username="root")
    assert not events_admin.has_change_permission(request)
    assert not events_admin.has_delete_permission(request)
    assert not events_admin.has_add_permission(request)


def test_the_history_is_shown_to_who_may_see_the_object_only(client, db):
    policy = make_policy()
    url = reverse("admin:refunds_reasonpolicy_history", args=[policy.pk])
    FinanceStaffFactory(username="farid")
    assert client.login(username="farid", password=PASSWORD)
    assert client.get(client.get(url)["Location"]).status_code == 200
    # Not every event, though: that is for superusers.
    events = reverse("admin:pghistory_middlewareevents_changelist")
    assert client.get(events).status_code == 403
    UserFactory(username="nobody", is_staff=True)
    assert client.login(username="nobody", password=PASSWORD)
    assert (
        client.get(f"{events}?method=tracks&obj=refunds.ReasonPolicy:{policy.pk}").status_code
        == 403
    )


def test_the_defaults_have_their_history_from_the_install(db):
    """The policies and accounts a new installation starts with (refunds.seed,
    ledger.seed) carry their first version in the history, as if staff had
    created them."""
    for policy in ReasonPolicy.objects.all():
        assert [(e.pgh_label, e.version) for e in events_of(policy)] == [("insert", 1)]
    accounts = Account.objects.all()
    assert accounts
    for account in accounts:
        events = events_of(account)
        assert events[0].pgh_label == "insert"
        assert events[-1].settles_to_id == account.settles_to_id


def test_a_case_keeps_the_policy_version_that_priced_it(client, worked_order):
    alice = StaffFactory(username="alice")
    damaged = ReasonPolicy.objects.get(code="damaged")
    priced_by = damaged.version
    assert [e.version for e in events_of(damaged)] == [priced_by]
    mug = worked_order.lines.get(sku="MUG-01")
    case = open_case(
        order=worked_order, lines=[LineRequest(order_line_id=mug.pk, quantity=1, reason="damaged")]
    )
    line = case.lines.get()
    assert line.policy_version == priced_by

    # Finance changes the policy afterwards, in the admin.
    assert client.login(username="alice", password=PASSWORD)
    url = reverse("admin:refunds_reasonpolicy_change", args=[damaged.pk])
    data = form_data(client.get(url))
    data["vendor_share_percent"] = "50.00"
    assert client.post(url, data).status_code == 302
    damaged.refresh_from_db()
    assert damaged.version == priced_by + 1

    # The case still names the version that priced it: database, API, admin.
    line.refresh_from_db()
    assert line.policy_version == priced_by
    detail = client_for(alice).get(f"/api/v1/refund-cases/{case.case_id}/")
    assert detail.status_code == 200
    assert [ln["policy_version"] for ln in detail.json()["lines"]] == [priced_by]
    page = client.get(reverse("admin:refunds_refundcase_change", args=[case.pk]))
    assert f">v{priced_by}</a>" in page.content.decode()

    # The policy's history holds both versions, and the one that priced the case.
    versions = {e.version: e for e in events_of(damaged)}
    assert versions[priced_by].vendor_share_percent == Decimal("100.00")
    assert versions[priced_by + 1].vendor_share_percent == Decimal("50.00")
    assert versions[priced_by + 1].pgh_context.metadata["user"] == alice.pk
    history = client.get(
        client.get(reverse("admin:refunds_reasonpolicy_history", args=[damaged.pk]))["Location"]
    )
    rows = {r.pgh_data["version"]: r for r in history.context["cl"].result_list}
    # (Both changes fall in the test's one transaction: same time, either order.)
    assert {priced_by, priced_by + 1} <= set(rows)
    assert rows[priced_by + 1].pgh_diff["vendor_share_percent"] == [100.0, 50.0]


def test_a_policy_changed_by_plain_sql_gets_a_new_version_too(db):
    policy = make_policy()
    ReasonPolicy.objects.filter(pk=policy.pk).update(label="Via SQL")
    ReasonPolicy.objects.filter(pk=policy.pk).update(label="Via SQL")  # no change: same version
    policy.refresh_from_db()
    assert policy.version == 2
    assert [e.version for e in events_of(policy)] == [1, 2]


def test_an_api_write_is_recorded_with_the_api_user(db):
    fiona = StaffFactory(username="fiona")
    response = client_for(fiona).post(
        "/api/v1/vendors/",
        {"code": "APIV", "name": "Via API", "commission_rate": "0.1200"},
        format="json",
    )
    assert response.status_code == 201, response.content
    (insert,) = events_of(Vendor.objects.get(code="APIV"))
    assert insert.pgh_label == "insert"
    assert insert.commission_rate == Decimal("0.1200")
    assert insert.pgh_context.metadata == {"user": fiona.pk, "url": "/api/v1/vendors/"}
