"""Where one API request's time goes, in process: `python -m bench.api.profile`.

Runs case reads, creations and the HTTP floor's `GET /` through Django's test
client against the bench database (as `bench.api`'s in-process timings) and
prints, for each kind of request: the CPU time per request of this process and
of the PostgreSQL backend serving it (much less moved by other jobs on the
machine than wall time), then, over as many more requests, the statements with
their mean driver time and a cProfile of the Python side. For finding hot
spots; the figures of record are `bench.api`'s. See docs/bench_api.md.

    .venv/bin/python -m bench.api.profile [--count 200] [--top 40] [--sort tottime]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from bench.api.fixture import (
    DEFAULT_DATABASE_URL,
    analyze,
    clear_broker,
    default_broker_url,
    make_fixture,
    statement_count,
    use_broker,
)
from bench.common import add_database_arguments, open_database


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api.profile")
    parser.add_argument("--count", type=int, default=200, help="requests of each kind")
    parser.add_argument("--top", type=int, default=40, help="functions printed per profile")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key")
    parser.add_argument("--only", choices=("read", "creation", "floor"), help="one kind only")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--broker-url", default=default_broker_url())
    parser.add_argument("--dump", help="also write each profile to DUMP.<kind>.prof")
    add_database_arguments(parser, DEFAULT_DATABASE_URL)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    # Warm-up, then `count` requests timed for CPU, then `count` under cProfile.
    args.reads = args.creations = 2 * args.count
    args.warmup, args.clients, args.orders = 20, 1, 50
    open_database(args.database_url, "bench.api.profile", recreate=False, quiet_static=True)
    use_broker(args.broker_url)
    fixture = make_fixture(args)
    analyze()

    from django.db import connection
    from django.test import Client

    from bench.common import backend_cpu_ns, django_backend_pid

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {fixture.key}")
    kinds: dict[str, tuple[Any, list[Any], int]] = {
        "read": (
            lambda case_id: client.get(f"/api/v1/refund-cases/{case_id}/"),
            fixture.read_ids,
            200,
        ),
        "creation": (
            lambda body: client.post(
                "/api/v1/refund-cases/", body, content_type="application/json"
            ),
            fixture.creations,
            201,
        ),
        # The HTTP floor's request (bench.api): the middleware and a redirect.
        "floor": (lambda _: client.get("/"), [None] * len(fixture.read_ids), 302),
    }
    for name, (send, items, ok) in kinds.items():
        if args.only and name != args.only:
            continue
        warm = items[: args.warmup]
        counted = items[args.warmup : args.warmup + args.count]
        timed = items[args.warmup + args.count :]
        for item in warm:
            send(item)
        # CPU per request, without the profiler: this process (Django, DRF, the
        # driver's client side) and the PostgreSQL backend serving it: less moved
        # by other jobs than wall time on a shared machine.
        pid = django_backend_pid()
        own, backend, wall = time.process_time_ns(), backend_cpu_ns(pid), time.perf_counter_ns()
        for item in counted:
            send(item)
        own = time.process_time_ns() - own
        wall = time.perf_counter_ns() - wall
        after = backend_cpu_ns(pid)
        server = (
            "?"
            if backend is None or after is None
            else f"{(after - backend) / 1e6 / len(counted):.2f}"
        )
        print(
            f"\n--- {name}: {len(counted)} requests without the profiler: wall {wall / 1e6 / len(counted):.2f} ms, "
            f"CPU of this process {own / 1e6 / len(counted):.2f} ms, of its PostgreSQL backend {server} ms "
            f"(load average {os.getloadavg()[0]:.1f})"
        )
        statements: dict[str, list[int]] = defaultdict(list)

        def wrapper(
            execute: Any, sql: str, params: Any, many: bool, context: Any, seen=statements
        ) -> Any:
            before = time.perf_counter_ns()
            try:
                return execute(sql, params, many, context)
            finally:
                seen[sql].append(time.perf_counter_ns() - before)

        profile = cProfile.Profile()
        started = time.perf_counter_ns()
        with connection.execute_wrapper(wrapper):
            profile.enable()
            for item in timed:
                response = send(item)
                if response.status_code != ok:
                    raise SystemExit(f"{name}: {response.status_code} {response.content[:300]!r}")
            profile.disable()
        total_ms = (time.perf_counter_ns() - started) / 1e6 / len(timed)
        sql_ms = sum(sum(v) for v in statements.values()) / 1e6 / len(timed)
        trips = sum(len(v) for v in statements.values()) / len(timed)
        count = sum(len(v) * statement_count(sql) for sql, v in statements.items()) / len(timed)
        print(
            f"\n=== {name}: {len(timed)} requests, {total_ms:.2f} ms each (under cProfile), "
            f"SQL {sql_ms:.2f} ms in {count:g} statements, {trips:g} round trips"
        )
        for sql, times in sorted(statements.items(), key=lambda kv: -sum(kv[1])):
            print(
                f"  {sum(times) / 1e6 / len(timed):6.2f} ms  x{len(times) / len(timed):g}  "
                f"{' '.join(sql.split())[:150]}"
            )
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)
        if args.dump:
            profile.dump_stats(f"{args.dump}.{name}.prof")
    clear_broker(args.broker_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
