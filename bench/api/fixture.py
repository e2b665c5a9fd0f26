"""Settings, the loaded cases, the API user and key, and the in-process timings of bench.api."""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.cases.setup import create_orders

ROOT = Path(__file__).resolve().parent.parent.parent
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


def analyze() -> float:
    """ANALYZE the bench database; returns the seconds it took.

    The planner needs statistics, and autovacuum gathers them in production;
    a server run with `autovacuum = off` (as the shared development machine
    of 2026-12-06) never has any, and then plans a case's lines by scanning
    the reason index (26 ms a read instead of 0.1 ms). So every run analyzes
    the database it measures, after loading and before the timings."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def default_broker_url() -> str:
    """$CELERY_BROKER_URL when it is a Redis URL (as deployed), else memory://."""
    url = os.environ.get("CELERY_BROKER_URL", "")
    return url if url.startswith(("redis://", "rediss://")) else "memory://"


def use_broker(url: str) -> None:
    """Publish this process's tasks to `url` (setup_django names memory://).
    Before anything is published: the producer pool connects on first use."""
    from config.celery import app

    # Celery reads $CELERY_BROKER_URL before its settings.
    os.environ["CELERY_BROKER_URL"] = url
    app.conf.broker_url = url


def clear_broker(url: str) -> int:
    """Remove what the run published to a Redis broker (no worker consumes
    it) and the outbox's drain flags; returns the messages removed."""
    if not url.startswith(("redis://", "rediss://")):
        return 0
    import redis
    from django.conf import settings

    from config.celery import app
    from refunds.outbox import drain_flag

    removed = app.control.purge()
    redis.Redis.from_url(url).delete(*(drain_flag(c) for c in settings.OUTBOX_CONSUMERS))
    return removed


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
    round_trips: float  # of which sent together: one execute with several statements
    ms: float  # mean wall time per request
    sql_ms: float  # of which in the database driver (sending, server, result)


def statement_count(sql: str) -> int:
    """The statements in one execute: several, separated by semicolons, where a
    service sends them in one round trip (refunds.services._opening_sql). The
    project's SQL has no semicolon elsewhere (values are parameters)."""
    return sum(1 for part in sql.split(";") if part.strip())


def in_process(fixture: Fixture, count: int) -> dict[str, InProcess]:
    """`count` case reads and `count` creations through the test client, timed."""
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {fixture.key}")
    # Untimed: the first request imports the views; the key's last_used_at is written
    # at most once a minute.
    client.get(f"/api/v1/refund-cases/{fixture.read_ids[0]}/")

    def timed(send: Any, items: Sequence[Any], ok: int) -> InProcess:
        statements, round_trips, sql_ns = 0, 0, 0

        def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal statements, round_trips, sql_ns
            before = time.perf_counter_ns()
            try:
                return execute(sql, params, many, context)
            finally:
                statements += statement_count(sql)
                round_trips += 1
                sql_ns += time.perf_counter_ns() - before

        started = time.perf_counter_ns()
        with connection.execute_wrapper(wrapper):
            for item in items:
                response = send(item)
                if response.status_code != ok:
                    raise SystemExit(f"in-process: {response.status_code} {response.content!r}")
        total = time.perf_counter_ns() - started
        n = len(items)
        return InProcess(n, statements / n, round_trips / n, total / n / 1e6, sql_ns / n / 1e6)

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
