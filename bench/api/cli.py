"""The run, the report and the command line of bench.api."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from bench.api.clients import (
    RAW_READ,
    Block,
    Request,
    gunicorn,
    http_client,
    run_clients,
    split,
    sql_client,
)
from bench.api.fixture import (
    DEFAULT_DATABASE_URL,
    TARGET_CREATIONS_PER_SECOND,
    TARGET_READ_P99_MS,
    Fixture,
    InProcess,
    analyze,
    clear_broker,
    count_cases,
    default_broker_url,
    in_process,
    load_demo_cases,
    make_fixture,
    use_broker,
)
from bench.cases.check import check_consistency
from bench.common import (
    add_database_arguments,
    check_database_url,
    in_turn,
    open_database,
    percentile_ms,
    print_table,
    server_facts,
)

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
        for target_measure, target, per_client in in_turn(steps, number):
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


def broker_name(url: str) -> str:
    """The broker's scheme and database, without any password."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"


def sql_per_request(p: InProcess) -> str:
    """Statements per request, with the round trips when fewer (statements
    sent together)."""
    if p.round_trips < p.statements:
        return f"{p.statements:g} ({p.round_trips:g})"
    return f"{p.statements:g}"


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
        f"DATABASE_CONN_MAX_AGE={args.conn_max_age}, broker {broker_name(args.broker_url)}); "
        f"{args.clients} client processes; {args.rounds} interleaved rounds"
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
        (create, sql_per_request(profile["creation"])),
        (read, sql_per_request(profile["read"])),
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
    print(
        f"creations / HTTP floor: throughput {create.rate() / floor.rate():.3f} "
        "(issue 14's target: >= 0.08)"
    )
    print(f"load average (1 min) at the start and end of the timed rounds: {load}")
    print()
    print(
        "In process (Django's test client in the benchmark process, one after the other, "
        "no HTTP, a persistent connection), mean per request:"
    )
    print_table(
        ("request", "requests", "ms", "of which SQL ms", "SQL statements (round trips)"),
        [
            (
                name,
                f"{p.requests:,}",
                f"{p.ms:.2f}",
                f"{p.sql_ms:.2f}",
                sql_per_request(p),
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
    use_broker(args.broker_url)
    load_demo_cases(url, args.cases)
    cases, _ = count_cases()
    fixture = make_fixture(args)
    print(f"ANALYZE of the bench database: {analyze():.1f}s")
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
    clear_broker(args.broker_url)
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
    parser.add_argument(
        "--broker-url",
        default=default_broker_url(),
        help="where the outbox's drains are published: a Redis URL (as deployed: drain flags "
        "coalesce them) or memory:// (every write publishes); default $CELERY_BROKER_URL "
        "if it is Redis, else memory://",
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
