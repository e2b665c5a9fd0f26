from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from ops.health import forget_cached_migrations

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_migration_check():
    # The readiness check keeps a clean migration result for minutes; every
    # test looks at the database afresh.
    forget_cached_migrations()
    yield
    forget_cached_migrations()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_with_password(tmp_path) -> Iterator[tuple[int, str]]:
    """A private redis-server that wants a password, as the compose file runs it."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not on PATH")
    port, password = free_port(), "s3cret-hex-0123456789abcdef"
    log = (tmp_path / "redis.log").open("wb")
    process = subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
            *("--requirepass", password, "--save", "", "--appendonly", "no"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=5)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"redis-server did not start: {(tmp_path / 'redis.log').read_text()}")
            time.sleep(0.05)
    try:
        yield port, password
    finally:
        process.kill()
        process.wait(timeout=10)
        log.close()
