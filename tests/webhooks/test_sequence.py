"""Each payload about a case carries the case's sequence number: assigned with the
outbox message, in the transaction that writes it; monotonic per case, never
twice the same, no gap left by concurrent writers or a rollback."""

import pytest
from django.db import transaction
from django.utils import timezone

from refunds import outbox
from refunds.models import CaseEvent, EventKind, OutboxMessage, RefundCase
from refunds.services.breakdown import ShareOverride
from refunds.services.cases import (
    LineRequest,
    approve_case,
    complete_case,
    open_case,
    override_breakdown,
)
from tests.factories import make_order
from tests.threads import run_together
from webhooks.models import WebhookDelivery, WebhookEndpoint


def sequences(case: RefundCase) -> list[tuple[str, int]]:
    rows = WebhookDelivery.objects.filter(payload__data__case_id=case.case_id).order_by("id")
    return [(d.event_type, d.payload["data"]["sequence"]) for d in rows]


def test_a_cases_messages_are_numbered_in_the_order_they_were_written(
    worked_order, alice, open_worked_case
):
    WebhookEndpoint.objects.create(url="http://127.0.0.1:9/hooks")
    case = open_worked_case(worked_order)
    other = open_worked_case(worked_order)
    approve_case(case=case, actor=alice)
    complete_case(case=case, actor=alice, gateway_reference="re_1")
    outbox.drain("ledger")  # the credit note's message
    outbox.drain("webhooks")

    assert sequences(case) == [
        ("case.opened", 1),
        ("case.status_changed", 2),
        ("case.status_changed", 3),
        ("credit_note.created", 4),
    ]
    assert sequences(other) == [("case.opened", 1)]  # per case


def test_a_message_webhooks_do_not_send_leaves_a_gap_not_a_duplicate(
    worked_order, alice, open_worked_case
):
    """An overridden breakdown is news for vendors' notifications only: it takes
    a number, which receivers never see."""
    WebhookEndpoint.objects.create(url="http://127.0.0.1:9/hooks")
    case = open_worked_case(worked_order)
    (liability,) = case.liabilities.all()
    same = ShareOverride(liability.vendor_share, liability.platform_share, "0")
    override_breakdown(case=case, shares={"ACME": same}, reason="Checked", actor=alice)
    approve_case(case=case, actor=alice)
    outbox.drain("webhooks")
    assert sequences(case) == [("case.opened", 1), ("case.status_changed", 3)]


def test_a_rolled_back_message_gives_its_number_back(worked_order, alice, open_worked_case):
    case = open_worked_case(worked_order)
    event = case.events.get()
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.emit("case.status_changed", case=case, event=event)
        raise RuntimeError("the change failed after its message was written")
    approve_case(case=case, actor=alice)
    assert list(
        OutboxMessage.objects.filter(consumer="webhooks", case=case)
        .order_by("id")
        .values_list("topic", "sequence")
    ) == [("case.opened", 1), ("case.status_changed", 2)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("writers", [2, 16])
def test_concurrent_writers_to_one_case_get_every_number_once(acme, writers, monkeypatch):
    """Writers to one case (status changes and credit notes, as the case engine
    and the ledger write them) start together, each in its own transaction on
    its own connection."""
    # Nothing drains behind our back (tasks run eagerly here): the rows stay to be read.
    monkeypatch.setattr(outbox, "dispatch", lambda *consumers: None)
    order = make_order(lines=[(acme, "MUG-01", 2, "20.00", "0.10")])
    case = open_case(order=order, lines=[LineRequest(order.lines.get().pk, "damaged", quantity=1)])
    WebhookEndpoint.objects.create(url="http://127.0.0.1:9/hooks")

    def write(i: int) -> int:
        with transaction.atomic():
            if i % 2:
                outbox.emit_many([("credit_note.created", None, case, None)])
            else:
                event = CaseEvent.objects.create(
                    case=case,
                    kind=EventKind.STATUS_CHANGED,
                    from_status="pending",
                    to_status="approved",
                    created_at=timezone.now(),
                )
                outbox.emit("case.status_changed", case=case, event=event)
        return i

    assert run_together(writers, write) == list(range(writers))

    rows = list(
        OutboxMessage.objects.filter(consumer="webhooks", case=case)
        .order_by("id")
        .values_list("sequence", flat=True)
    )
    # 1 is the opening; then every writer's number exactly once, in commit order.
    assert rows == list(range(1, writers + 2))
    assert RefundCase.objects.get(pk=case.pk).event_sequence == writers + 1

    outbox.drain("webhooks")
    delivered = {
        d.event_type: d.payload["data"]["sequence"]
        for d in WebhookDelivery.objects.exclude(event_type="case.status_changed")
    }
    changes = sorted(
        WebhookDelivery.objects.filter(event_type="case.status_changed").values_list(
            "payload__data__sequence", flat=True
        )
    )
    # One delivery per status change, each with its own number; the credit
    # notes of one case are one message (the first one's number).
    assert len(changes) == len(set(changes)) == (writers + 1) // 2
    assert delivered["case.opened"] == 1
    assert set(changes) | {delivered["credit_note.created"]} <= set(rows)
