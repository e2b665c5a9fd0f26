"""The fault run: integrator POSTs under PostgreSQL crashes, Redis outages and
SIGKILLed workers, then an account of what was lost, duplicated and whether
the ledger is clean.

    python -m bench.drills.faults             # 8,000 POSTs, 6 threads, every fault
    python -m bench.drills.faults --quick     # 800 POSTs, one of each fault, short outages

Each of `--posts` logical POSTs carries an Idempotency-Key and is retried with
it (transport errors, 5xx, 503, 429, retryable 409) until a final answer. The
POSTs come in units of four per order: the order, a refund case on it, its
approval and its completion (which posts the refund journal and issues the
credit note through the outbox). While they run, faults fire at evenly
spaced points of progress: `pg_ctl stop -m immediate` of the stack's own
PostgreSQL and a restart after `--pg-down` seconds; Redis killed and restarted
after `--redis-down` seconds; SIGKILL of a Celery pool process, of the whole
Celery worker (restarted, as a supervisor would) and of a gunicorn worker
(gunicorn's master replaces it). Then it waits for the outbox to drain, counts
per logical operation the rows it left (lost: none; duplicated: more than one),
runs `manage.py check_ledger` and `check_cash`, and exits non-zero on any loss,
duplicate, refusal or finding. docs/drills.md shows a run.
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bench.common import load_average, print_table
from bench.drills.client import ApiClient, Totals
from bench.drills.figures import Tally, account
from bench.drills.outcome import drill_main, drill_stack, print_check, print_memory, say, verdict
from bench.drills.seed import case_body, order_body, seed
from bench.drills.stack import (
    Stack,
    close_django_connections,
)
from lib.processes import live_children

POSTS_PER_UNIT = 4  # order, case, approve, complete
KINDS = ("order", "case", "approve", "complete")


@dataclass
class Fault:
    kind: str
    at: float  # fraction of the logical POSTs done when it fires
    fired_at: float | None = None  # fraction when it actually fired
    seconds: float = 0.0
    what: str = ""


@dataclass
class Progress:
    total: int
    done: int = 0
    finished: bool = False
    answered: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in KINDS})
    unfinished: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def step(self, kind: str, number: str, ok: bool) -> None:
        with self.lock:
            self.done += 1
            if ok:
                self.answered[kind].add(number)
            else:
                self.unfinished.append(f"{kind} {number}")

    @property
    def fraction(self) -> float:
        return self.done / self.total


def plan(args: argparse.Namespace) -> list[Fault]:
    """The faults, interleaved by kind, at even points between 5 % and 85 %."""
    kinds = {
        "postgres": args.pg_stops,
        "redis": args.redis_outages,
        "celery-pool": args.celery_kills,
        "celery-worker": args.celery_restarts,
        "gunicorn": args.web_kills,
    }
    order: list[str] = []
    while any(kinds.values()):
        for kind in list(kinds):
            if kinds[kind]:
                order.append(kind)
                kinds[kind] -= 1
    n = len(order)
    return [Fault(kind, 0.05 + 0.80 * (i + 0.5) / n) for i, kind in enumerate(order)]


def kill_one(pids: Sequence[int], rng: random.Random, what: str, none_left: str) -> str:
    """SIGKILL one of `pids` (`what` they are), picked at random; says what was done."""
    if not pids:
        return none_left
    victim = rng.choice(pids)
    os.kill(victim, signal.SIGKILL)
    return f"{what} {victim} SIGKILLed (of {len(pids)})"


def fire(fault: Fault, stack: Stack, args: argparse.Namespace, rng: random.Random) -> None:
    started = time.monotonic()
    if fault.kind == "postgres":
        stack.postgres.stop("immediate")
        time.sleep(args.pg_down)
        restart = time.monotonic()
        stack.postgres.start()
        fault.what = (
            f"PostgreSQL stopped -m immediate, started after {args.pg_down:g} s "
            f"(crash recovery and start {time.monotonic() - restart:.1f} s)"
        )
    elif fault.kind == "redis":
        stack.redis.kill()
        time.sleep(args.redis_down)
        stack.redis.start()
        fault.what = f"Redis killed, started again (empty) after {args.redis_down:g} s"
    elif fault.kind == "celery-pool":
        fault.what = kill_one(
            live_children(stack.worker.pid),
            rng,
            "Celery pool process",
            "Celery pool: no process to kill",
        )
    elif fault.kind == "celery-worker":
        victim = stack.worker.pid
        stack.worker.kill_all()
        stack.restart_worker()
        fault.what = (
            f"Celery worker {victim} and its pool SIGKILLed, restarted "
            f"({time.monotonic() - started:.1f} s to ready)"
        )
    elif fault.kind == "gunicorn":
        fault.what = kill_one(
            stack.web_workers_pids(), rng, "gunicorn worker", "gunicorn: no worker to kill"
        )
    fault.seconds = time.monotonic() - started


def supervise(stack: Stack, say: Callable[[str], None]) -> None:
    """Restart a Celery worker or beat that exited on its own (as a supervisor would)."""
    if not stack.worker.alive():
        say("the Celery worker had exited on its own: restarting it")
        stack.restart_worker()
    if not stack.beat.alive():
        say("Celery beat had exited on its own: restarting it")
        stack.beat.restarts += 1
        stack.beat.start()


def fault_thread(
    faults: list[Fault],
    progress: Progress,
    stack: Stack,
    args: argparse.Namespace,
    say: Callable[[str], None],
    failures: list[str],
) -> None:
    rng = random.Random(args.seed)
    try:
        for fault in faults:
            while progress.fraction < fault.at and not progress.finished:
                time.sleep(0.05)
                supervise(stack, say)
            fault.fired_at = progress.fraction
            fire(fault, stack, args, rng)
            late = " (after the load ended)" if progress.finished else ""
            say(f"  at {100 * fault.fired_at:3.0f}%: {fault.what}{late}")
            supervise(stack, say)
    except Exception as error:  # reported, and the run fails
        failures.append(f"fault thread: {type(error).__name__}: {error}")
        say(f"fault thread failed: {error}")


def client_thread(
    base: str,
    key: str,
    units: queue.Queue,
    progress: Progress,
    totals: Totals,
    vendors: list[str],
    run: str,
    max_seconds: float,
) -> None:
    client = ApiClient(base, key, totals, max_seconds=max_seconds)
    while True:
        try:
            index = units.get_nowait()
        except queue.Empty:
            return
        number = f"FLT-{run}-{index:06d}"
        order = client.post(
            "/api/v1/orders/", order_body(number, index, vendors), f"{number}/order", "order"
        )
        progress.step("order", number, order is not None)
        if order is None:
            progress.step("case", number, False)
            progress.step("approve", number, False)
            progress.step("complete", number, False)
            continue
        case = client.post(
            "/api/v1/refund-cases/",
            case_body(number, order, f"drill {number}"),
            f"{number}/case",
            "case",
        )
        progress.step("case", number, case is not None)
        if case is None:
            progress.step("approve", number, False)
            progress.step("complete", number, False)
            continue
        path = f"/api/v1/refund-cases/{case['case_id']}/"
        approved = client.post(path + "approve/", {"note": ""}, f"{number}/approve", "approve")
        progress.step("approve", number, approved is not None)
        if approved is None:
            progress.step("complete", number, False)
            continue
        completed = client.post(
            path + "complete/",
            {"gateway_reference": f"re_{number}"},
            f"{number}/complete",
            "complete",
        )
        progress.step("complete", number, completed is not None)


def wait_for_outbox(timeout: float, stack: Stack, say: Callable[[str], None]) -> tuple[float, dict]:
    """Seconds until the outbox was empty (or the timeout), and what is left per consumer."""
    from django.db.models import Count

    from refunds.models import OutboxMessage

    started = time.monotonic()
    left: dict = {}
    while time.monotonic() - started < timeout:
        supervise(stack, say)
        try:
            left = dict(
                OutboxMessage.objects.values_list("consumer").annotate(n=Count("id")).order_by()
            )
        except Exception:  # the database may still be recovering
            close_django_connections()
            left = {"(unreadable)": -1}
        if not left:
            break
        time.sleep(2)
    return time.monotonic() - started, left


def tallies(prefix: str, answered: dict[str, set[str]]) -> list[Tally]:
    """For every logical operation answered 2xx, the rows it left, per order number."""
    from django.db.models import Count

    from ledger.models import CreditNote, Journal
    from refunds.models import CaseEvent, Order, RefundCase

    def per(queryset, field: str) -> dict[str, int]:
        return dict(queryset.values_list(field).annotate(n=Count("id")).order_by())

    orders = Order.objects.filter(number__startswith=prefix)
    cases = RefundCase.objects.filter(order__number__startswith=prefix)
    events = CaseEvent.objects.filter(case__order__number__startswith=prefix)
    journals = Journal.objects.filter(kind="sale", order__number__startswith=prefix)
    refunds = Journal.objects.filter(kind="refund", case__order__number__startswith=prefix)
    notes = CreditNote.objects.filter(case__order__number__startswith=prefix)
    return [
        account("order (row)", answered["order"], per(orders, "number")),
        account("order: sale journal", answered["order"], per(journals, "order__number")),
        account("case (row)", answered["case"], per(cases, "order__number")),
        account(
            "approve (event)",
            answered["approve"],
            per(events.filter(to_status="approved"), "case__order__number"),
        ),
        account(
            "complete (event)",
            answered["complete"],
            per(events.filter(to_status="completed"), "case__order__number"),
        ),
        account(
            "complete: refund journal", answered["complete"], per(refunds, "case__order__number")
        ),
        account("complete: credit note", answered["complete"], per(notes, "case__order__number")),
    ]


@dataclass
class FaultRun:
    """What a fault run saw, for its report."""

    faults: list[Fault]
    progress: Progress
    totals: Totals
    counted: list[Tally]
    ledger: subprocess.CompletedProcess
    cash: subprocess.CompletedProcess
    backlog: dict
    drain_seconds: float
    load_seconds: float
    load: str  # load average (1 min) at the start / end of the load
    memory_start: dict
    memory_end: dict
    records: int
    restarts: tuple[int, int]  # the worker's, beat's
    failures: list[str]


def run(args: argparse.Namespace) -> int:
    run_tag = datetime.now(UTC).strftime("%H%M%S")
    units_count = args.posts // POSTS_PER_UNIT
    faults = plan(args)
    failures: list[str] = []
    with drill_stack("splitledger_faults", args) as stack:
        seeded = seed(args.vendors)
        close_django_connections()
        base = f"http://127.0.0.1:{stack.web_port}"
        memory_start = stack.memory()
        units: queue.Queue = queue.Queue()
        for index in range(units_count):
            units.put(index)
        progress = Progress(total=units_count * POSTS_PER_UNIT)
        totals = Totals()
        say(
            f"load: {units_count * POSTS_PER_UNIT:,} logical POSTs ({units_count:,} orders x "
            f"order, case, approve, complete) from {args.threads} threads; "
            f"{len(faults)} faults"
        )
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        chaos = threading.Thread(
            target=fault_thread, args=(faults, progress, stack, args, say, failures), daemon=True
        )
        chaos.start()
        threads = [
            threading.Thread(
                target=client_thread,
                args=(
                    base,
                    seeded.key,
                    units,
                    progress,
                    totals,
                    seeded.vendors,
                    run_tag,
                    args.max_retry_seconds,
                ),
                daemon=True,
            )
            for _ in range(args.threads)
        ]
        for thread in threads:
            thread.start()
        last = 0.0
        while any(t.is_alive() for t in threads):
            time.sleep(1)
            if time.monotonic() - last > 15:
                last = time.monotonic()
                say(
                    f"progress {progress.done:,}/{progress.total:,} POSTs, "
                    f"{totals.attempts:,} requests, {totals.retries:,} retries"
                )
        progress.finished = True
        load_seconds = time.monotonic() - started
        load_after = os.getloadavg()[0]
        chaos.join()
        say(f"load done in {load_seconds:.0f} s; waiting for the outbox to drain")
        drain_seconds, backlog = wait_for_outbox(args.drain_timeout, stack, say)
        say(f"outbox: {'empty' if not backlog else backlog} after {drain_seconds:.0f} s")
        close_django_connections()
        counted = tallies(f"FLT-{run_tag}-", progress.answered)
        ledger = stack.manage("check_ledger")
        cash = stack.manage("check_cash")
        memory_end = stack.memory()
        from django.db.models import Count

        from api.models import IdempotencyRecord

        records = IdempotencyRecord.objects.aggregate(n=Count("id"))["n"]
        close_django_connections()
        restarts = (stack.worker.restarts, stack.beat.restarts)
    return report(
        args,
        FaultRun(
            faults=faults,
            progress=progress,
            totals=totals,
            counted=counted,
            ledger=ledger,
            cash=cash,
            backlog=backlog,
            drain_seconds=drain_seconds,
            load_seconds=load_seconds,
            load=f"{load_before:.1f} / {load_after:.1f}",
            memory_start=memory_start,
            memory_end=memory_end,
            records=records,
            restarts=restarts,
            failures=failures,
        ),
    )


def report(args: argparse.Namespace, seen: FaultRun) -> int:
    print()
    print(
        f"bench.drills.faults, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {seen.progress.total:,} "
        f"logical POSTs from {args.threads} threads in {seen.load_seconds:.0f} s; load average "
        f"(1 min) at start / end of the load: {seen.load}; now {load_average()}; {os.cpu_count()} CPUs"
    )
    counts = {}
    for f in seen.faults:
        counts[f.kind] = counts.get(f.kind, 0) + 1
    print(
        f"faults: {counts.get('postgres', 0)} PostgreSQL immediate stops (down {args.pg_down:g} "
        f"s each), {counts.get('redis', 0)} Redis outages of {args.redis_down:g} s, "
        f"{counts.get('celery-pool', 0)} Celery pool SIGKILLs, "
        f"{counts.get('celery-worker', 0)} Celery worker SIGKILLs (restarted), "
        f"{counts.get('gunicorn', 0)} gunicorn worker SIGKILLs"
    )
    for f in seen.faults:
        at = f"{100 * f.fired_at:3.0f}%" if f.fired_at is not None else "never"
        print(f"  {at}  {f.what}")
    statuses = ", ".join(f"{s}: {n:,}" for s, n in sorted(seen.totals.by_status.items()))
    print()
    print(f"requests sent:   {seen.totals.attempts:,} ({statuses})")
    print(f"2xx:             {seen.totals.ok:,}")
    print(
        f"retries:         {seen.totals.retries:,} (answers replayed by Idempotency-Key: {seen.totals.replayed:,})"
    )
    answered = sum(len(s) for s in seen.progress.answered.values())
    print(
        f"logical POSTs:   {seen.progress.total:,}; answered 2xx {answered:,}; refused "
        f"{seen.totals.refused:,}; gave up {seen.totals.gave_up:,}"
    )
    lost = sum(len(t.lost) for t in seen.counted)
    duplicated = sum(len(t.duplicated) for t in seen.counted)
    print(f"lost:            {lost}")
    print(f"duplicated:      {duplicated}")
    print()
    print_table(
        ("operation: row", "answered 2xx", "found", "lost", "duplicated"),
        [
            (t.kind, f"{t.expected:,}", f"{t.found:,}", str(len(t.lost)), str(len(t.duplicated)))
            for t in seen.counted
        ],
        left=1,
    )
    for t in seen.counted:
        if t.lost:
            print(f"  lost {t.kind}: {t.lost[:5]}")
        if t.duplicated:
            print(f"  duplicated {t.kind}: {list(t.duplicated.items())[:5]}")
    print()
    backlog_text = "0 (empty)" if not seen.backlog else str(seen.backlog)
    print(f"outbox backlog:  {backlog_text}, {seen.drain_seconds:.0f} s after the load")
    ledger_clean = print_check("check_ledger:    ", seen.ledger)
    cash_clean = print_check("check_cash:      ", seen.cash)
    print(f"idempotency records: {seen.records:,}")
    print(
        f"restarted by the drill after exiting on their own: worker {seen.restarts[0] - counts.get('celery-worker', 0)}, beat {seen.restarts[1]}"
    )
    print()
    print_memory(
        "memory (RSS MiB) at the start and the end of the run:", seen.memory_start, seen.memory_end
    )
    if seen.totals.samples:
        print()
        print("some non-2xx answers (retried unless refused):")
        for sample in seen.totals.samples[:6]:
            print(f"  {sample[:240]}")
    unfinished = seen.progress.unfinished
    if unfinished:
        print(f"unfinished logical POSTs: {len(unfinished)}, e.g. {unfinished[:5]}")
    failures = list(seen.failures)
    if lost:
        failures.append(f"{lost} lost")
    if duplicated:
        failures.append(f"{duplicated} duplicated")
    if unfinished:
        failures.append(f"{len(unfinished)} logical POSTs not answered 2xx")
    if seen.backlog:
        failures.append(f"outbox not empty: {seen.backlog}")
    if not ledger_clean:
        failures.append("check_ledger found problems")
    if not cash_clean:
        failures.append("check_cash found problems")
    print()
    return verdict(failures)


QUICK = {
    "posts": 800,
    "threads": 4,
    "pg_stops": 1,
    "pg_down": 3.0,
    "redis_outages": 1,
    "redis_down": 5.0,
    "celery_kills": 1,
    "celery_restarts": 1,
    "web_kills": 1,
}


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.drills.faults",
        description="Integrator POSTs under PostgreSQL crashes, Redis outages and SIGKILLed "
        "workers, on a private stack; prints lost, duplicated and the ledger check.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short run: " + ", ".join(f"{k}={v}" for k, v in QUICK.items()),
    )
    parser.add_argument("--posts", type=int, default=8000, help="logical POSTs (4 per order)")
    parser.add_argument("--threads", type=int, default=6, help="client threads")
    parser.add_argument("--pg-stops", type=int, default=3, help="PostgreSQL immediate stops")
    parser.add_argument("--pg-down", type=float, default=5, help="seconds PostgreSQL stays down")
    parser.add_argument("--redis-outages", type=int, default=2, help="Redis outages")
    parser.add_argument("--redis-down", type=float, default=30, help="seconds Redis stays down")
    parser.add_argument("--celery-kills", type=int, default=3, help="SIGKILLs of a pool process")
    parser.add_argument(
        "--celery-restarts", type=int, default=1, help="SIGKILLs of the whole worker (restarted)"
    )
    parser.add_argument("--web-kills", type=int, default=3, help="SIGKILLs of a gunicorn worker")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--celery-concurrency", type=int, default=2, help="Celery pool size")
    parser.add_argument("--vendors", type=int, default=8)
    parser.add_argument(
        "--drain-timeout", type=float, default=600, help="seconds to wait for the outbox"
    )
    parser.add_argument(
        "--max-retry-seconds", type=float, default=600, help="give a logical POST up after this"
    )
    parser.add_argument("--seed", type=int, default=1, help="which workers are killed")
    parser.add_argument(
        "--keep", action="store_true", help="keep the stack's directory (logs, data)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        defaults = {action.dest: action.default for action in parser._actions}
        for name, value in QUICK.items():
            if getattr(args, name) == defaults[name]:
                setattr(args, name, value)
    if args.posts < POSTS_PER_UNIT or args.threads < 1:
        parser.error("--posts must be at least 4 and --threads at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return drill_main(parse_args, run, argv)


if __name__ == "__main__":
    sys.exit(main())
