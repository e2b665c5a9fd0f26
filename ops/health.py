"""Liveness and readiness, for load balancers, compose healthchecks and people.

`readiness()` is the one decision: the `/readyz` view and `manage.py
check_ready` both call it, so a probe over HTTP and a probe from inside a
worker or beat container agree. Each check returns a status ("ok", "fail" or
"skipped") and its figures; the deployment is ready when none fails.

Checks, cheapest first: the database answers; the broker answers (when one is
configured); every migration on disk is applied; the outbox is draining (the
oldest pending message is younger than HEALTH_OUTBOX_MAX_LAG_SECONDS and no
more than HEALTH_OUTBOX_MAX_FAILED messages are parked as failed).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, Min, Q
from django.utils import timezone

Check = dict[str, Any]

OK, FAIL, SKIPPED = "ok", "fail", "skipped"

# When the migrations were last found all applied (time.monotonic()). Loading
# the migration graph reads every migration file, so a clean result is kept for
# HEALTH_MIGRATIONS_CACHE_SECONDS; an unclean one is looked at again on every
# probe, so the service turns ready as soon as `migrate` has finished.
_migrations_clean_at: float | None = None


def liveness() -> dict[str, str]:
    """The process is up and serving; touches nothing else."""
    return {"status": "alive"}


def readiness() -> dict[str, Any]:
    checks: dict[str, Check] = {"database": check_database()}
    checks["broker"] = check_broker()
    if checks["database"]["status"] == OK:
        checks["migrations"] = check_migrations()
        checks["outbox"] = check_outbox()
    else:
        # Neither can be judged without a database, so neither passes.
        checks["migrations"] = {"status": FAIL, "error": "database unreachable"}
        checks["outbox"] = {"status": FAIL, "error": "database unreachable"}
    failing = sorted(name for name, check in checks.items() if check["status"] == FAIL)
    return {"status": "ready" if not failing else "not_ready", "failing": failing, "checks": checks}


def _error(error: BaseException) -> str:
    # The class and message only: no traceback, no connection string.
    return f"{type(error).__name__}: {str(error).strip()}"[:300]


def check_database(alias: str = DEFAULT_DB_ALIAS) -> Check:
    started = time.monotonic()
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        return {"status": FAIL, "error": _error(error)}
    return {"status": OK, "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def check_broker() -> Check:
    url = settings.CELERY_BROKER_URL
    if not url:
        return {"status": SKIPPED, "reason": "no broker configured; tasks run in process"}
    from kombu import Connection

    started = time.monotonic()
    timeout = settings.HEALTH_BROKER_TIMEOUT_SECONDS
    options = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    try:
        with Connection(url, connect_timeout=timeout, transport_options=options) as conn:
            # One attempt: a probe must answer quickly, never sit in kombu's
            # reconnection loop. The Redis transport pings (and so
            # authenticates) when it connects.
            conn.ensure_connection(max_retries=0)
    except Exception as error:
        return {"status": FAIL, "error": _error(error)}
    return {"status": OK, "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def unapplied_migrations(alias: str = DEFAULT_DB_ALIAS, targets=None) -> list[str]:
    """Migrations `migrate` would apply (to `targets`, by default every app's
    latest), as "app.name" strings, in order."""
    executor = MigrationExecutor(connections[alias])
    if targets is None:
        targets = executor.loader.graph.leaf_nodes()
    plan = executor.migration_plan(targets)
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def check_migrations() -> Check:
    global _migrations_clean_at
    now = time.monotonic()
    ttl = settings.HEALTH_MIGRATIONS_CACHE_SECONDS
    if _migrations_clean_at is not None and now - _migrations_clean_at < ttl:
        return {"status": OK, "unapplied": 0, "cached": True}
    try:
        pending = unapplied_migrations()
    except Exception as error:
        return {"status": FAIL, "error": _error(error)}
    if pending:
        _migrations_clean_at = None
        return {"status": FAIL, "unapplied": len(pending), "migrations": pending[:20]}
    _migrations_clean_at = now
    return {"status": OK, "unapplied": 0, "cached": False}


def forget_cached_migrations() -> None:
    global _migrations_clean_at
    _migrations_clean_at = None


def check_outbox() -> Check:
    from refunds.models import OutboxMessage

    try:
        figures = OutboxMessage.objects.aggregate(
            pending=Count("id", filter=Q(failed_at__isnull=True)),
            failed=Count("id", filter=Q(failed_at__isnull=False)),
            oldest=Min("created_at", filter=Q(failed_at__isnull=True)),
        )
    except Exception as error:
        return {"status": FAIL, "error": _error(error)}
    oldest = figures["oldest"]
    lag = 0.0 if oldest is None else max((timezone.now() - oldest).total_seconds(), 0.0)
    max_lag = settings.HEALTH_OUTBOX_MAX_LAG_SECONDS
    max_failed = settings.HEALTH_OUTBOX_MAX_FAILED
    problems = []
    if lag > max_lag:
        problems.append(f"oldest pending message is {int(lag)} s old (limit {max_lag} s)")
    if figures["failed"] > max_failed:
        problems.append(f"{figures['failed']} messages parked as failed (limit {max_failed})")
    check: Check = {
        "status": FAIL if problems else OK,
        "pending": figures["pending"],
        "oldest_pending_age_seconds": round(lag, 1),
        "max_lag_seconds": max_lag,
        "failed": figures["failed"],
        "max_failed": max_failed,
    }
    if problems:
        check["problems"] = problems
    return check
