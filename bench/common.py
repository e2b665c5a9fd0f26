"""What every benchmark does the same way: its own PostgreSQL database, Django
set up against it, nearest-rank percentiles, the load average, CPU time of a
database backend, plain-text tables and ratios to a baseline.

Each benchmark works in a database of its own whose name must contain "bench";
it connects to the `postgres` database only to create or drop that one.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import warnings
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import psycopg2
from psycopg2 import sql

SETTINGS_MODULE = "config.settings.local"
SERVER_SETTINGS = ("server_version", "synchronous_commit", "fsync", "shared_buffers")

# ---------------------------------------------------------------- the database


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def maintenance_url(url: str) -> str:
    return urlsplit(url)._replace(path="/postgres").geturl()


def _maintenance(url: str, statement: sql.Composable) -> None:
    conn = psycopg2.connect(maintenance_url(url))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()


def prepare_database(url: str, *, recreate: bool) -> bool:
    """Create (or drop and create) the benchmark's database. True if created."""
    name = database_name(url)
    conn = psycopg2.connect(maintenance_url(url))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            if recreate:
                cur.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cur.fetchone() is not None:
                return False
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    finally:
        conn.close()


def drop_database(url: str) -> None:
    """Close Django's connections (if Django is set up) and drop the database."""
    from django.db import connections

    connections.close_all()
    name = sql.Identifier(database_name(url))
    _maintenance(url, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


def setup_django(
    url: str,
    bench: str,
    *,
    eager_refusal: str | None = None,
    quiet_static: bool = False,
    require_postgres: bool = True,
    migrate: bool = True,
) -> None:
    """Django in this process against `url`, as production runs it, migrated
    (unless `migrate` is False: the schema as it is).

    `bench` names the benchmark in refusals. With `eager_refusal`, stop with
    that message if Celery would run tasks eagerly (outbox consumers inside
    the timings). `quiet_static` silences whitenoise's warning when
    collectstatic has not run: no benchmark serves static files.
    """
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    # DEBUG would wrap every cursor in the query-logging one: not what production runs.
    os.environ["DJANGO_DEBUG"] = "false"
    # With no broker, Celery runs tasks eagerly: the outbox's after-commit dispatch
    # would drain its consumers inside the timings. Publish to kombu's in-process
    # transport instead, as production publishes to its broker; no worker
    # consumes it, and the outbox rows stay in the bench database.
    os.environ["CELERY_BROKER_URL"] = "memory://"
    if quiet_static:
        warnings.filterwarnings("ignore", "No directory at", UserWarning)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    if require_postgres and connection.vendor != "postgresql":
        raise SystemExit(f"{bench} needs PostgreSQL, not {connection.vendor}.")
    if eager_refusal and getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        raise SystemExit(eager_refusal)
    if migrate:
        call_command("migrate", interactive=False, verbosity=0)


def open_database(url: str, bench: str, *, recreate: bool, **setup: Any) -> None:
    """prepare_database, setup_django, and say so."""
    created = prepare_database(url, recreate=recreate)
    setup_django(url, bench, **setup)
    migrated = "migrated" if setup.get("migrate", True) else "not migrated (as it is)"
    print(f"database {database_name(url)}{' (created)' if created else ''}, {migrated}")


def server_facts(url: str, settings: Sequence[str] = SERVER_SETTINGS) -> dict[str, str]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            facts = {}
            for setting in settings:
                cur.execute(sql.SQL("SHOW {}").format(sql.Identifier(setting)))
                facts[setting] = cur.fetchone()[0]
            return facts
    finally:
        conn.rollback()
        conn.close()


def backend_cpu_ns(pid: int | None) -> int | None:
    """CPU time a local PostgreSQL backend has used (Linux /proc), if readable."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def django_backend_pid() -> int:
    from django.db import connection

    connection.ensure_connection()
    return connection.connection.get_backend_pid()


# ---------------------------------------------------------------- statement labels


TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?(\w+)', re.IGNORECASE)


def statement_kind(query: str) -> str:
    """`SELECT`, `INSERT`, `SAVEPOINT`, `COMMIT`, ...: the statement's first word."""
    return query.lstrip().split(None, 1)[0].upper()


def statement_label(query: str) -> str:
    """`SELECT refunds_order`, `INSERT ledger_entry`, `SAVEPOINT`, `COMMIT`, ..."""
    kind = statement_kind(query)
    if kind in ("SELECT", "INSERT", "UPDATE", "DELETE") and (match := TABLE.search(query)):
        return f"{kind} {match.group(1)}"
    return kind


# ---------------------------------------------------------------- arguments


def add_database_arguments(parser: argparse.ArgumentParser, default_url: str) -> None:
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or default_url,
        help=f"PostgreSQL URL (default: $DATABASE_URL or {default_url})",
    )
    parser.add_argument(
        "--recreate", action="store_true", help="drop and create the bench database first"
    )


def check_database_url(parser: argparse.ArgumentParser, url: str, *, what: str) -> None:
    """Refuse a URL that is not PostgreSQL or names a database without 'bench'.

    `what` says what the benchmark does to it ("writes thousands of rows").
    """
    scheme = urlsplit(url).scheme
    if scheme not in ("postgres", "postgresql"):
        parser.error(f"the database URL must be PostgreSQL, not {scheme or 'empty'}")
    if "bench" not in database_name(url):
        parser.error(
            f"refusing to use database {database_name(url)!r}: the benchmark "
            f"{what}, so its database name must contain 'bench'"
        )


# ---------------------------------------------------------------- measuring


class Rated(Protocol):
    @property
    def rate(self) -> float: ...


def percentile_ms(values: Sequence[int], fraction: float) -> float:
    """Nearest rank of nanosecond values, in milliseconds."""
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
    return ordered[rank - 1] / 1e6


def ratios(side: Sequence[Rated], baseline: Sequence[Rated]) -> list[float]:
    """Each round's rate over the baseline's in the same round (interleaved)."""
    return [s.rate / b.rate for s, b in zip(side, baseline, strict=True)]


T = TypeVar("T")


def in_turn(sides: Sequence[T], round_number: int) -> list[T]:
    """The sides of an interleaved round in the order they run: who goes first
    rotates from round to round, so drift in the machine's load hits every side."""
    shift = round_number % len(sides)
    return [*sides[shift:], *sides[:shift]]


def load_average(*, digits: int = 1, sep: str = " ") -> str:
    """The 1, 5 and 15 minute load averages."""
    return sep.join(f"{x:.{digits}f}" for x in os.getloadavg())


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, left: int) -> None:
    """A plain-text table; the first `left` columns left-aligned, the others right."""
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return " | ".join(
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )

    print(line(header))
    print("-|-".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
