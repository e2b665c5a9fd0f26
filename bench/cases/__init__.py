"""Benchmark: opening refund cases through the service layer, against raw SQL.

    make bench
    .venv/bin/python -m bench.cases [--cases 2000] [--lines 1,3,10] [--rounds 5]

Opens refund cases with `refunds.services.cases.open_case` on PostgreSQL and, in
the same run, with a baseline: hand-written psycopg2 transactions on a separate
connection that lock the same rows and write the same rows with the same
statements (one multi-row INSERT or UPDATE per table), pricing with the same
pure functions (`refunds.services.liability`). For 1, 3 and 10 lines per case
it prints cases per second, p50 and p99 latency per case, statements per case,
the baseline's cases per second and the ratio service / baseline, then where a
case's time goes, statement by statement.

The benchmark uses its own database (default `splitledger_bench` on
127.0.0.1:5432, user postgres; `--database-url` or DATABASE_URL to change it,
but the database name must contain "bench"). It creates the database if
missing, migrates it, and adds a fresh set of orders on every run; it deletes
nothing and touches no other database (it connects to `postgres` only to
create or drop its own). Celery publishes to kombu's in-memory transport, so
the outbox's consumers do not run inside the timings. See docs/benchmarks.md.
"""

from bench.cases.check import check_consistency
from bench.cases.cli import main
from bench.cases.setup import create_orders

__all__ = ["check_consistency", "create_orders", "main"]
