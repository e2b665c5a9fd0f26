"""`python -m bench.drills.compose_by_hand`: docker-compose.yml's services run
by hand, for a machine without a Docker daemon (docs/drills.md).

It reads docker-compose.yml (interpolated with deploy/env.example's values,
the secrets generated) and the Dockerfile, then, in the order the services'
`depends_on` conditions give, starts each one as its container would: the app
services with exactly their `command`, their `environment` over the image's
ENV, in the repository (the image's WORKDIR); `db` as the postgres image's
entrypoint would make it (a private cluster, the role and database from its
environment, password authentication); `redis` with its own command. Only what
cannot hold outside a container is substituted, and each substitution is
printed: service hostnames, bind ports, container paths, the container's
hostname. Each service's `healthcheck.test` then runs as Docker would run it
(CMD or CMD-SHELL), every start_interval during its start_period and every
interval after, until it passes or fails `retries` times in a row.

Services whose image cannot run here (nginx, pgbouncer) or whose profile is off
are reported as skipped, not pretended. Exit status 0 when every service that
ran is healthy (migrate: exited 0), 1 otherwise; everything is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.drills.compose import (
    COMPOSE_FILE,
    compose_errors,
    compose_file,
    dockerfile,
    documented_env,
    interpolate,
)
from bench.drills.stack import ROOT, DrillError, Postgres, Process, tail
from lib.processes import free_port

VENV_BIN = Path(sys.executable).parent
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Docker's defaults for a healthcheck (docker run --help; start_interval: Engine 25+).
DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
START_INTERVAL = 5.0


def seconds(value: Any, default: float) -> float:
    """A compose duration ("30s", "1m30s", "500ms") in seconds."""
    if value in (None, ""):
        return default
    text, total, number = str(value), 0.0, ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    i = 0
    while i < len(text):
        if text[i].isdigit() or text[i] == ".":
            number += text[i]
            i += 1
            continue
        unit = "ms" if text[i : i + 2] == "ms" else "us" if text[i : i + 2] == "us" else text[i]
        total += float(number) * units[unit]
        number, i = "", i + len(unit)
    return total + (float(number) if number else 0.0)


@dataclass
class Substitutions:
    """What cannot hold outside the container, and what stands in for it."""

    service: str
    pairs: list[tuple[str, str, str]] = field(default_factory=list)  # old, new, why
    env: dict[str, tuple[str, str]] = field(default_factory=dict)  # name: new, why
    # program: options given to it right after its name, why
    options: dict[str, tuple[list[str], str]] = field(default_factory=dict)
    # program: arguments added at the end of its command line, why
    append: dict[str, tuple[list[str], str]] = field(default_factory=dict)

    def text(self, value: str) -> str:
        """A value or a shell command line (CMD-SHELL) with the substitutions made."""
        for old, new, _ in self.pairs:
            value = value.replace(old, new)
        for program, (options, _) in self.options.items():
            value = re.sub(
                rf"(^|[\s;|&(]){re.escape(program)}(?=\s)", rf"\g<0> {shlex.join(options)}", value
            )
        return value

    def argv(self, argv: list[str], *, service_command: bool = False) -> list[str]:
        """An exec-form command (a service's command, a CMD healthcheck) substituted;
        the arguments of `append` go to the service's own command only."""
        argv = [self.text(arg) for arg in argv]
        program = Path(argv[0]).name if argv else ""
        if program in self.options:
            argv = [argv[0], *self.options[program][0], *argv[1:]]
        if service_command and program in self.append:
            argv = [*argv, *self.append[program][0]]
        return argv

    def describe(self, texts: list[str]) -> list[str]:
        """Each substitution that changes one of `texts` (the service's command,
        healthcheck and environment values), and every variable and option added."""
        lines = [
            f"{old!r} -> {new!r} ({why})"
            for old, new, why in self.pairs
            if any(old in text for text in texts)
        ]
        lines += [f"{name}={new} ({why})" for name, (new, why) in self.env.items()]
        lines += [
            f"{program} + {' '.join(options)} ... ({why})"
            for program, (options, why) in self.options.items()
        ]
        lines += [
            f"{program} ... + {' '.join(args)} ({why})"
            for program, (args, why) in self.append.items()
        ]
        return lines


@dataclass
class Health:
    healthy: bool
    detail: str


@dataclass
class Service:
    name: str
    spec: dict[str, Any]
    kind: str  # app, postgres, redis, skipped
    why_skipped: str = ""
    subs: Substitutions = field(init=False)
    process: Process | None = None
    health: Health | None = None
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.subs = Substitutions(self.name)


class ByHand:
    def __init__(self, directory: Path, say=print) -> None:
        self.directory = directory
        self.say = say
        self.env_values = documented_env()
        document = compose_file()
        self.compose = interpolate(document, self.env_values)
        self.image = dockerfile()
        self.pg_port = free_port()
        self.redis_port = free_port()
        self.postgres: Postgres | None = None
        self.announced: set[tuple[str, str]] = set()
        self.services = {
            name: self.classify(name, spec) for name, spec in self.compose["services"].items()
        }
        self.order = self.start_order()

    # ------------------------------------------------------------ planning

    def classify(self, name: str, spec: dict[str, Any]) -> Service:
        image = str(spec.get("image", ""))
        if spec.get("profiles"):
            profiles = ", ".join(spec["profiles"])
            program = image.split("/")[-1].split(":")[0]
            installed = shutil.which(program)
            return Service(
                name,
                spec,
                "skipped",
                f"profile {profiles} not enabled by `docker compose up`"
                + ("" if installed else f" (and {program} not installed)"),
            )
        if "build" in spec:
            return Service(name, spec, "app")
        if image.startswith("postgres:"):
            return Service(name, spec, "postgres")
        if image.startswith("redis:"):
            return Service(name, spec, "redis")
        program = image.split("/")[-1].split(":")[0]
        if shutil.which(program) is None:
            return Service(name, spec, "skipped", f"{program} not installed")
        return Service(name, spec, "skipped", f"no way to run the {image} image by hand")

    def start_order(self) -> list[str]:
        """The services in an order their depends_on allows (compose's own graph)."""
        order: list[str] = []

        def visit(name: str, path: tuple[str, ...]) -> None:
            if name in order:
                return
            if name in path:
                raise DrillError(f"depends_on cycle: {' -> '.join((*path, name))}")
            for dependency in self.services[name].spec.get("depends_on") or {}:
                visit(dependency, (*path, name))
            order.append(name)

        for name in self.services:
            visit(name, ())
        return order

    def substitutions(self, service: Service) -> None:
        subs, name = service.subs, service.name
        home = self.directory / name
        pg, redis = self.pg_port, self.redis_port
        subs.pairs += [
            ("@db:5432/", f"@127.0.0.1:{pg}/", "the compose network's name db"),
            ("@redis:6379/", f"@127.0.0.1:{redis}/", "the compose network's name redis"),
        ]
        for volume in service.spec.get("volumes") or []:
            source, _, target = str(volume).partition(":")
            path = self.directory / "volumes" / source.strip("./").replace("/", "_")
            if not source.startswith((".", "/")):
                path.mkdir(parents=True, exist_ok=True)
                subs.pairs.append((target, str(path), f"volume {source}"))
        for mount in service.spec.get("tmpfs") or []:
            target = str(mount).split(":")[0]
            path = home / "tmpfs" / target.strip("/").replace("/", "_")
            path.mkdir(parents=True, exist_ok=True)
            subs.pairs.append((target, str(path), "the container's tmpfs"))
        if service.kind == "app":
            tmp = home / "tmp"
            tmp.mkdir(parents=True, exist_ok=True)
            subs.pairs.append(("/tmp/", f"{tmp}/", "the container's own /tmp"))
            for port in service.spec.get("expose") or []:
                new = free_port()
                subs.pairs += [
                    (f"0.0.0.0:{port}", f"127.0.0.1:{new}", "a free port, loopback only"),
                    (f"127.0.0.1:{port}/", f"127.0.0.1:{new}/", "the same port"),
                ]
            if "WORKER_METRICS_PORT" in (service.spec.get("environment") or {}):
                subs.env["WORKER_METRICS_PORT"] = (str(free_port()), "a free port")
            subs.env["HOSTNAME"] = (name, "the container's hostname")
            subs.env["HOME"] = (str(home), "the app user's home")
            subs.env["PATH"] = (f"{VENV_BIN}:{SYSTEM_PATH}", "the image's Python: the venv's")
            command = service.spec.get("command") or self.image.cmd
            if command[:1] == ["celery"] and "worker" in command:
                subs.append["celery"] = (
                    ["--hostname", f"celery@{name}"],
                    "its container's hostname, which names the node "
                    "(two workers on one host would share one)",
                )
        if service.kind == "postgres":
            subs.options["pg_isready"] = (
                ["-h", "127.0.0.1", "-p", str(pg)],
                "the private cluster (in the container: its socket)",
            )
        if service.kind == "redis":
            subs.pairs.append(
                (
                    "exec redis-server ",
                    f"exec redis-server --port {redis} --bind 127.0.0.1 ",
                    "a free port, loopback only",
                )
            )
            subs.options["redis-cli"] = (["-p", str(redis)], "the private redis-server")

    def environment(self, service: Service) -> dict[str, str]:
        env = {"PATH": SYSTEM_PATH}
        if service.kind == "app":
            env |= self.image.env
        for key, value in (service.spec.get("environment") or {}).items():
            env[key] = service.subs.text("" if value is None else str(value))
        env |= {name: value for name, (value, _) in service.subs.env.items()}
        return env

    # ------------------------------------------------------------ running

    def start(self, service: Service) -> None:
        self.substitutions(service)
        service.env = self.environment(service)
        check = (service.spec.get("healthcheck") or {}).get("test") or []
        texts = [
            *map(str, service.spec.get("command") or self.image.cmd),
            *map(str, check),
            *(str(value) for value in (service.spec.get("environment") or {}).values()),
        ]
        for line in service.subs.describe(texts):
            self.say(f"  substituted: {line}")
        if service.kind == "postgres":
            self.start_postgres(service)
            return
        command = service.subs.argv(
            list(service.spec.get("command") or self.image.cmd), service_command=True
        )
        cwd = ROOT
        if service.kind == "redis":
            cwd = Path(service.subs.text("/data"))  # the image's WORKDIR, a volume
            cwd.mkdir(parents=True, exist_ok=True)
        service.process = Process(
            service.name, command, self.directory / f"{service.name}.log", service.env, cwd=cwd
        )
        self.say(f"  command: {command}")
        service.process.start()
        self.say(f"  started: pid {service.process.pid}")

    def start_postgres(self, service: Service) -> None:
        """What the postgres image's entrypoint does with an empty volume:
        initdb, POSTGRES_USER a superuser with POSTGRES_PASSWORD owning
        POSTGRES_DB, password (scram) authentication over TCP."""
        import psycopg2

        env = service.env
        user, password = env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]
        database = env.get("POSTGRES_DB", user)
        self.postgres = Postgres(self.directory, self.pg_port, database)
        self.postgres.init()
        self.postgres.start()
        conn = psycopg2.connect(f"postgres://postgres@127.0.0.1:{self.pg_port}/postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE ROLE "{user}" SUPERUSER LOGIN PASSWORD %s', [password])
            cur.execute(f'CREATE DATABASE "{database}" OWNER "{user}"')
        conn.close()
        (self.postgres.data / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
        )
        self.postgres.reload()
        self.say(
            f"  started: PostgreSQL ({self.postgres.bindir}) on 127.0.0.1:{self.pg_port}, "
            f"role {user} (superuser, scram password), database {database}"
        )

    def completed(self, service: Service, timeout: float) -> Health:
        assert service.process is not None and service.process.process is not None
        try:
            code = service.process.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return Health(False, f"still running after {timeout:.0f} s")
        output = tail(service.process.log, 5)
        return Health(code == 0, f"exited {code}: {output.splitlines()[-1] if output else ''}")

    def probe(self, service: Service) -> Health:
        """The healthcheck as Docker runs it: every start_interval during the
        start period (a pass ends it), then every interval; unhealthy after
        `retries` failures in a row past the start period."""
        check = service.spec.get("healthcheck") or {}
        test = list(check.get("test") or [])
        if not test or test[0] == "NONE":
            return Health(service.process is not None and service.process.alive(), "no healthcheck")
        if test[0] == "CMD":
            argv = service.subs.argv(test[1:])
        elif test[0] == "CMD-SHELL":
            argv = ["/bin/sh", "-c", service.subs.text(test[1])]
        else:
            raise DrillError(
                f"{service.name}: healthcheck test {test[0]!r} is neither CMD nor CMD-SHELL"
            )
        interval = seconds(check.get("interval"), DEFAULT_INTERVAL)
        timeout = seconds(check.get("timeout"), DEFAULT_TIMEOUT)
        start_period = seconds(check.get("start_period"), 0)
        retries = int(check.get("retries", DEFAULT_RETRIES))
        self.say(
            f"  healthcheck: {argv} (interval {interval:.0f} s, timeout {timeout:.0f} s, "
            f"start_period {start_period:.0f} s, retries {retries})"
        )
        started, failures, attempt = time.monotonic(), 0, 0
        while True:
            in_start = time.monotonic() - started < start_period
            time.sleep(START_INTERVAL if in_start else interval)
            attempt += 1
            if service.process is not None and not service.process.alive():
                return Health(False, f"the process exited:\n{tail(service.process.log, 15)}")
            try:
                done = subprocess.run(
                    argv,
                    cwd=ROOT,
                    env=service.env,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                )
                output = (done.stdout + done.stderr).strip()
                passed = done.returncode == 0
                result = f"exit {done.returncode}"
            except subprocess.TimeoutExpired:
                output, passed, result = "", False, f"timed out after {timeout:.0f} s"
            elapsed = time.monotonic() - started
            if passed:
                return Health(True, f"probe {attempt} at {elapsed:.0f} s: {result} {output[:300]}")
            self.say(f"    probe {attempt} at {elapsed:.0f} s: {result} {output[:300]}")
            if time.monotonic() - started >= start_period:
                failures += 1
                if failures >= retries:
                    return Health(
                        False, f"failed probes in a row: {failures}: {result} {output[:1000]}"
                    )

    def wait_for(self, dependency: str, condition: str) -> None:
        service = self.services[dependency]
        if service.kind == "skipped":
            raise DrillError(f"{dependency} is skipped ({service.why_skipped})")
        if condition == "service_started" or service.health is not None:
            pass
        elif condition == "service_completed_successfully":
            service.health = self.completed(service, timeout=600)
        else:
            service.health = self.probe(service)
        if condition != "service_started" and not (service.health and service.health.healthy):
            detail = service.health.detail if service.health else ""
            raise DrillError(f"{dependency} did not reach {condition}: {detail}")
        if (dependency, condition) not in self.announced:
            self.announced.add((dependency, condition))
            detail = service.health.detail if service.health else ""
            self.say(f"  {dependency}: {condition} ({detail})")

    def up(self) -> None:
        for name in self.order:
            service = self.services[name]
            if service.kind == "skipped":
                continue
            depends = service.spec.get("depends_on") or {}
            for dependency, how in depends.items():
                self.wait_for(dependency, (how or {}).get("condition", "service_started"))
            self.say(f"{name}: starting ({service.kind})")
            self.start(service)

    def check_all(self) -> None:
        for name in self.order:
            service = self.services[name]
            if service.kind == "skipped" or service.health is not None:
                continue
            self.say(f"{name}: checking health")
            if service.spec.get("restart") == "no":
                service.health = self.completed(service, timeout=600)
            else:
                service.health = self.probe(service)

    def down(self) -> None:
        for name in reversed(self.order):
            process = self.services[name].process
            if process is not None:
                try:
                    process.stop(timeout=10)
                except Exception as error:  # keep stopping the rest
                    self.say(f"stopping {name}: {error}")
        if self.postgres is not None and self.postgres.postmaster_pid() is not None:
            self.postgres.stop("fast")

    # ------------------------------------------------------------ report

    def dockerfile_report(self) -> None:
        image = self.image
        uid = image.users_created.get(image.user)
        me = pwd.getpwuid(os.geteuid()).pw_name
        web = self.compose["services"]["web"].get("command")
        self.say(
            f"Dockerfile: USER {image.user}"
            + (f" (uid {uid}, not root)" if uid else " (root!)" if image.user == "root" else "")
            + f"; WORKDIR {image.workdir} -> {ROOT}; ENV {image.env}"
        )
        self.say(
            f"Dockerfile: CMD {image.cmd} "
            + ("== web's command" if image.cmd == web else f"!= web's command {web}")
        )
        self.say(
            f"by hand the processes run as {me} (uid {os.geteuid()}), not as {image.user}: "
            "the paths the image lets that user write (media volume, tmpfs, /tmp, home) "
            "are substituted by directories of this run"
        )

    def summary(self) -> bool:
        self.say("\nsummary:")
        ok = True
        for name in self.order:
            service = self.services[name]
            if service.kind == "skipped":
                self.say(f"  {name:10} skipped: {service.why_skipped}")
                continue
            health = service.health
            completed = service.spec.get("restart") == "no"
            state = (
                ("completed" if completed else "healthy")
                if health and health.healthy
                else ("failed" if completed else "unhealthy")
            )
            ok = ok and bool(health and health.healthy)
            detail = (health.detail if health else "never checked").splitlines()
            self.say(f"  {name:10} {state}: {detail[0] if detail else ''}")
        return ok


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.drills.compose_by_hand", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--keep", action="store_true", help="keep the directory (logs, data)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    directory = Path(tempfile.mkdtemp(prefix="sl-compose-"))
    directory.chmod(0o755)  # the postgres user must reach its data directory
    print(f"{COMPOSE_FILE.name}, interpolated with deploy/env.example (secrets generated)")
    print(f"run directory {directory}")
    by_hand = ByHand(directory)
    errors = compose_errors(by_hand.compose)
    print(
        "Compose Specification schema: "
        + ("valid" if not errors else "INVALID:\n  " + "\n  ".join(errors))
    )
    by_hand.dockerfile_report()
    print(f"start order (depends_on): {', '.join(by_hand.order)}")
    failure = ""
    try:
        by_hand.up()
        by_hand.check_all()
    except DrillError as error:
        failure = str(error.code)
    except KeyboardInterrupt:
        failure = "interrupted"
    finally:
        ok = by_hand.summary() and not failure and not errors
        by_hand.down()
        if args.keep:
            print(f"kept {directory} (logs, data directory)")
        else:
            shutil.rmtree(directory, ignore_errors=True)
    if failure:
        print(f"FAILED: {failure}")
        return 1
    print("all healthy" if ok else "FAILED: not all healthy")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
