"""What the fault run and the soak share around their load: the timestamped
progress line, the private stack brought up for Django, the end-of-run report
pieces (memory table, a `manage.py check_*` result, PASS/FAIL) and `main`."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from bench.common import print_table
from bench.drills.figures import memory_rows
from bench.drills.stack import DrillError, Stack, setup_django


def say(message: str) -> None:
    """A progress line with the wall-clock time, flushed at once."""
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


@contextmanager
def drill_stack(database: str, args: argparse.Namespace) -> Iterator[Stack]:
    """The private stack, up and with Django set up against its database."""
    with Stack(
        database=database,
        web_workers=args.web_workers,
        celery_concurrency=args.celery_concurrency,
        keep=args.keep,
    ) as stack:
        stack.up(say)
        setup_django(stack)
        yield stack


def print_memory(
    title: str, start: Mapping[str, Sequence[int]], end: Mapping[str, Sequence[int]]
) -> None:
    print(title)
    print_table(
        ("process", "n", "total", "largest", "n", "total", "largest"),
        memory_rows(start, end),
        left=1,
    )


def print_check(label: str, result: subprocess.CompletedProcess) -> bool:
    """One `check_*` command's line (its output's tail when it found something);
    whether it was clean."""
    clean = result.returncode == 0
    print(f"{label}{'clean' if clean else 'FINDINGS'} (exit {result.returncode})")
    if not clean:
        print(result.stdout[-3000:], result.stderr[-2000:])
    return clean


def verdict(failures: Sequence[str]) -> int:
    """The result line; the exit status (1 on any failure)."""
    print("result: " + ("PASS" if not failures else "FAIL: " + "; ".join(failures)))
    return 1 if failures else 0


def drill_main(
    parse_args: Callable[[Sequence[str]], argparse.Namespace],
    run: Callable[[argparse.Namespace], int],
    argv: Sequence[str] | None,
) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except DrillError as error:
        print(f"drill stopped: {error.code}")
        return 2
