"""The run, the report and the command line of bench.cases."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg2
import psycopg2.extensions

from bench.cases.baseline import Baseline
from bench.cases.check import check_consistency
from bench.cases.measuring import Block, Probe, open_with_service, probing_service, timed
from bench.cases.setup import (
    DEFAULT_DATABASE_URL,
    LINES_PER_ORDER,
    REASON,
    BenchOrder,
    JobSource,
    create_orders,
)
from bench.common import (
    add_database_arguments,
    check_database_url,
    in_turn,
    load_average,
    open_database,
    percentile_ms,
    print_table,
    ratios,
    server_facts,
)

# ---------------------------------------------------------------- the run


@dataclass
class Result:
    lines: int
    service_probe: Probe
    baseline_probe: Probe
    service: list[Block] = field(default_factory=list)
    baseline: list[Block] = field(default_factory=list)

    def ratios(self) -> list[float]:
        return ratios(self.service, self.baseline)


def latencies(blocks: Sequence[Block]) -> list[int]:
    return [value for block in blocks for value in block.latencies_ns]


def statements(probe: Probe) -> str:
    extra = (probe.counts["BEGIN"] + probe.counts["COMMIT"]) / probe.cases
    return f"{probe.per_case(round_trips=False):g} (+{extra:g})"


def measure(args: argparse.Namespace, url: str) -> tuple[dict[int, Result], list[BenchOrder]]:
    tag = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    started = time.perf_counter()
    orders = create_orders(args.orders, tag)
    print(
        f"{len(orders)} orders × {LINES_PER_ORDER} lines created in "
        f"{time.perf_counter() - started:.1f}s"
    )
    source = JobSource(orders)
    baseline = Baseline(url)
    per_round = max(1, args.cases // args.rounds)
    results: dict[int, Result] = {}
    try:
        for lines in args.lines:
            # Warm-up, then a probed pass: neither is timed.
            for _ in range(2):
                for job in source.take(args.warmup, lines):
                    open_with_service(job)
                for job in source.take(args.warmup, lines):
                    baseline.open_case(job)
            result = results[lines] = Result(lines, Probe(), Probe())
            with probing_service(result.service_probe):
                for job in source.take(args.probe_cases, lines):
                    result.service_probe.open(open_with_service, job)
            baseline.probe = result.baseline_probe
            for job in source.take(args.probe_cases, lines):
                result.baseline_probe.open(baseline.open_case, job)
            baseline.probe = None

        for round_number in range(args.rounds):
            for lines in args.lines:
                result = results[lines]
                service_jobs = source.take(per_round, lines)
                baseline_jobs = source.take(per_round, lines)
                sides = [
                    (open_with_service, service_jobs, result.service),
                    (baseline.open_case, baseline_jobs, result.baseline),
                ]
                for open_one, jobs, blocks in in_turn(sides, round_number):
                    blocks.append(timed(open_one, jobs))
            print(f"round {round_number + 1}/{args.rounds} done")
    finally:
        baseline.close()
    return results, orders


def report(args: argparse.Namespace, facts: dict[str, str], results: dict[int, Result]) -> bool:
    """Print the tables; True when both targets are met."""
    import django

    per_round = max(1, args.cases // args.rounds)
    print()
    print(
        f"bench.cases, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: per side and line count "
        f"{per_round * args.rounds} timed cases in {args.rounds} interleaved rounds, after "
        f"{args.warmup * 2} warm-up and {args.probe_cases} probed; reason {REASON!r}"
    )
    print(
        f"PostgreSQL {facts['server_version']} (synchronous_commit={facts['synchronous_commit']}, "
        f"fsync={facts['fsync']}, shared_buffers={facts['shared_buffers']}); Python "
        f"{platform.python_version()}, Django {django.get_version()}, psycopg2 "
        f"{psycopg2.__version__.split()[0]}; {os.cpu_count()} CPUs, load average "
        f"{facts['load_before']} before, {facts['load_after']} after"
    )
    print()
    print_table(
        (
            "lines/case",
            "service cases/s",
            "p50 ms",
            "p99 ms",
            "queries/case",
            "baseline cases/s",
            "ratio",
        ),
        [
            (
                str(lines),
                f"{statistics.median(b.rate for b in r.service):.0f}",
                f"{percentile_ms(latencies(r.service), 0.50):.2f}",
                f"{percentile_ms(latencies(r.service), 0.99):.2f}",
                statements(r.service_probe),
                f"{statistics.median(b.rate for b in r.baseline):.0f}",
                f"{statistics.median(r.ratios()):.2f}",
            )
            for lines, r in results.items()
        ],
        left=0,
    )
    print()
    print_table(
        (
            "lines/case",
            "baseline p50 ms",
            "baseline p99 ms",
            "baseline queries/case",
            "ratio per round",
        ),
        [
            (
                str(lines),
                f"{percentile_ms(latencies(r.baseline), 0.50):.2f}",
                f"{percentile_ms(latencies(r.baseline), 0.99):.2f}",
                statements(r.baseline_probe),
                " ".join(f"{ratio:.2f}" for ratio in r.ratios()),
            )
            for lines, r in results.items()
        ],
        left=0,
    )
    print()
    print("cases/s: median over the rounds of cases / wall time of the round's block;")
    print("p50, p99: over every timed case; ratio: median over the rounds of service cases/s")
    print("over baseline cases/s in the same round. queries/case: statements sent per case,")
    print("SAVEPOINT and RELEASE included (if any); (+2): the transaction's BEGIN and COMMIT.")
    for lines, r in results.items():
        print(f"  {lines:>2} lines  service:  {r.service_probe.kinds()}")
        print(f"  {lines:>2} lines  baseline: {r.baseline_probe.kinds()}")

    print()
    print("Where a case's time goes (probed cases, mean ms per case): client = time in")
    print("Python before each statement (building it, handling the rows before it);")
    print("statements = from sending each to having its result (server work + round trip);")
    print("CPU = CPU time of the client thread, which waiting does not inflate.")
    print_table(
        (
            "lines/case",
            "service client",
            "service statements",
            "service CPU",
            "baseline client",
            "baseline statements",
            "baseline CPU",
        ),
        [
            (
                str(lines),
                *(
                    f"{probe.ms_per_case(total):.2f}"
                    for probe in (r.service_probe, r.baseline_probe)
                    for total in (
                        probe.client_ns.total(),
                        probe.statement_ns.total(),
                        probe.cpu_ns,
                    )
                ),
            )
            for lines, r in results.items()
        ],
        left=0,
    )
    widest = results[max(results)]
    service, base = widest.service_probe, widest.baseline_probe
    print()
    print(f"Per statement, {widest.lines} lines/case (ms per case):")
    labels = [*service.labels, *(x for x in base.labels if x not in service.labels)]
    print_table(
        (
            "statement",
            "service client",
            "service statement",
            "baseline client",
            "baseline statement",
        ),
        [
            (
                label,
                f"{service.ms_per_case(service.client_ns[label]):.2f}",
                f"{service.ms_per_case(service.statement_ns[label]):.2f}",
                f"{base.ms_per_case(base.client_ns[label]):.2f}",
                f"{base.ms_per_case(base.statement_ns[label]):.2f}",
            )
            for label in [*labels, "(after COMMIT)"]
        ],
        left=1,
    )

    worst = min(statistics.median(r.ratios()) for r in results.values())
    flat = len({r.service_probe.per_case(round_trips=True) for r in results.values()}) == 1
    print()
    print(f"target ratio >= 0.60: {'met' if worst >= 0.6 else 'MISSED'} (lowest {worst:.2f})")
    print(f"target queries/case flat across line counts: {'met' if flat else 'MISSED'}")
    return worst >= 0.6 and flat


def run(args: argparse.Namespace, url: str) -> int:
    open_database(
        url,
        "bench.cases",
        recreate=args.recreate,
        eager_refusal="Celery runs tasks eagerly: outbox consumers would run inside open_case.",
    )
    facts = server_facts(url)
    facts["load_before"] = load_average()
    results, orders = measure(args, url)
    facts["load_after"] = load_average()
    report(args, facts, results)
    problems = check_consistency(url, orders)
    if problems:
        print("consistency: FAILED: " + "; ".join(problems))
        return 1
    print("consistency: the counters of every order and line used equal the sums of the rows")
    print("both sides wrote, and liabilities add up to their cases")
    return 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cases",
        description="Open refund cases through the service layer and through raw SQL; compare.",
    )
    parser.add_argument(
        "--cases", type=int, default=2000, help="timed cases per side and line count"
    )
    parser.add_argument(
        "--lines",
        type=lambda s: [int(n) for n in s.split(",")],
        default=[1, 3, 10],
        help="lines per case, comma-separated (at most 10)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (blocks)")
    parser.add_argument(
        "--warmup", type=int, default=100, help="untimed cases per side, twice, per line count"
    )
    parser.add_argument(
        "--probe-cases",
        type=int,
        default=50,
        help="untimed cases per side whose statements are counted and timed one by one",
    )
    parser.add_argument("--orders", type=int, default=500, help="orders created for the run")
    add_database_arguments(parser, DEFAULT_DATABASE_URL)
    args = parser.parse_args(argv)
    if any(not 1 <= n <= LINES_PER_ORDER for n in args.lines):
        parser.error(f"--lines must be between 1 and {LINES_PER_ORDER}")
    if min(args.cases, args.rounds, args.orders, args.probe_cases) < 1 or args.warmup < 0:
        parser.error("counts must be positive")
    check_database_url(parser, args.database_url, what="writes thousands of rows")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    return run(args, args.database_url)
