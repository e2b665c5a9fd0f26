"""Where one API request's time goes, in process: `python -m bench.api.profile`.

Runs case reads and creations through Django's test client against the bench
database (as `bench.api`'s in-process timings), then prints, for each kind of
request, the statements with their mean driver time and a cProfile of the
Python side sorted by cumulative and own time. For finding hot spots; the
figures of record are `bench.api`'s.

    .venv/bin/python -m bench.api.profile [--count 200] [--top 40] [--sort tottime]
"""

from __future__ import annotations

import argparse
import cProfile
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
    use_broker,
)
from bench.common import add_database_arguments, open_database


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api.profile")
    parser.add_argument("--count", type=int, default=200, help="requests of each kind")
    parser.add_argument("--top", type=int, default=40, help="functions printed per profile")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key")
    parser.add_argument("--only", choices=("read", "creation"), help="one kind only")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--broker-url", default=default_broker_url())
    parser.add_argument("--dump", help="also write each profile to DUMP.<kind>.prof")
    add_database_arguments(parser, DEFAULT_DATABASE_URL)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    args.reads = args.creations = args.count
    args.warmup, args.clients, args.orders = 20, 1, 50
    open_database(args.database_url, "bench.api.profile", recreate=False, quiet_static=True)
    use_broker(args.broker_url)
    fixture = make_fixture(args)
    analyze()

    from django.db import connection
    from django.test import Client

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
    }
    for name, (send, items, ok) in kinds.items():
        if args.only and name != args.only:
            continue
        warm, timed = items[: args.warmup], items[args.warmup :]
        for item in warm:
            send(item)
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
        count = sum(len(v) for v in statements.values()) / len(timed)
        print(
            f"\n=== {name}: {len(timed)} requests, {total_ms:.2f} ms each (under cProfile), "
            f"SQL {sql_ms:.2f} ms in {count:g} statements"
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
