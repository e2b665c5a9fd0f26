"""Benchmark: the refund-case API over HTTP, served by gunicorn as deployed.

    .venv/bin/python -m bench.api [--cases 100000] [--creations 3000] [--reads 6000]
                                  [--clients 2] [--workers 2] [--threads 4] [--rounds 3]
                                  [--conn-max-age 60] [--broker-url URL] [--recreate]

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

The outbox's drains are published to the Redis broker of --broker-url
($CELERY_BROKER_URL when it is Redis: drain flags coalesce them, as deployed)
or to kombu's in-process transport (memory://); no worker consumes them. The
database is ANALYZEd before the timings (autovacuum may be off).

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

from bench.api.cli import main

__all__ = ["main"]
