"""Real Redis servers and real Celery workers for the fault tests.

Every test gets its own redis-server on a free port (never the shared one on
6379) and workers started as subprocesses (`celery -A tests.faults.fault_app
worker`) against the test database, so they see what the test commits. The test
process itself publishes to that Redis: the `broker` fixture turns eager mode
off for the duration of a test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.db import connection

from lib.processes import free_port, kill_group, live_children, poll, terminate
from lib.processes import tail as log_tail

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")
LOG_TAIL = 120  # lines of each log shown when a test fails


def wait_for(
    predicate: Callable[[], object],
    timeout: float,
    what: str | Callable[[], str],
    every: float = 0.2,
):
    """Poll until `predicate()` is truthy; fail after `timeout` s saying what
    was awaited (`what`, or what it returns then)."""
    value = poll(predicate, timeout, every)
    if not value:
        pytest.fail(f"timed out after {timeout:.0f} s: {what() if callable(what) else what}")
    return value


def outbox_state() -> str:
    """What is left in the outbox, for a timeout message."""
    from django.db.models import Count

    from refunds.models import OutboxMessage

    left = OutboxMessage.objects.values("consumer", "attempts").annotate(n=Count("id"))
    errors = OutboxMessage.objects.exclude(last_error="").values_list("consumer", "last_error")
    return (
        f"the outbox is not empty: {list(left.order_by('consumer', 'attempts'))}; "
        f"errors: {list(errors[:5])}"
    )


def tail(path: Path, lines: int = LOG_TAIL) -> str:
    return log_tail(path, lines)


class RedisServer:
    """A private redis-server: no persistence, so a restart loses everything
    queued, as a crashed broker without AOF would."""

    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=10)

    def start(self) -> None:
        assert self.process is None, "already running"
        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is not on PATH: these tests start their own Redis")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no", "--daemonize", "no"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def up() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(f"redis-server exited:\n{tail(self.log)}")
            try:
                return bool(self.client().ping())
            except redis.ConnectionError:
                return False

        wait_for(up, 20, f"redis-server on port {self.port}", every=0.05)

    def kill(self) -> None:
        """Stop it the hard way (SIGKILL): an outage, not a shutdown."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None


class Worker:
    def __init__(self, name: str, process: subprocess.Popen, log: Path) -> None:
        self.name = name
        self.process = process
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    def children(self) -> list[int]:
        """The pool processes: live children of the worker's main process."""
        return live_children(self.pid)

    def stop(self, timeout: float = 30) -> None:
        """Warm shutdown, then SIGKILL to the whole process group if it lingers."""
        terminate(self.process, timeout)
        kill_group(self.process)  # its own group: see start_new_session
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


class Workers:
    """Starts Celery workers for one test and stops them all afterwards."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory = directory
        self.env = env
        self.started: list[Worker] = []

    def _spawn(self, command: list[str], log: Path, extra_env: dict[str, str]) -> subprocess.Popen:
        """Start command in its own process group (see Worker.stop), appending to log."""
        env = {**os.environ, **self.env, **extra_env}
        with log.open("ab") as out:
            return subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start(
        self, name: str, *, concurrency: int = 2, queues: str = "default", **extra_env: str
    ) -> Worker:
        log = self.directory / f"worker-{name}.log"
        command = [
            str(CELERY),
            "-A",
            "tests.faults.fault_app",
            "worker",
            "--hostname",
            f"{name}@%h",
            "--pool",
            "prefork",
            "--concurrency",
            str(concurrency),
            "-Q",
            queues,
            "-O",
            "fair",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "INFO",
        ]
        process = self._spawn(command, log, extra_env)
        worker = Worker(name, process, log)
        self.started.append(worker)

        def ready() -> bool:
            if process.poll() is not None:
                pytest.fail(f"worker {name} exited with {process.returncode}:\n{tail(log)}")
            return (
                " ready." in log.read_text(errors="replace")
                and len(worker.children()) == concurrency
            )

        wait_for(ready, 90, f"worker {name} to be ready")
        return worker

    def start_beat(self, **extra_env: str) -> subprocess.Popen:
        """Celery beat with the production schedule (settings.CELERY_BEAT_SCHEDULE)."""
        log = self.directory / "beat.log"
        command = [
            *(str(CELERY), "-A", "tests.faults.fault_app", "beat", "--loglevel", "INFO"),
            *("--schedule", str(self.directory / "beat-schedule")),
        ]
        process = self._spawn(command, log, extra_env)
        self.started.append(Worker("beat", process, log))
        return process

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()

    def logs(self) -> str:
        return "\n".join(f"==== {w.name} ({w.log})\n{tail(w.log)}" for w in self.started)


def database_url() -> str:
    """The test database (pytest-django's test_... copy), as a URL for workers."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = quote(str(db.get("PASSWORD") or ""), safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "localhost"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(db['NAME'], safe='')}"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _failed(request) -> bool:
    return any(
        getattr(request.node, f"report_{when}", None) is not None
        and getattr(request.node, f"report_{when}").failed
        for when in ("setup", "call")
    )


@pytest.fixture
def redis_server(tmp_path, request) -> Iterator[RedisServer]:
    server = RedisServer(free_port(), tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.kill()
        if _failed(request):
            print(f"==== redis-server ({server.log})\n{tail(server.log)}")


@pytest.fixture
def broker(redis_server, settings, monkeypatch) -> Iterator[RedisServer]:
    """Publish from this process to `redis_server` instead of running tasks eagerly."""
    from config.celery import app

    # Celery reads os.environ["CELERY_BROKER_URL"] before app.conf.broker_url.
    monkeypatch.setenv("CELERY_BROKER_URL", redis_server.url())

    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url")}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = redis_server.url()
    app.conf.task_always_eager = False
    app.conf.broker_url = redis_server.url()
    _reset_broker_pools(app)
    try:
        yield redis_server
    finally:
        _reset_broker_pools(app)
        app.conf.update(saved)


def _reset_broker_pools(app) -> None:
    # Connection and producer pools are made on first use for the broker URL
    # of that moment; forget them so the next publish uses the current one.
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def workers(tmp_path, request, broker) -> Iterator[Workers]:
    """Start workers with `workers.start(name, **env)`; all stop at teardown,
    before the test database is flushed."""
    fleet = Workers(
        tmp_path,
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker.url(0),
            "PYTHONPATH": str(ROOT),
            "LOG_LEVEL": "WARNING",
        },
    )
    try:
        yield fleet
    finally:
        fleet.stop_all()
        if _failed(request):
            print(fleet.logs())


def ledger_problems() -> list[str]:
    """Everything that is not balanced in the ledger, described; [] if sound."""
    from ledger.models import AccountBalance, Entry, Journal
    from ledger.selectors import ledger_currencies, trial_balance

    journal = Journal._meta.db_table
    entry = Entry._meta.db_table
    balance = AccountBalance._meta.db_table
    problems: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT journal_id, currency, SUM(debit), SUM(credit) FROM {entry} "
            f"GROUP BY journal_id, currency HAVING SUM(debit) <> SUM(credit)"
        )
        problems += [f"journal {j} {c}: Dr {d} <> Cr {k}" for j, c, d, k in cursor.fetchall()]
        cursor.execute(
            f"SELECT j.id, j.entry_count, COUNT(e.id) FROM {journal} j "
            f"LEFT JOIN {entry} e ON e.journal_id = j.id "
            f"GROUP BY j.id, j.entry_count HAVING COUNT(e.id) <> j.entry_count"
        )
        problems += [f"journal {j}: {n} entries, {k} declared" for j, k, n in cursor.fetchall()]
        cursor.execute(
            f"SELECT COALESCE(b.account_id, s.account_id), COALESCE(b.currency, s.currency), "
            f"b.debit, b.credit, s.debit, s.credit FROM {balance} b FULL OUTER JOIN "
            f"(SELECT account_id, currency, SUM(debit) AS debit, SUM(credit) AS credit "
            f"FROM {entry} GROUP BY account_id, currency) s "
            f"ON s.account_id = b.account_id AND s.currency = b.currency "
            f"WHERE COALESCE(b.debit, 0) <> COALESCE(s.debit, 0) "
            f"OR COALESCE(b.credit, 0) <> COALESCE(s.credit, 0)"
        )
        problems += [
            f"balance of account {a} {c} is Dr {bd} Cr {bc}, its entries add up to Dr {sd} Cr {sc}"
            for a, c, bd, bc, sd, sc in cursor.fetchall()
        ]
    for currency in ledger_currencies():
        trial = trial_balance(currency)
        if not trial.balanced:
            problems.append(
                f"trial balance {currency}: Dr {trial.total_debit} <> Cr {trial.total_credit}"
            )
    return problems
