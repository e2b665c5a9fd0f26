"""The drills' arithmetic, kept apart from the processes so it can be tested:
the logical-operation accounting (lost, duplicated), latency tables per
endpoint, the retry decision and the memory table."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bench.common import percentile_ms

# ---------------------------------------------------------------- retries

# Answers that say "try again": the server may not have done it, or rolled it
# back; with the same Idempotency-Key a retry either does it or replays it.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def should_retry(status: int | None, retry_after: str | None) -> bool:
    """None is a transport error (refused, reset, timed out): retry."""
    if status is None:
        return True
    if status in RETRY_STATUSES or status >= 500:
        return True
    # 409 after a lock timeout, deadlock or serialization failure carries Retry-After.
    return status == 409 and retry_after is not None


def backoff_seconds(attempt: int, retry_after: str | None, cap: float = 5.0) -> float:
    """Wait before attempt `attempt + 1`: Retry-After if given (capped), else
    0.1 s doubling per attempt up to `cap`."""
    if retry_after:
        try:
            return min(cap, max(0.0, float(retry_after)))
        except ValueError:
            pass
    return min(cap, 0.1 * 2 ** max(0, attempt - 1))


# ---------------------------------------------------------------- accounting


@dataclass(frozen=True)
class Tally:
    """What one kind of logical operation left in the database."""

    kind: str
    expected: int
    found: int  # operations with at least one row
    lost: list[str]  # operations with no row
    duplicated: dict[str, int]  # operation -> rows, where more than one


def account(kind: str, operations: Iterable[str], rows: Mapping[str, int]) -> Tally:
    """Each logical operation should have left exactly one row: `rows` counts
    the rows found per operation (missing: none)."""
    ops = list(operations)
    lost = [op for op in ops if rows.get(op, 0) == 0]
    duplicated = {op: rows[op] for op in ops if rows.get(op, 0) > 1}
    return Tally(kind, len(ops), len(ops) - len(lost), lost, duplicated)


# ---------------------------------------------------------------- latencies


@dataclass
class EndpointStats:
    latencies_ns: list[int] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0  # transport errors and unexpected statuses
    resets: int = 0  # connection resets retried at once (a keep-alive connection closed)


class Recorder:
    """Latency and status per endpoint label, from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.endpoints: dict[str, EndpointStats] = defaultdict(EndpointStats)
        self.error_samples: list[str] = []

    def record(self, label: str, ns: int, status: int | None, ok: bool, detail: str = "") -> None:
        with self._lock:
            stats = self.endpoints[label]
            stats.latencies_ns.append(ns)
            if status is not None:
                stats.statuses[status] += 1
            if not ok:
                stats.errors += 1
                if len(self.error_samples) < 20:
                    self.error_samples.append(f"{label}: {status} {detail[:200]}")

    def reset(self, label: str) -> None:
        """A request that failed on its connection and was sent again at once, as a
        browser does when the server has closed a kept-alive connection."""
        with self._lock:
            self.endpoints[label].resets += 1

    def rows(self) -> list[tuple[str, ...]]:
        rows = []
        for label in sorted(self.endpoints):
            stats = self.endpoints[label]
            values = stats.latencies_ns
            rows.append(
                (
                    label,
                    f"{len(values):,}",
                    f"{percentile_ms(values, 0.50):.1f}" if values else "-",
                    f"{percentile_ms(values, 0.99):.1f}" if values else "-",
                    f"{max(values) / 1e6:.1f}" if values else "-",
                    str(stats.errors),
                    str(stats.resets),
                )
            )
        return rows

    @property
    def total_errors(self) -> int:
        return sum(s.errors for s in self.endpoints.values())

    @property
    def total_resets(self) -> int:
        return sum(s.resets for s in self.endpoints.values())

    @property
    def total_requests(self) -> int:
        return sum(len(s.latencies_ns) for s in self.endpoints.values())


# ---------------------------------------------------------------- memory


def memory_rows(
    start: Mapping[str, Sequence[int]], end: Mapping[str, Sequence[int]]
) -> list[tuple[str, ...]]:
    """One row per role: processes, total and largest RSS (MiB) at start and end."""

    def cells(values: Sequence[int] | None) -> tuple[str, str, str]:
        if not values:
            return ("0", "-", "-")
        return (str(len(values)), f"{sum(values) / 1024:.0f}", f"{max(values) / 1024:.0f}")

    roles = list(dict.fromkeys([*start, *end]))
    return [(role, *cells(start.get(role)), *cells(end.get(role))) for role in roles]
