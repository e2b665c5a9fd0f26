"""The outbox under fire: real Celery workers on a real Redis, killed over and
over while they drain, must still post every event exactly once.

2,000 events that each post one journal (1,800 sales and 200 refund
completions; the 200 approvals in between are events that post nothing) are
produced through the services, by two threads, while:

* the test sends SIGKILL to pool processes, preferably busy ones, at least
  20 times;
* fault points in the workers (tests/faults/fault_app.py) kill their own
  process in the middle of posting, after the handler but before the commit,
  and after the commit but before the task's message is acknowledged.

The workers run the production Celery settings: late acknowledgement, a killed
pool process's message requeued by the worker (reject on worker lost), one
message prefetched at a time, and a visibility timeout far longer than any
task, so every redelivery seen here came from the requeue, not from Redis
timing a message out. Afterwards: exactly one journal per event, the outbox
empty, every journal balanced, the maintained balances equal to the entries,
and the trial balance nets to zero.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count

from ledger.models import Journal, JournalKind
from refunds.models import OutboxMessage
from refunds.services.cases import LineRequest, approve_case, complete_case, open_case
from refunds.tasks import drain_outbox, sweep_outbox
from tests.factories import VendorFactory, make_order
from tests.faults.conftest import ledger_problems, outbox_state, wait_for

pytestmark = [
    pytest.mark.postgres,
    # Workers are other processes: they only see committed data. serialized_rollback
    # restores the reason codes and chart of accounts seeded by data migrations.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SALES = 1800
REFUND_EVERY = 9  # every ninth order is partly refunded
REFUNDS = SALES // REFUND_EVERY
PRODUCERS = 2
EVENTS = SALES + REFUNDS
MIN_TEST_KILLS = 20
BATCH_SIZE = 20  # small batches: many transactions for the kills to land in
FAULTS = {  # every Nth pass of a fault point kills its pool process
    "FAULT_EVERY_MID_POSTING": "61",
    "FAULT_EVERY_BEFORE_COMMIT": "53",
    "FAULT_EVERY_AFTER_COMMIT": "47",
}
SWEEP_EVERY = 5.0  # seconds; beat's 60 s, sped up
DRAIN_TIMEOUT = 180
QUEUE_TIMEOUT = 180
POINTS = ("mid_posting", "before_commit", "after_commit")  # see fault_app


class Chaos(threading.Thread):
    """SIGKILLs pool processes (busy ones first) and, like beat, sweeps the outbox."""

    def __init__(self, workers, store, seed: int) -> None:
        super().__init__(daemon=True)
        self.workers = workers
        self.store = store
        self.random = random.Random(seed)
        self.halt = threading.Event()
        self.kills: list[tuple[int, bool]] = []  # (pid, was busy)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            next_sweep = time.monotonic() + SWEEP_EVERY
            while not self.halt.wait(self.random.uniform(1.0, 3.0)):
                self.kill_one()
                if time.monotonic() > next_sweep:
                    sweep_outbox.apply_async()
                    next_sweep = time.monotonic() + SWEEP_EVERY
        except BaseException as error:  # reported by the test
            self.error = error

    def kill_one(self) -> None:
        pool = sorted(pid for worker in self.workers for pid in worker.children())
        busy = sorted({int(pid) for pid in self.store.smembers("busy")} & set(pool))
        candidates = busy or pool
        if not candidates:
            return
        pid = self.random.choice(candidates)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        self.store.srem("busy", pid)
        self.kills.append((pid, pid in busy))

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=30)
        assert not self.is_alive(), "the chaos thread hung"
        if self.error is not None:
            raise self.error


def produce(vendors, numbers: range) -> set[str]:
    """Events through the services; returns the posting keys they must make."""
    expected: set[str] = set()
    try:
        for i in numbers:
            first, second = vendors[i % 3], vendors[(i + 1) % 3]
            order = make_order(
                shipping="4.90",
                method="card" if i % 2 else "paypal",
                lines=[
                    (first, f"SKU-{i % 7}", 1 + i % 3, "12.40", "0.20"),
                    (second, f"SKU-{i % 5}", 1, "7.25", "0.10"),
                ],
            )
            expected.add(f"sale:{order.pk}")
            if i % REFUND_EVERY == 0:
                line = order.lines.order_by("id").first()
                case = open_case(order=order, lines=[LineRequest(line.pk, "damaged", quantity=1)])
                approve_case(case=case, actor=None)
                complete_case(case=case, actor=None, gateway_reference=f"re_{i}")
                expected.add(f"refund:{case.pk}")
    finally:
        connection.close()
    return expected


def produce_concurrently(vendors) -> set[str]:
    """PRODUCERS threads, each on its own connection, as web processes would."""
    with ThreadPoolExecutor(PRODUCERS) as pool:
        parts = pool.map(lambda n: produce(vendors, range(n, SALES, PRODUCERS)), range(PRODUCERS))
        return set().union(*parts)


def test_every_event_posts_exactly_once_while_workers_are_killed(workers, broker):
    from config.celery import app

    # The production settings this test relies on (the workers load the same).
    assert app.conf.task_acks_late and drain_outbox.acks_late and sweep_outbox.acks_late
    assert app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1
    visibility_timeout = app.conf.broker_transport_options["visibility_timeout"]
    assert visibility_timeout >= 300

    store = broker.client(db=1)
    queue = broker.client(db=0)

    def counter(key: str) -> int:
        return int(store.get(key) or 0)

    env = {
        "FAULT_REDIS_URL": broker.url(db=1),
        "OUTBOX_BATCH_SIZE": str(BATCH_SIZE),
        "DATABASE_CONN_MAX_AGE": "60",
        **FAULTS,
    }
    fleet = [workers.start("w1", **env), workers.start("w2", **env)]
    vendors = [
        VendorFactory(code=code, commission_rate=Decimal(rate))
        for code, rate in (("ACME", "0.1000"), ("BOLT", "0.1500"), ("CRUX", "0.0800"))
    ]

    started = time.monotonic()
    seed = int(started * 1000)
    chaos = Chaos(fleet, store, seed)
    chaos.start()
    try:
        expected = produce_concurrently(vendors)
        produce_seconds = time.monotonic() - started
        wait_for(lambda: len(chaos.kills) >= MIN_TEST_KILLS, 120, f"{MIN_TEST_KILLS} kills")
    finally:
        chaos.stop()

    # Drain: the workers finish the backlog (faults still on); sweep as beat would.
    last_sweep = time.monotonic()

    def drained() -> bool:
        nonlocal last_sweep
        if not OutboxMessage.objects.exists():
            return True
        if time.monotonic() - last_sweep > SWEEP_EVERY:
            sweep_outbox.apply_async()
            last_sweep = time.monotonic()
        return False

    wait_for(drained, DRAIN_TIMEOUT, outbox_state, every=0.5)
    total_seconds = time.monotonic() - started
    # A killed task's message is requeued at the back of the queue, behind the
    # drains dispatched since: if none has come round yet, let the workers go on.
    wait_for(
        lambda: counter("redeliveries") > 0,
        QUEUE_TIMEOUT,
        lambda: f"a redelivered task to run ({queue.llen('default')} tasks queued)",
        every=0.5,
    )
    workers.stop_all()
    queued = [json.loads(raw) for raw in queue.lrange("default", 0, -1)]
    # Requeued messages are marked redelivered: those still waiting, plus the
    # redeliveries that ran, are the killed tasks that came back.
    waiting = sum(1 for message in queued if message["headers"].get("redelivered"))

    fault_kills = {point: counter(f"kills:{point}") for point in POINTS}
    redeliveries = counter("redeliveries")
    report = (
        f"{EVENTS} events produced in {produce_seconds:.1f} s, outbox drained after "
        f"{total_seconds:.1f} s ({len(queued)} tasks still queued, {waiting} of them "
        f"requeued); SIGKILLs from the "
        f"test: {len(chaos.kills)} ({sum(busy for _, busy in chaos.kills)} of busy "
        f"processes), from fault points: "
        f"{fault_kills}; redeliveries: {redeliveries} (flagged by the broker: "
        f"{counter('redelivered_flag')}); drain tasks started: "
        f"{counter('started:refunds.tasks.drain_outbox')}; chaos seed {seed}"
    )
    print(report)

    # The SIGKILLs landed, and killed tasks really ran again: requeued by the
    # worker, not timed out by Redis (nothing here lasts the visibility timeout).
    assert len(chaos.kills) >= MIN_TEST_KILLS, report
    assert all(fault_kills.values()), report
    assert redeliveries > 0, report
    # Every task killed by a fault point (always inside a task) was requeued.
    assert redeliveries + waiting >= sum(fault_kills.values()), report
    assert time.monotonic() - started < visibility_timeout

    # Exactly one effect per event: nothing lost, nothing twice, nothing parked.
    assert OutboxMessage.objects.count() == 0
    keys = list(Journal.objects.values_list("posting_key", flat=True))
    assert len(keys) == EVENTS
    assert set(keys) == expected
    assert Journal.objects.filter(kind=JournalKind.SALE).count() == SALES
    assert Journal.objects.filter(kind=JournalKind.REFUND).count() == REFUNDS
    twice = (
        Journal.objects.values("kind", "order_id", "case_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not twice, f"posted twice: {list(twice)}"

    # Balanced: every journal, the maintained balances against the entries,
    # and the trial balance.
    assert ledger_problems() == []
