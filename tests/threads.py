"""Running test work on several threads at once, each on its own connection."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def run_together(n: int, work: Callable[[int], object]) -> list[object]:
    """Run work(i) on n threads, each on its own connection, released at once.
    Returns each thread's result, or the exception it raised."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[i] = work(i)
        except Exception as error:  # recorded and asserted on by the caller
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results
