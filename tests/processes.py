"""Running the project's own commands in a child process, from the project's root."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(
    command: Sequence[str], env: Mapping[str, str] | None = None, *, timeout: float = 120
) -> subprocess.CompletedProcess:
    """command, run in the project's root with env (None: this process's), its
    output captured as text. Does not check the exit code: the caller asserts it."""
    return subprocess.run(
        list(command), cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def manage(
    *args: str,
    env: Mapping[str, str] | None = None,
    python: str = sys.executable,
    timeout: float = 120,
) -> subprocess.CompletedProcess:
    """`python manage.py *args`; see run."""
    return run([python, "manage.py", *args], env, timeout=timeout)
