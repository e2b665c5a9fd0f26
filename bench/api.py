"""Benchmark: the refund-case API over HTTP, served by gunicorn as deployed.

    .venv/bin/python -m bench.api [--cases 100000] [--creations 3000] [--reads 6000]
                                  [--clients 2] [--workers 2] [--threads 4] [--rounds 3]
                                  [--conn-max-age 60] [--recreate]

Loads refund cases into a dedicated PostgreSQL database with `manage.py
load_demo --no-ledger` (once; later runs reuse them), starts gunicorn as the
Dockerfile does (`config.wsgi`, 2 gthread workers of 4 threads,
`config.settings.production`, DEBUG off, DATABASE_CONN_MAX_AGE=60) on a
loopback port, and drives it from client processes with the
standard library's http.client, authenticated with an API key of a staff user:

- creations: POST /api/v1/refund-cases/, one line of quantity 1 per case, each
  on a different (order, line) of orders made for the run (quantity 100,000
  per line, so nothing is ever over-refunded; each client has its own orders);
- reads: GET /api/v1/refund-cases/{case_id}/ of random demo cases;

and, in the same run and with the same clients, two baselines:

- HTTP floor: GET / through the same gunicorn (the whole middleware stack, a
  redirect, no database, no authentication);
- raw SQL read: the 6 statements the API runs for a case read (key lookup,
  case with order and owner, liabilities, lines, events, attachments),
  hand-written, over one persistent psycopg2 connection per client.

Each measure runs in --rounds interleaved rounds; the table gives requests per
second (median over rounds of requests / wall time of the round, all clients
together) and p50 / p99 latency over every request. Targets: >= 150 creations
per second, p99 of a case read < 50 ms. Before the server starts, reads and
creations are also timed in process through Django's test client, with the
time spent in the database driver, to show where a request's time goes.

The database is `splitledger_apibench` on 127.0.0.1:5432 unless --database-url
or DATABASE_URL says otherwise (its name must contain "bench"). The benchmark
creates it if missing, deletes nothing, and --recreate drops and creates it.
Exit status 1 if the consistency check fails. See docs/bench_api.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import multiprocessing
import os
import platform
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg2

from bench.cases.check import check_consistency
from bench.cases.setup import create_orders
from bench.common import (
    add_database_arguments,
    check_database_url,
    open_database,
    percentile_ms,
    print_table,
    server_facts,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/splitledger_apibench"
# load_demo opens about 0.335 cases per order (seed 1); ask for a little more.
DEMO_CASES_PER_ORDER = 0.32
REASON = "damaged"
TARGET_CREATIONS_PER_SECOND = 150
TARGET_READ_P99_MS = 50
STAFF_USERNAME = "bench-api-staff"

# ---------------------------------------------------------------- the database


def count_cases() -> tuple[int, int]:
    from refunds.models import Order, RefundCase

    return RefundCase.objects.count(), Order.objects.count()


def load_demo_cases(url: str, target: int) -> None:
    """`manage.py load_demo` in a subprocess, with enough orders for `target` cases."""
    cases, orders = count_cases()
    if cases >= target:
        print(f"{cases:,} refund cases already in the database")
        return
    if orders:
        raise SystemExit(
            f"The bench database has {orders:,} orders but only {cases:,} refund cases: "
            "run with --recreate to load the demo data into an empty database."
        )
    demo_orders = math.ceil(target / DEMO_CASES_PER_ORDER)
    print(f"loading {demo_orders:,} demo orders (about {target:,} cases) with load_demo ...")
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.local"}
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "load_demo",
            "--orders",
            str(demo_orders),
            "--no-ledger",
            "--batch-size",
            "5000",
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    cases, _ = count_cases()
    print(f"{cases:,} refund cases after {time.perf_counter() - started:.0f}s")
    if cases < target:
        raise SystemExit(f"load_demo made {cases:,} cases, fewer than {target:,}")


@dataclass(frozen=True)
class Fixture:
    key: str
    key_hash: str
    read_ids: list[str]  # demo case IDs, in the order they are read
    creations: list[bytes]  # request bodies, in the order they are sent
    orders: list[Any]  # bench.cases.setup.BenchOrder: for the consistency check


def make_fixture(args: argparse.Namespace) -> Fixture:
    from django.contrib.auth import get_user_model

    from api.tokens import create_token, hash_key
    from refunds.models import Order, RefundCase

    staff, _ = get_user_model().objects.get_or_create(
        username=STAFF_USERNAME, defaults={"is_staff": True, "is_superuser": True}
    )
    _, key = create_token(user=staff, name="bench.api")

    rng = random.Random(args.seed)
    case_ids = list(
        RefundCase.objects.exclude(order__number__startswith="BENCH-").values_list(
            "case_id", flat=True
        )
    )
    read_ids = [rng.choice(case_ids) for _ in range(args.reads + args.warmup)]

    # Orders for the creations: a multiple of the client count, so that client k
    # only ever touches its own orders (no waiting on another client's row lock).
    order_count = args.clients * math.ceil(args.orders / args.clients)
    tag = datetime.now(UTC).strftime("%Y%m%d%H%M%S") + "A"
    orders = create_orders(order_count, tag)
    numbers = dict(
        Order.objects.filter(pk__in=[o.order_id for o in orders]).values_list("pk", "number")
    )
    creations = []
    for index in range(args.creations + args.warmup):
        order = orders[index % order_count]
        line = order.line_ids[(index // order_count) % len(order.line_ids)]
        body = {
            "order": numbers[order.order_id],
            "lines": [{"order_line": line, "quantity": 1, "reason": REASON}],
        }
        creations.append(json.dumps(body).encode())
    return Fixture(key, hash_key(key), read_ids, creations, orders)


@dataclass(frozen=True)
class InProcess:
    """One kind of request through Django's test client in this process: no HTTP, no
    gunicorn, one persistent database connection. Where a request's time goes."""

    requests: int
    statements: float  # SQL statements per request
    ms: float  # mean wall time per request
    sql_ms: float  # of which in the database driver (sending, server, result)


def in_process(fixture: Fixture, count: int) -> dict[str, InProcess]:
    """`count` case reads and `count` creations through the test client, timed."""
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {fixture.key}")
    # Untimed: the first request imports the views; the key's last_used_at is written
    # at most once a minute.
    client.get(f"/api/v1/refund-cases/{fixture.read_ids[0]}/")

    def timed(send: Any, items: Sequence[Any], ok: int) -> InProcess:
        statements, sql_ns = 0, 0

        def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal statements, sql_ns
            before = time.perf_counter_ns()
            try:
                return execute(sql, params, many, context)
            finally:
                statements += 1
                sql_ns += time.perf_counter_ns() - before

        started = time.perf_counter_ns()
        with connection.execute_wrapper(wrapper):
            for item in items:
                response = send(item)
                if response.status_code != ok:
                    raise SystemExit(f"in-process: {response.status_code} {response.content!r}")
        total = time.perf_counter_ns() - started
        n = len(items)
        return InProcess(n, statements / n, total / n / 1e6, sql_ns / n / 1e6)

    return {
        "read": timed(
            lambda case_id: client.get(f"/api/v1/refund-cases/{case_id}/"),
            fixture.read_ids[-count:],
            200,
        ),
        # The last bodies again: their lines have 100,000 units, a second unit is fine.
        "creation": timed(
            lambda body: client.post(
                "/api/v1/refund-cases/", body, content_type="application/json"
            ),
            fixture.creations[-count:],
            201,
        ),
    }


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(url: str, args: argparse.Namespace) -> Iterator[int]:
    """gunicorn as the Dockerfile runs it, on a free loopback port; yields the port."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": url,
        "DATABASE_CONN_MAX_AGE": str(args.conn_max_age),
        "DATABASE_CONN_HEALTH_CHECKS": "true",
        # As in bench.cases: publish the outbox's dispatch as production does, to
        # an in-process transport no worker consumes, rather than run it eagerly.
        "CELERY_BROKER_URL": "memory://",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_DEBUG", None)
    log = tempfile.NamedTemporaryFile("w+", prefix="bench-api-gunicorn-", suffix=".log")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            *(
                ["--worker-class", "gthread", "--threads", str(args.threads)]
                if args.threads
                else []
            ),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(process, port, log)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_until_up(process: subprocess.Popen, port: int, log: Any) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise SystemExit(f"gunicorn exited with {process.returncode}:\n{log.read()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/")
            status = conn.getresponse().status
            conn.close()
            if status < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    log.seek(0)
    raise SystemExit(f"gunicorn did not answer within 60s:\n{log.read()}")


# ---------------------------------------------------------------- the clients


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None


@dataclass
class ClientResult:
    latencies_ns: list[int]
    statuses: Counter[int]
    started_ns: int
    finished_ns: int
    errors: list[str] = field(default_factory=list)


def http_client(port: int, key: str, requests: Sequence[Request], start: Any, out: Any) -> None:
    """One client: its requests one after the other, on a keep-alive connection
    (kept by gthread workers; http.client reconnects when a sync worker closes it)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Token {key}", "Accept": "application/json"}
    post_headers = {**headers, "Content-Type": "application/json"}
    latencies: list[int] = []
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    clock = time.perf_counter_ns
    start.wait()
    started = clock()
    for request in requests:
        before = clock()
        conn.request(
            request.method,
            request.path,
            body=request.body,
            headers=post_headers if request.body is not None else headers,
        )
        response = conn.getresponse()
        content = response.read()
        latencies.append(clock() - before)
        statuses[response.status] += 1
        if response.status >= 400 and len(errors) < 3:
            errors.append(f"{request.method} {request.path} {response.status} {content[:200]!r}")
    finished = clock()
    conn.close()
    out.put(ClientResult(latencies, statuses, started, finished, errors))


# The statements the API runs to read one case (see in_process),
# written by hand: same joins, same order, the columns the response needs.
RAW_READ = (
    (
        "key",
        """
        SELECT t.id, t.expires_at, t.last_used_at, u.id, u.username, u.is_active, u.is_staff
        FROM integrations_apitoken t JOIN auth_user u ON u.id = t.user_id
        WHERE t.key_hash = %(key_hash)s AND t.revoked_at IS NULL
        ORDER BY t.created_at DESC LIMIT 1
        """,
    ),
    (
        "case",
        """
        SELECT c.id, c.case_id, c.status, c.status_before_dispute, c.currency,
               c.total_refund_amount, c.shipping_refund_amount, c.gateway_reference, c.note,
               c.initiated_at, c.approved_at, c.completed_at, c.closed_at, o.number, u.username
        FROM refunds_refundcase c JOIN refunds_order o ON o.id = c.order_id
        LEFT JOIN auth_user u ON u.id = c.owner_id
        WHERE c.case_id = %(case_id)s
        """,
    ),
    (
        "liabilities",
        """
        SELECT v.code, l.refund_amount, l.net_amount, l.tax_amount, l.shipping_amount,
               l.vendor_share, l.platform_share, l.commission_reversal, l.overridden,
               l.acknowledged_at
        FROM refunds_vendorliability l JOIN vendors_vendor v ON v.id = l.vendor_id
        WHERE l.case_id = %(id)s ORDER BY v.code
        """,
    ),
    (
        "lines",
        """
        SELECT l.id, l.kind, l.order_line_id, ol.sku, v.code, l.quantity, l.net_amount,
               l.tax_amount, l.shipping_amount, l.gross_amount, r.code
        FROM refunds_refundline l
        LEFT JOIN refunds_orderline ol ON ol.id = l.order_line_id
        LEFT JOIN vendors_vendor v ON v.id = l.vendor_id
        JOIN refunds_reasonpolicy r ON r.id = l.reason_id
        WHERE l.case_id = %(id)s ORDER BY l.id
        """,
    ),
    (
        "events",
        """
        SELECT e.id, e.kind, e.from_status, e.to_status, u.username, v.code, e.channel,
               e.text, e.created_at
        FROM refunds_caseevent e LEFT JOIN auth_user u ON u.id = e.actor_id
        LEFT JOIN vendors_vendor v ON v.id = e.vendor_id
        WHERE e.case_id = %(id)s ORDER BY e.created_at, e.id
        """,
    ),
    (
        "attachments",
        """
        SELECT a.id, a.filename, a.content_type, a.size, a.created_at
        FROM refunds_attachment a WHERE a.case_id = %(id)s ORDER BY a.created_at, a.id
        """,
    ),
)


def sql_client(url: str, key_hash: str, case_ids: Sequence[str], start: Any, out: Any) -> None:
    """One raw-SQL client: each case read as the 6 statements, autocommit, one connection."""
    conn = psycopg2.connect(url)
    conn.autocommit = True
    latencies: list[int] = []
    errors: list[str] = []
    clock = time.perf_counter_ns
    with conn.cursor() as cur:
        start.wait()
        started = clock()
        for case_id in case_ids:
            before = clock()
            params: dict[str, Any] = {"key_hash": key_hash, "case_id": case_id}
            for name, query in RAW_READ:
                cur.execute(query, params)
                rows = cur.fetchall()
                if name == "case":
                    if not rows:
                        errors.append(f"case {case_id} not found")
                        break
                    params["id"] = rows[0][0]
            latencies.append(clock() - before)
        finished = clock()
    conn.close()
    out.put(ClientResult(latencies, Counter({200: len(latencies)}), started, finished, errors))


@dataclass
class Block:
    """One measure in one round: all clients together."""

    seconds: float
    latencies_ns: list[int]
    statuses: Counter[int]
    errors: list[str]

    @property
    def rate(self) -> float:
        return len(self.latencies_ns) / self.seconds


def run_clients(target: Any, per_client: Sequence[tuple[Any, ...]]) -> Block:
    """Start one process per argument tuple, release them together, collect."""
    context = multiprocessing.get_context("fork")
    start = context.Event()
    out = context.Queue()
    processes = [
        context.Process(target=target, args=(*arguments, start, out)) for arguments in per_client
    ]
    for process in processes:
        process.start()
    start.set()
    results = [out.get(timeout=3600) for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode:
            raise SystemExit(f"a client exited with {process.exitcode}")
    return Block(
        seconds=(max(r.finished_ns for r in results) - min(r.started_ns for r in results)) / 1e9,
        latencies_ns=[value for r in results for value in r.latencies_ns],
        statuses=sum((r.statuses for r in results), Counter()),
        errors=[error for r in results for error in r.errors],
    )


def split(items: Sequence[Any], parts: int) -> list[list[Any]]:
    """Round-robin: item i goes to part i % parts (creation i's order is i % orders)."""
    return [list(items[part::parts]) for part in range(parts)]


# ---------------------------------------------------------------- the run


@dataclass
class Measure:
    name: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def latencies(self) -> list[int]:
        return [value for block in self.blocks for value in block.latencies_ns]

    @property
    def statuses(self) -> Counter[int]:
        return sum((block.statuses for block in self.blocks), Counter())

    def rate(self) -> float:
        return statistics.median(block.rate for block in self.blocks)

    def p(self, fraction: float) -> float:
        return percentile_ms(self.latencies, fraction)


def measure(args: argparse.Namespace, url: str, fixture: Fixture, port: int) -> list[Measure]:
    clients = args.clients
    key = fixture.key

    def reads(ids: Sequence[str]) -> list[Request]:
        return [Request("GET", f"/api/v1/refund-cases/{case_id}/") for case_id in ids]

    def creations(bodies: Sequence[bytes]) -> list[Request]:
        return [Request("POST", "/api/v1/refund-cases/", body) for body in bodies]

    warm_ids, read_ids = fixture.read_ids[: args.warmup], fixture.read_ids[args.warmup :]
    warm_bodies, bodies = fixture.creations[: args.warmup], fixture.creations[args.warmup :]
    # Warm-up (imports, first connections, caches), not timed.
    warm = reads(warm_ids) + creations(warm_bodies) + [Request("GET", "/")] * args.warmup
    block = run_clients(http_client, [(port, key, part) for part in split(warm, clients)])
    check_statuses("warm-up", block, {200, 201, 302})

    create = Measure("POST /api/v1/refund-cases/ (create)")
    read = Measure("GET /api/v1/refund-cases/{id}/")
    floor = Measure("baseline: GET / (HTTP floor)")
    raw = Measure("baseline: raw SQL case read")
    rounds = args.rounds
    for number in range(rounds):
        mine = slice(number, None, rounds)
        # Creations stay round-robin over the clients' own orders within a round.
        round_bodies = bodies[number * len(bodies) // rounds : (number + 1) * len(bodies) // rounds]
        round_ids = read_ids[mine]
        steps = [
            (
                create,
                http_client,
                [(port, key, p) for p in split(creations(round_bodies), clients)],
            ),
            (read, http_client, [(port, key, p) for p in split(reads(round_ids), clients)]),
            (
                floor,
                http_client,
                [(port, key, p) for p in split([Request("GET", "/")] * len(round_ids), clients)],
            ),
            (raw, sql_client, [(url, fixture.key_hash, p) for p in split(round_ids, clients)]),
        ]
        # Rotate who goes first, so drift in the machine's load hits every measure.
        shift = number % len(steps)
        for target_measure, target, per_client in steps[shift:] + steps[:shift]:
            block = run_clients(target, per_client)
            expected = (
                {201} if target_measure is create else {302} if target_measure is floor else {200}
            )
            check_statuses(target_measure.name, block, expected)
            target_measure.blocks.append(block)
        print(f"round {number + 1}/{rounds} done")
    return [create, read, floor, raw]


def server_kind(args: argparse.Namespace) -> str:
    if args.threads:
        return f"gthread workers of {args.threads} threads"
    return "sync workers"


def check_statuses(name: str, block: Block, expected: set[int]) -> None:
    unexpected = {s: n for s, n in block.statuses.items() if s not in expected}
    if unexpected:
        raise SystemExit(f"{name}: unexpected statuses {unexpected}; e.g. {block.errors[:3]}")


def report(
    args: argparse.Namespace,
    facts: dict[str, str],
    profile: dict[str, InProcess],
    cases: int,
    measures: list[Measure],
    load: str,
) -> bool:
    import django

    create, read, floor, raw = measures
    print()
    print(
        f"bench.api, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {cases:,} refund cases in the "
        f"database; gunicorn {args.workers} {server_kind(args)} (config.settings.production, "
        f"DATABASE_CONN_MAX_AGE={args.conn_max_age}); {args.clients} client processes; "
        f"{args.rounds} interleaved rounds"
    )
    print(
        f"PostgreSQL {facts['server_version']} (synchronous_commit={facts['synchronous_commit']}, "
        f"fsync={facts['fsync']}, shared_buffers={facts['shared_buffers']}); Python "
        f"{platform.python_version()}, Django {django.get_version()}; {os.cpu_count()} CPUs "
        "shared by server, clients and PostgreSQL"
    )
    print()
    rows = []
    for m, queries in (
        (create, f"{profile['creation'].statements:g}"),
        (read, f"{profile['read'].statements:g}"),
        (floor, "0"),
        (raw, str(len(RAW_READ))),
    ):
        rows.append(
            (
                m.name,
                f"{len(m.latencies):,}",
                f"{m.rate():.0f}",
                f"{m.p(0.50):.2f}",
                f"{m.p(0.99):.2f}",
                queries,
            )
        )
    print_table(("measure", "requests", "req/s", "p50 ms", "p99 ms", "SQL/request"), rows, left=1)
    print()
    print("req/s: median over the rounds of requests / wall time of the round (all clients);")
    print("p50, p99: over every request, client side (connect, send, wait, read the body).")
    print(
        f"case read / raw SQL read: throughput {read.rate() / raw.rate():.2f}, "
        f"p50 latency {read.p(0.5) / raw.p(0.5):.1f}x; case read / HTTP floor: throughput "
        f"{read.rate() / floor.rate():.2f}, p50 latency {read.p(0.5) / floor.p(0.5):.1f}x"
    )
    print(f"load average (1 min) at the start and end of the timed rounds: {load}")
    print()
    print(
        "In process (Django's test client in the benchmark process, one after the other, "
        "no HTTP, a persistent connection), mean per request:"
    )
    print_table(
        ("request", "requests", "ms", "of which SQL ms", "SQL statements"),
        [
            (
                name,
                f"{p.requests:,}",
                f"{p.ms:.2f}",
                f"{p.sql_ms:.2f}",
                f"{p.statements:g}",
            )
            for name, p in (
                ("GET /api/v1/refund-cases/{id}/", profile["read"]),
                ("POST /api/v1/refund-cases/", profile["creation"]),
            )
        ],
        left=1,
    )
    created_ok = create.rate() >= TARGET_CREATIONS_PER_SECOND
    read_ok = read.p(0.99) < TARGET_READ_P99_MS
    print()
    print(
        f"target creations >= {TARGET_CREATIONS_PER_SECOND}/s: "
        f"{'met' if created_ok else 'MISSED'} ({create.rate():.0f}/s)"
    )
    print(
        f"target case read p99 < {TARGET_READ_P99_MS} ms: "
        f"{'met' if read_ok else 'MISSED'} ({read.p(0.99):.2f} ms)"
    )
    return created_ok and read_ok


def run(args: argparse.Namespace) -> int:
    url = args.database_url
    # Django in this process: to migrate, load, make the key and orders, check.
    open_database(url, "bench.api", recreate=args.recreate, quiet_static=True)
    load_demo_cases(url, args.cases)
    cases, _ = count_cases()
    fixture = make_fixture(args)
    profile = in_process(fixture, args.in_process)
    facts = server_facts(url)
    from django.db import connections

    connections.close_all()  # no connection of this process crosses into a client fork
    with gunicorn(url, args) as port:
        print(f"gunicorn up on 127.0.0.1:{port} ({args.workers} workers)")
        load_before = os.getloadavg()[0]
        measures = measure(args, url, fixture, port)
        load = f"{load_before:.1f}, {os.getloadavg()[0]:.1f}"
    report(args, facts, profile, cases, measures, load)
    problems = check_consistency(url, fixture.orders)
    # Every creation answered 201 (or the run stopped): timed, warm-up and in-process.
    answered = measures[0].statuses[201] + args.warmup + args.in_process
    from refunds.models import RefundCase

    opened = RefundCase.objects.filter(order_id__in=[o.order_id for o in fixture.orders]).count()
    if opened != answered:
        problems.append(f"{opened} cases on the run's orders, {answered} answered 201")
    if problems:
        print("consistency: FAILED: " + "; ".join(problems))
        return 1
    print(
        f"consistency: {opened:,} cases opened on the run's orders, one per 201; their "
        "orders' and lines' counters equal the sums of their rows"
    )
    return 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.api",
        description="Refund-case creations and reads over HTTP (gunicorn), with baselines.",
    )
    parser.add_argument("--cases", type=int, default=100_000, help="refund cases to load first")
    parser.add_argument("--creations", type=int, default=3000, help="timed POSTs, in all")
    parser.add_argument("--reads", type=int, default=6000, help="timed case GETs, in all")
    parser.add_argument("--warmup", type=int, default=200, help="untimed requests of each kind")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--threads",
        type=int,
        default=4,
        help="threads per gthread worker, as the Dockerfile; 0 for sync workers",
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--orders", type=int, default=400, help="orders made for the creations")
    parser.add_argument(
        "--in-process",
        type=int,
        default=100,
        help="reads and creations timed through the test client, before the server starts",
    )
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=60,
        help="DATABASE_CONN_MAX_AGE for gunicorn (60, as deployed; 0: a connection per request)",
    )
    parser.add_argument("--seed", type=int, default=1, help="which cases are read")
    add_database_arguments(parser, DEFAULT_DATABASE_URL)
    args = parser.parse_args(argv)
    counts = (args.cases, args.creations, args.reads, args.clients, args.workers, args.rounds)
    if (
        min(counts) < 1
        or args.threads < 0
        or args.warmup < 0
        or args.orders < 1
        or args.in_process < 1
    ):
        parser.error("counts must be positive")
    if args.in_process > min(args.creations, args.reads):
        parser.error("--in-process may not exceed --creations or --reads")
    check_database_url(parser, args.database_url, what="loads 100,000 cases")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return run(parse_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
