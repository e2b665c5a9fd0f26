"""Running test work on several threads at once, each on its own connection."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection, connections, transaction


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


def waiting_on_a_lock() -> bool:
    """Some other session of this database waits for a lock."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


def hold_then_race(first: Callable[[], object], second: Callable[[], object]) -> dict[str, object]:
    """Run `first` in a transaction held open until `second` (on another
    connection) waits for a lock; then commit it and let `second` finish.

    Returns {"first": ..., "second": ...} (each a result or the exception it
    raised) and "blocked": whether `second` was seen waiting on a lock."""
    holding, release = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def one() -> None:
        try:
            with transaction.atomic():
                results["first"] = first()
                holding.set()
                release.wait(timeout=60)
        except Exception as error:  # asserted on by the caller
            results["first"] = error
        finally:
            holding.set()
            connection.close()

    def two() -> None:
        try:
            results["second"] = second()
        except Exception as error:  # asserted on by the caller
            results["second"] = error
        finally:
            connection.close()

    a = threading.Thread(target=one)
    a.start()
    assert holding.wait(timeout=60)
    b = threading.Thread(target=two)
    b.start()
    for _ in range(600):
        if waiting_on_a_lock() or not b.is_alive():
            break
        threading.Event().wait(0.1)
    results["blocked"] = waiting_on_a_lock()
    release.set()
    a.join(timeout=60)
    b.join(timeout=60)
    assert not a.is_alive() and not b.is_alive(), "a thread hung"
    return results
