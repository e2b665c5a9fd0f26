"""The status table: every allowed move works and writes an event; every other
move is refused and changes nothing."""

from decimal import Decimal

import pytest

from refunds.errors import RefundError, TransitionNotAllowed
from refunds.models import CaseStatus, EventKind, RefundCase
from refunds.services.cases import (
    TRANSITIONS,
    LineRequest,
    ShareOverride,
    add_attachment,
    add_note,
    approve_case,
    assign_owner,
    cancel_case,
    close_case,
    complete_case,
    dispute_case,
    open_case,
    override_breakdown,
    reject_case,
    resolve_dispute,
)
from tests.factories import UserFactory

S = CaseStatus
D = Decimal

ALLOWED = {
    (S.PENDING, S.APPROVED),
    (S.PENDING, S.REJECTED),
    (S.PENDING, S.CANCELLED),
    (S.PENDING, S.DISPUTED),
    (S.APPROVED, S.COMPLETED),
    (S.APPROVED, S.CANCELLED),
    (S.APPROVED, S.DISPUTED),
    (S.COMPLETED, S.CLOSED),
    (S.COMPLETED, S.DISPUTED),
}


def test_the_table_is_the_designs_table():
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets if a != S.DISPUTED}
    assert table == ALLOWED
    assert TRANSITIONS[S.DISPUTED] == {S.PENDING, S.APPROVED, S.COMPLETED}


@pytest.fixture
def new_case(worked_order, acme, alice):
    mug, _ = worked_order.lines.order_by("sku")

    def make(status: str) -> RefundCase:
        case = open_case(order=worked_order, lines=[LineRequest(mug.pk, "damaged", amount="1")])
        path = {
            S.PENDING: [],
            S.APPROVED: [S.APPROVED],
            S.COMPLETED: [S.APPROVED, S.COMPLETED],
            S.CLOSED: [S.APPROVED, S.COMPLETED, S.CLOSED],
            S.REJECTED: [S.REJECTED],
            S.CANCELLED: [S.CANCELLED],
            S.DISPUTED: [S.DISPUTED],
        }[status]
        for step in path:
            move(case, step, acme, alice)
        case.refresh_from_db()
        assert case.status == status
        return case

    return make


def move(case, to_status, vendor, actor):
    if to_status == S.APPROVED:
        return approve_case(case=case, actor=actor)
    if to_status == S.COMPLETED:
        return complete_case(case=case, actor=actor, gateway_reference="re_1")
    if to_status == S.CLOSED:
        return close_case(case=case, actor=actor)
    if to_status == S.REJECTED:
        return reject_case(case=case, actor=actor, reason="no")
    if to_status == S.CANCELLED:
        return cancel_case(case=case, actor=actor, reason="no")
    if to_status == S.DISPUTED:
        return dispute_case(case=case, vendor=vendor, message="not ours", actor=actor)
    raise AssertionError(to_status)


TARGETS = [S.APPROVED, S.COMPLETED, S.CLOSED, S.REJECTED, S.CANCELLED, S.DISPUTED]


@pytest.mark.parametrize("from_status", list(S))
@pytest.mark.parametrize("to_status", TARGETS)
def test_every_move_outside_the_table_is_refused(new_case, acme, alice, from_status, to_status):
    case = new_case(from_status)
    events = case.events.count()
    if (from_status, to_status) in ALLOWED:
        move(case, to_status, acme, alice)
        case.refresh_from_db()
        assert case.status == to_status
        last = case.events.last()
        assert (last.kind, last.from_status, last.to_status) == (
            EventKind.STATUS_CHANGED,
            from_status,
            to_status,
        )
        assert last.actor == alice
    else:
        with pytest.raises(TransitionNotAllowed) as info:
            move(case, to_status, acme, alice)
        assert info.value.code == "invalid_transition"
        case.refresh_from_db()
        assert case.status == from_status
        assert case.events.count() == events


@pytest.mark.parametrize("from_status", [s for s in S if s != S.DISPUTED])
def test_only_a_disputed_case_can_be_resolved(new_case, alice, from_status):
    case = new_case(from_status)
    with pytest.raises(TransitionNotAllowed):
        resolve_dispute(case=case, message="done", actor=alice)


@pytest.mark.parametrize("before", [S.PENDING, S.APPROVED, S.COMPLETED])
def test_resolving_returns_the_case_to_where_it_was(new_case, acme, alice, before):
    case = new_case(before)
    dispute_case(case=case, vendor=acme, message="We never sold this", actor=alice)
    case.refresh_from_db()
    assert (case.status, case.status_before_dispute) == (S.DISPUTED, before)
    resolve_dispute(case=case, message="Checked the photos", actor=alice)
    case.refresh_from_db()
    assert (case.status, case.status_before_dispute) == (before, "")


def test_a_resolution_after_completion_can_adjust_the_breakdown(new_case, acme, alice):
    case = new_case(S.COMPLETED)
    dispute_case(case=case, vendor=acme, message="Courier broke it", actor=alice)
    resolve_dispute(
        case=case,
        message="Platform takes half",
        actor=alice,
        shares={"ACME": ShareOverride("0.45", "0.46", "0.05")},
    )
    row = case.liabilities.get()
    assert (row.vendor_share, row.platform_share, row.commission_reversal) == (
        D("0.45"),
        D("0.46"),
        D("0.05"),
    )
    assert row.overridden
    event = case.events.last()
    assert event.data["correction"] is True
    assert event.data["changes"][0]["before"]["vendor_share"] == "0.820"


def test_only_a_vendor_of_the_case_may_dispute_it(new_case, bolt, alice):
    case = new_case(S.PENDING)
    with pytest.raises(RefundError) as info:
        dispute_case(case=case, vendor=bolt, message="?", actor=alice)
    assert info.value.field == "vendor"


def test_reject_and_cancel_need_a_reason(new_case, alice):
    case = new_case(S.PENDING)
    with pytest.raises(RefundError) as info:
        reject_case(case=case, actor=alice, reason="  ")
    assert info.value.field == "reason"
    with pytest.raises(RefundError):
        cancel_case(case=case, actor=alice, reason="")


def test_timestamps_follow_the_status(new_case):
    case = new_case(S.CLOSED)
    assert case.initiated_at <= case.approved_at <= case.completed_at <= case.closed_at
    assert case.gateway_reference == "re_1"


def test_an_override_before_approval_is_logged(new_case, alice):
    case = new_case(S.PENDING)
    override_breakdown(
        case=case,
        shares={"ACME": ShareOverride("0.00", "0.91", "0")},
        reason="Known courier issue",
        actor=alice,
    )
    event = case.events.last()
    assert event.kind == EventKind.BREAKDOWN_OVERRIDDEN and event.actor == alice
    assert event.data["changes"][0]["after"]["platform_share"] == "0.91"


@pytest.mark.parametrize(
    ("shares", "field"),
    [
        ({"ACME": ShareOverride("0.50", "0.50")}, "liabilities.ACME"),
        ({"BOLT": ShareOverride("0", "0.91")}, "liabilities.BOLT"),
        ({"ACME": ShareOverride("0.81", "0.10", "0.2")}, "liabilities.ACME.commission_reversal"),
    ],
)
def test_an_override_must_cover_net_and_shipping(new_case, alice, shares, field):
    case = new_case(S.PENDING)
    with pytest.raises(RefundError) as info:
        override_breakdown(case=case, shares=shares, reason="x", actor=alice)
    assert info.value.field == field
    assert not case.liabilities.get().overridden


def test_an_override_after_approval_is_refused(new_case, alice):
    case = new_case(S.APPROVED)
    with pytest.raises(RefundError) as info:
        override_breakdown(
            case=case, shares={"ACME": ShareOverride("0", "0.91")}, reason="x", actor=alice
        )
    assert info.value.code == "invalid_transition"


def test_notes_attachments_and_owners_go_into_the_log(new_case, alice, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    case = new_case(S.PENDING)
    add_note(case=case, text="Customer called, sent photos", actor=alice, channel="phone")
    attachment = add_attachment(
        case=case,
        file=SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n....", content_type="image/png"),
        actor=alice,
        note="Photo of the broken mug",
    )
    bob = UserFactory(username="bob", is_staff=True)
    assign_owner(case=case, owner=bob, actor=alice)
    kinds = list(case.events.values_list("kind", flat=True))
    assert kinds == [
        EventKind.OPENED,
        EventKind.NOTE,
        EventKind.ATTACHMENT,
        EventKind.OWNER_ASSIGNED,
    ]
    assert attachment.event.kind == EventKind.ATTACHMENT
    assert attachment.file.read() == b"\x89PNG\r\n\x1a\n...."
    case.refresh_from_db()
    assert case.owner == bob


def test_owners_must_be_staff(new_case, alice):
    case = new_case(S.PENDING)
    with pytest.raises(RefundError) as info:
        assign_owner(case=case, owner=UserFactory(username="carol"), actor=alice)
    assert info.value.field == "owner"


def test_empty_notes_and_files_are_refused(new_case, alice):
    from django.core.files.uploadedfile import SimpleUploadedFile

    case = new_case(S.PENDING)
    with pytest.raises(RefundError) as info:
        add_note(case=case, text="", actor=alice)
    assert info.value.field == "text"
    with pytest.raises(RefundError) as info:
        add_attachment(case=case, file=SimpleUploadedFile("a.txt", b""), actor=alice)
    assert info.value.field == "file"
    with pytest.raises(RefundError) as info:
        add_note(case="RFND-20260101-AAAAAA", text="hi", actor=alice)
    assert info.value.code == "not_found"


def test_a_vendor_acknowledges_its_part_once(new_case, acme, bolt, alice):
    from refunds.services.cases import acknowledge_case

    case = new_case(S.PENDING)
    row = acknowledge_case(case=case, vendor=acme, actor=alice, message="Fine by us")
    assert row.acknowledged_at is not None and row.acknowledged_by == alice
    assert case.events.last().kind == EventKind.ACKNOWLEDGED
    with pytest.raises(RefundError) as info:
        acknowledge_case(case=case, vendor=acme, actor=alice)
    assert info.value.code == "duplicate"
    with pytest.raises(RefundError) as info:
        acknowledge_case(case=case, vendor=bolt, actor=alice)
    assert info.value.field == "vendor"
