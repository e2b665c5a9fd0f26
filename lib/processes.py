"""Helpers for programs that start local servers of their own (the fault
tests' Redis and Celery workers, the drills' private stack): a free port, the
tail of a log, polling until something is so, a process's live children,
stopping a process and its process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, lines: int) -> str:
    """The last `lines` lines of a log file, or "(no log)" if there is none."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def live_children(pid: int) -> list[int]:
    """The process ids of `pid`'s live (not zombie) children, in order (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
    return sorted(found)


def poll(predicate: Callable[[], T], timeout: float, every: float) -> T:
    """Call `predicate` every `every` s until it returns something truthy or
    `timeout` s have passed; what it returned last (falsy: it timed out)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def terminate(process: subprocess.Popen, timeout: float) -> None:
    """SIGTERM to `process` if it still runs, and up to `timeout` s for it to end."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL to the process group of `process`, started with start_new_session:
    the process and every child it left."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
