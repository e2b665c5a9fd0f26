"""The gunicorn server and the HTTP and raw SQL client processes of bench.api."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import multiprocessing
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg2

from bench.api.fixture import ROOT

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
        # Plain HTTP on loopback, as behind a TLS-terminating proxy: no redirect.
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": url,
        "DATABASE_CONN_MAX_AGE": str(args.conn_max_age),
        # As the Dockerfile (off: no per-request `SELECT 1`).
        "DATABASE_CONN_HEALTH_CHECKS": "false",
        # Publish the outbox's dispatch as production does (not eagerly): to the
        # Redis broker of --broker-url, whose drain flags coalesce the drains
        # as in production, or to kombu's in-process transport (memory://, as
        # bench.cases), where every write publishes. No worker consumes either.
        "CELERY_BROKER_URL": args.broker_url,
        "LOG_LEVEL": "WARNING",
        # The benchmark measures the API, not its rate limit.
        "API_THROTTLE_RATE": "off",
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
