"""Timing blocks and statement probes of bench.cases."""

from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench.cases.setup import Job
from bench.common import statement_kind, statement_label

# ---------------------------------------------------------------- measuring

OpenCase = Callable[[Job], None]


@dataclass(frozen=True)
class Block:
    """A run of consecutive cases on one side: wall time and each case's latency."""

    seconds: float
    latencies_ns: list[int]

    @property
    def rate(self) -> float:
        return len(self.latencies_ns) / self.seconds


def timed(open_one: OpenCase, jobs: Sequence[Job]) -> Block:
    gc.collect()
    latencies: list[int] = []
    clock = time.perf_counter_ns
    started = clock()
    for job in jobs:
        before = clock()
        open_one(job)
        latencies.append(clock() - before)
    return Block((clock() - started) / 1e9, latencies)


def open_with_service(job: Job) -> None:
    from refunds.services.cases import open_case

    open_case(order=job.order_id, lines=job.requests)


class Probe:
    """Counts the statements of the cases opened while it listens, and times them.

    Per statement label it adds up the time spent in the statement (sending it,
    the server, the result) and the time the client spent before it, since the
    previous statement ended (or the case started): building the query, making
    objects of the rows before it, pricing. COMMIT is timed like a statement;
    psycopg2's implicit BEGIN travels with the first statement, so it is
    counted but its time is in that statement's. It also adds up the CPU time
    the client thread used per case, which waiting (for the server, or for a
    busy machine's CPU) does not inflate.
    """

    def __init__(self) -> None:
        self.cases = 0
        self.counts: Counter[str] = Counter()
        self.client_ns: Counter[str] = Counter()
        self.statement_ns: Counter[str] = Counter()
        self.labels: list[str] = []
        self.cpu_ns = 0
        self._last = 0

    def open(self, open_one: OpenCase, job: Job) -> None:
        self.cases += 1
        cpu = time.thread_time_ns()
        self._last = time.perf_counter_ns()
        open_one(job)
        self.client_ns["(after COMMIT)"] += time.perf_counter_ns() - self._last
        self.cpu_ns += time.thread_time_ns() - cpu

    def begin(self) -> None:
        self.counts["BEGIN"] += 1

    @contextmanager
    def statement(self, query: str | bytes) -> Iterator[None]:
        text = query.decode() if isinstance(query, bytes) else query
        started = time.perf_counter_ns()
        label = statement_label(text)
        if label not in self.labels:
            self.labels.append(label)
        self.counts[statement_kind(text)] += 1
        self.client_ns[label] += started - self._last
        try:
            yield
        finally:
            self._last = time.perf_counter_ns()
            self.statement_ns[label] += self._last - started

    def per_case(self, *, round_trips: bool) -> float:
        total = sum(self.counts.values())
        if not round_trips:
            total -= self.counts["BEGIN"] + self.counts["COMMIT"]
        return total / self.cases

    def ms_per_case(self, nanoseconds: int) -> float:
        return nanoseconds / self.cases / 1e6

    def kinds(self) -> str:
        order = ["BEGIN", "SELECT", "SAVEPOINT", "INSERT", "RELEASE", "UPDATE", "COMMIT"]
        kinds = order + sorted(k for k in self.counts if k not in order)
        return ", ".join(f"{k} {self.counts[k] / self.cases:g}" for k in kinds if self.counts[k])


@contextmanager
def probing_service(probe: Probe) -> Iterator[None]:
    """Route the service's statements, BEGIN and COMMIT through `probe`.

    Statements (SAVEPOINT and RELEASE included) pass an execute wrapper. BEGIN
    and COMMIT never go through a cursor: psycopg2 sends BEGIN before the first
    statement once Django turns autocommit off, and COMMIT on commit(), so those
    two calls on the connection are watched instead.
    """
    from django.db import connections

    conn = connections["default"]
    set_autocommit, commit = conn.set_autocommit, conn.commit

    def wrapper(execute: Any, query: str, params: Any, many: bool, context: Any) -> Any:
        with probe.statement(query):
            return execute(query, params, many, context)

    def probed_set_autocommit(autocommit: bool, *args: Any, **kwargs: Any) -> None:
        if not autocommit:
            probe.begin()
        set_autocommit(autocommit, *args, **kwargs)

    def probed_commit() -> None:
        with probe.statement("COMMIT"):
            commit()

    conn.set_autocommit = probed_set_autocommit
    conn.commit = probed_commit
    try:
        with conn.execute_wrapper(wrapper):
            yield
    finally:
        del conn.set_autocommit
        del conn.commit
