"""Redis goes down: the services keep working, and the backlog drains after.

A real worker drains the outbox until Redis is killed (SIGKILL, no persistence:
everything queued is lost, as in a crash). While it is down, cases are
completed and orders recorded through the services: each call succeeds, fast
(queueing the drain fails at once instead of retrying), and the outbox keeps
the work. Redis comes back on the same port, the same worker reconnects, the
periodic sweep (sent here as beat would send it) queues the drains, and the
backlog is posted: every journal, outbox empty, ledger balanced.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal

import pytest

from ledger.models import Journal, JournalKind
from refunds.models import CaseStatus, OutboxMessage
from refunds.services.cases import LineRequest, approve_case, complete_case, open_case
from refunds.tasks import sweep_outbox
from tests.factories import VendorFactory, make_order
from tests.faults.conftest import ledger_problems, outbox_state, wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CASES = 30  # completed during the outage
NEW_ORDERS = 10  # recorded during the outage
# Seconds. A call that waits for the dead broker takes 6 s or more per consumer
# (kombu's reconnection loop); one that gives up at once takes milliseconds.
SLOW_CALL = 3.0
MIN_OUTAGE = 3.0  # seconds, long enough for the worker to notice


def test_services_work_while_the_broker_is_down_and_the_backlog_drains_after(
    workers, broker, caplog
):
    worker = workers.start("w1")
    acme = VendorFactory(code="ACME", commission_rate=Decimal("0.1000"))
    bolt = VendorFactory(code="BOLT", commission_rate=Decimal("0.1500"))

    def order(i: int):
        return make_order(
            shipping="3.00",
            lines=[(acme, "MUG-01", 1 + i % 2, "20.00", "0.10"), (bolt, "TEE-01", 1, "15.00", "0")],
        )

    # Before the outage: orders with approved cases, drained by the worker.
    orders = [order(i) for i in range(CASES)]
    cases = []
    for placed in orders:
        line = placed.lines.order_by("id").first()
        case = open_case(order=placed, lines=[LineRequest(line.pk, "damaged", quantity=1)])
        cases.append(approve_case(case=case, actor=None))
    wait_for(lambda: not OutboxMessage.objects.exists(), 90, outbox_state)
    assert Journal.objects.filter(kind=JournalKind.SALE).count() == CASES
    queue = broker.client()
    wait_for(
        lambda: queue.llen("default") == 0 and queue.hlen("unacked") == 0,
        60,
        "the queue to empty",
    )

    # The outage.
    broker.kill()
    outage_started = time.monotonic()
    timings: list[float] = []
    with caplog.at_level(logging.WARNING, logger="refunds.outbox"):
        for i, case in enumerate(cases):
            started = time.monotonic()
            done = complete_case(case=case, actor=None, gateway_reference=f"re_{i}")
            timings.append(time.monotonic() - started)
            assert done.status == CaseStatus.COMPLETED
            assert timings[-1] < SLOW_CALL, f"complete_case took {timings[-1]:.1f} s"
        late_orders = []
        for i in range(NEW_ORDERS):
            started = time.monotonic()
            late_orders.append(order(i))
            timings.append(time.monotonic() - started)
            assert timings[-1] < SLOW_CALL, f"create_order took {timings[-1]:.1f} s"
    lost = [
        r
        for r in caplog.records
        if r.getMessage() == "outbox: could not queue a drain of ledger; the sweeper will"
    ]
    print(
        f"during the outage: {len(timings)} service calls, slowest {max(timings) * 1000:.0f} ms, "
        f"mean {sum(timings) / len(timings) * 1000:.0f} ms"
    )
    assert len(lost) == CASES + NEW_ORDERS  # every dispatch failed, and was let go
    # The work waits in the outbox, committed with the changes.
    assert OutboxMessage.objects.filter(consumer="ledger").count() == CASES + NEW_ORDERS
    assert not Journal.objects.filter(kind=JournalKind.REFUND).exists()
    time.sleep(max(0.0, MIN_OUTAGE - (time.monotonic() - outage_started)))
    assert worker.process.poll() is None, "the worker died with the broker"

    # Redis is back, empty. The sweep queues what the lost dispatches did not.
    broker.start()
    restarted = time.monotonic()
    sweep_outbox.apply_async()
    wait_for(lambda: not OutboxMessage.objects.exists(), 120, outbox_state)
    print(f"backlog drained {time.monotonic() - restarted:.1f} s after Redis came back")
    assert worker.process.poll() is None  # the same worker, reconnected

    expected = {f"sale:{o.pk}" for o in orders + late_orders} | {f"refund:{c.pk}" for c in cases}
    keys = list(Journal.objects.values_list("posting_key", flat=True))
    assert len(keys) == len(expected)
    assert set(keys) == expected
    assert ledger_problems() == []
