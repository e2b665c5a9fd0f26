"""A private stack for the drills: PostgreSQL, Redis, gunicorn, a Celery worker, beat.

Nothing here touches the machine's shared services: the PostgreSQL cluster is
made with initdb in a temporary directory and listens on a free loopback port
(as the `postgres` OS user when run as root, since PostgreSQL refuses to run as
root), Redis likewise. Every process starts in its own session so that it can
be killed alone, and everything is stopped (and the directory removed, unless
kept) when the `Stack` context ends.
"""

from __future__ import annotations

import glob
import http.client
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lib.processes import free_port, kill_group, live_children, poll, terminate
from lib.processes import tail as log_tail

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")
LOG_TAIL = 40


class DrillError(SystemExit):
    """The stack could not be brought up or kept up: stop the drill saying why."""


def tail(path: Path, lines: int = LOG_TAIL) -> str:
    return log_tail(path, lines)


def wait_for(predicate: Callable[[], object], timeout: float, what: str, every: float = 0.1):
    value = poll(predicate, timeout, every)
    if not value:
        raise DrillError(f"timed out after {timeout:.0f} s waiting for {what}")
    return value


# ---------------------------------------------------------------- /proc


def rss_kib(pid: int) -> int | None:
    """Resident set size of a process (VmRSS), or None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


# ---------------------------------------------------------------- PostgreSQL


def postgres_bindir() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise DrillError("initdb not found (install PostgreSQL's server package)")


class Postgres:
    """A PostgreSQL cluster of our own: initdb'd into `directory`, on `port`."""

    def __init__(self, directory: Path, port: int, database: str) -> None:
        self.directory = directory
        self.data = directory / "pgdata"
        self.run_dir = directory / "pgrun"
        self.log = directory / "postgres.log"
        self.port = port
        self.database = database
        self.bindir = postgres_bindir()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root: run it as the postgres OS user.
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise DrillError("running as root, but there is no postgres OS user") from None
            self.as_user = ["runuser", "-u", "postgres", "--"]
            self._owner = (owner.pw_uid, owner.pw_gid)
        else:
            self._owner = (os.getuid(), os.getgid())

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.as_user, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.directory,
        )

    def init(self) -> None:
        for path in (self.data, self.run_dir):
            path.mkdir(mode=0o700)
            os.chown(path, *self._owner)
        self.log.touch()
        os.chown(self.log, *self._owner)
        done = self._run(
            str(self.bindir / "initdb"),
            *("-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8"),
            "--locale=C.UTF-8",
        )
        if done.returncode:
            raise DrillError(f"initdb failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.run_dir} -c listen_addresses=127.0.0.1 "
            "-c max_connections=200 -c shared_buffers=128MB"
        )
        done = self._run(
            str(self.bindir / "pg_ctl"),
            *("-D", str(self.data), "-l", str(self.log), "-w", "-t", "120", "-o", options),
            "start",
            timeout=180,
        )
        if done.returncode:
            raise DrillError(f"pg_ctl start failed:\n{done.stdout}{done.stderr}\n{tail(self.log)}")

    def stop(self, mode: str = "fast") -> None:
        """`pg_ctl stop -m mode`; `immediate` is a crash: recovery runs at the next start."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def reload(self) -> None:
        """`pg_ctl reload`: pg_hba.conf and settings read again."""
        done = self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "reload")
        if done.returncode:
            raise DrillError(f"pg_ctl reload failed:\n{done.stdout}{done.stderr}")

    def create_database(self) -> None:
        import psycopg2

        conn = psycopg2.connect(f"postgres://postgres@127.0.0.1:{self.port}/postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{self.database}"')
        conn.close()

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None


# ---------------------------------------------------------------- Redis


class Redis:
    """A redis-server without persistence: killing it loses everything queued,
    as a crashed broker without AOF would."""

    def __init__(self, directory: Path, port: int) -> None:
        self.port = port
        self.log = directory / "redis.log"
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        import redis

        if shutil.which("redis-server") is None:
            raise DrillError("redis-server is not on PATH")
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
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

        def up() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise DrillError(f"redis-server exited:\n{tail(self.log)}")
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_for(up, 20, f"redis-server on port {self.port}", every=0.05)

    def kill(self) -> None:
        """SIGKILL: an outage, not a shutdown."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


# ---------------------------------------------------------------- app processes


@dataclass
class Process:
    name: str
    command: list[str]
    log: Path
    env: dict[str, str]
    process: subprocess.Popen | None = None
    restarts: int = 0
    cwd: Path = ROOT

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: see kill_all
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill_all(self) -> None:
        """SIGKILL to the whole process group (the main process and its children)."""
        if self.process is None:
            return
        kill_group(self.process)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 30) -> None:
        if self.process is None:
            return
        terminate(self.process, timeout)
        self.kill_all()


@dataclass
class Stack:
    """The whole private stack. Use as a context manager; `up()` starts it."""

    database: str
    web_workers: int = 2
    web_threads: int = 4
    celery_concurrency: int = 2
    keep: bool = False
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="sl-drill-")))
    postgres: Postgres = field(init=False)
    redis: Redis = field(init=False)
    web_port: int = field(init=False)
    web: Process = field(init=False)
    worker: Process = field(init=False)
    beat: Process = field(init=False)

    def __post_init__(self) -> None:
        self.directory.chmod(0o755)  # the postgres user must reach its data directory
        self.postgres = Postgres(self.directory, free_port(), self.database)
        self.redis = Redis(self.directory, free_port())
        self.web_port = free_port()
        env = self.app_env()
        self.web = Process(
            "gunicorn",
            [
                *(sys.executable, "-m", "gunicorn", "config.wsgi:application"),
                *("--bind", f"127.0.0.1:{self.web_port}", "--workers", str(self.web_workers)),
                *("--worker-class", "gthread", "--threads", str(self.web_threads)),
                *("--log-level", "warning", "--graceful-timeout", "5"),
            ],
            self.directory / "gunicorn.log",
            env,
        )
        self.worker = Process(
            "celery worker",
            [
                *(str(CELERY), "-A", "config.celery", "worker", "--hostname", "drill@%h"),
                *("--pool", "prefork", "--concurrency", str(self.celery_concurrency)),
                *("-Q", "default,webhooks,email", "-O", "fair"),
                *("--without-gossip", "--without-mingle", "--without-heartbeat"),
                *("--loglevel", "INFO"),
            ],
            self.directory / "worker.log",
            env,
        )
        self.beat = Process(
            "celery beat",
            [
                *(str(CELERY), "-A", "config.celery", "beat", "--loglevel", "WARNING"),
                *("--schedule", str(self.directory / "beat-schedule")),
            ],
            self.directory / "beat.log",
            env,
        )

    # ------------------------------------------------------------ environment

    def app_env(self) -> dict[str, str]:
        """The environment of every app process: production settings, plain HTTP
        on loopback, our database and broker."""
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Plain HTTP on loopback, as behind a TLS-terminating proxy.
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_SECURE_COOKIES": "false",
            # The staff session of the soak reads the dashboard without a TOTP device.
            "STAFF_REQUIRE_2FA": "false",
            "DATABASE_URL": self.postgres.url,
            "DATABASE_CONN_MAX_AGE": "60",
            "DATABASE_CONN_HEALTH_CHECKS": "true",
            "CELERY_BROKER_URL": self.redis.url(0),
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "plain",
            "API_THROTTLE_RATE": "off",
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "MEDIA_ROOT": str(self.directory / "media"),
            "PYTHONPATH": str(ROOT),
        }
        env.pop("DJANGO_DEBUG", None)
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        return env

    def manage(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        """`manage.py args` against the stack's database and broker."""
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.app_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    # ------------------------------------------------------------ up and down

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if kind is not None and kind is not KeyboardInterrupt:
            print(self.logs())
        self.down()

    def up(self, say: Callable[[str], None] = print) -> None:
        say(f"stack directory {self.directory}")
        self.postgres.init()
        self.postgres.start()
        self.postgres.create_database()
        say(f"PostgreSQL {self.postgres.bindir.parent.name} on port {self.postgres.port}")
        self.redis.start()
        say(f"redis-server on port {self.redis.port}")
        migrated = self.manage("migrate", "--noinput", "-v0")
        if migrated.returncode:
            raise DrillError(f"migrate failed:\n{migrated.stdout}{migrated.stderr}")
        say(f"database {self.database} migrated")
        self.start_web()
        self.start_worker()
        self.beat.start()
        say(
            f"gunicorn on port {self.web_port} ({self.web_workers} gthread workers of "
            f"{self.web_threads} threads), Celery worker (prefork, {self.celery_concurrency}), "
            "beat"
        )

    def start_web(self) -> None:
        self.web.start()

        def answers() -> bool:
            if not self.web.alive():
                raise DrillError(f"gunicorn exited:\n{tail(self.web.log)}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=2)
                conn.request("GET", "/healthz")
                status = conn.getresponse().status
                conn.close()
                return status == 200
            except OSError:
                return False

        wait_for(answers, 90, "gunicorn to answer /healthz", every=0.2)
        wait_for(lambda: len(self.web_workers_pids()) == self.web_workers, 60, "gunicorn workers")

    def start_worker(self) -> None:
        before = (
            self.worker.log.read_text(errors="replace").count(" ready.")
            if (self.worker.log.exists())
            else 0
        )
        self.worker.start()

        def ready() -> bool:
            if not self.worker.alive():
                raise DrillError(f"the Celery worker exited:\n{tail(self.worker.log)}")
            text = self.worker.log.read_text(errors="replace")
            return text.count(" ready.") > before and (
                len(live_children(self.worker.pid)) >= self.celery_concurrency
            )

        wait_for(ready, 120, "the Celery worker to be ready", every=0.2)

    def restart_worker(self) -> None:
        self.worker.restarts += 1
        self.start_worker()

    def web_workers_pids(self) -> list[int]:
        return live_children(self.web.pid) if self.web.alive() else []

    def down(self) -> None:
        for process in (self.beat, self.worker, self.web):
            try:
                process.stop(timeout=10)
            except Exception as error:  # keep stopping the rest
                print(f"stopping {process.name}: {error}")
        self.redis.kill()
        if self.postgres.postmaster_pid() is not None:
            self.postgres.stop("fast")
        if self.keep:
            print(f"kept {self.directory} (logs, data directory)")
        else:
            shutil.rmtree(self.directory, ignore_errors=True)

    def logs(self) -> str:
        return (
            "\n".join(
                f"==== {p.name} ({p.log})\n{tail(p.log)}"
                for p in (self.web, self.worker, self.beat)
            )
            + f"\n==== postgres ({self.postgres.log})\n{tail(self.postgres.log)}"
        )

    # ------------------------------------------------------------ memory

    def memory(self) -> dict[str, list[int]]:
        """RSS in KiB of every process of the stack, by role."""
        roles: dict[str, list[int]] = {}

        def add(role: str, pid: int) -> None:
            rss = rss_kib(pid)
            if rss is not None:
                roles.setdefault(role, []).append(rss)

        if self.web.alive():
            add("gunicorn master", self.web.pid)
            for pid in self.web_workers_pids():
                add("gunicorn worker", pid)
        if self.worker.alive():
            add("celery worker (main)", self.worker.pid)
            for pid in live_children(self.worker.pid):
                add("celery worker (pool)", pid)
        if self.beat.alive():
            add("celery beat", self.beat.pid)
        postmaster = self.postgres.postmaster_pid()
        if postmaster is not None:
            add("postgres postmaster", postmaster)
            for pid in live_children(postmaster):
                line = cmdline(pid)
                role = "postgres backend" if self.database in line else "postgres auxiliary"
                add(role, pid)
        if self.redis.process is not None:
            add("redis-server", self.redis.process.pid)
        return roles


# ---------------------------------------------------------------- Django in the drill


def setup_django(stack: Stack) -> None:
    """Django in the drill process against the stack (to seed and to count)."""
    env = stack.app_env()
    for key in (
        "DJANGO_SETTINGS_MODULE",
        "DJANGO_SECRET_KEY",
        "DJANGO_ALLOWED_HOSTS",
        "DJANGO_SECURE_SSL_REDIRECT",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "LOG_LEVEL",
        "LOG_FORMAT",
        "EMAIL_BACKEND",
        "MEDIA_ROOT",
    ):
        os.environ[key] = env[key]
    os.environ["DATABASE_CONN_MAX_AGE"] = "0"
    import django

    django.setup()


def close_django_connections() -> None:
    from django.db import connections

    connections.close_all()
