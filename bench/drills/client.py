"""HTTP clients of the drills: an integrator's logical POST (an Idempotency-Key,
retried until an answer that is final), and timed plain requests."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests

from bench.drills.figures import Recorder, backoff_seconds, should_retry

TIMEOUT = (5, 60)  # connect, read


@dataclass
class Totals:
    """Every HTTP attempt the integrators made, across threads."""

    attempts: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    replayed: int = 0  # answers with Idempotent-Replayed: true
    gave_up: int = 0
    refused: int = 0  # final 4xx answers: a logical operation that did not happen
    samples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status: int | None, error: str = "") -> None:
        with self.lock:
            self.attempts += 1
            self.by_status["transport error" if status is None else str(status)] += 1
            if error and len(self.samples) < 10:
                self.samples.append(error)

    @property
    def ok(self) -> int:
        return sum(n for s, n in self.by_status.items() if s.isdigit() and 200 <= int(s) < 300)


class ApiClient:
    """One integrator: a requests session with an API key."""

    def __init__(
        self,
        base: str,
        key: str,
        totals: Totals,
        recorder: Recorder | None = None,
        max_seconds: float = 600,
    ) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Token {key}", "Accept": "application/json"})
        self.totals = totals
        self.recorder = recorder
        self.max_seconds = max_seconds

    def post(self, path: str, body: dict[str, Any], idempotency_key: str, label: str) -> Any:
        """One logical POST: retried with the same key on transport errors, 5xx,
        429 and retryable 409s until a final answer; returns its JSON, or None
        if the answer was a refusal or the retries ran out."""
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            before = time.perf_counter_ns()
            status: int | None = None
            retry_after: str | None = None
            detail = ""
            try:
                response = self.session.post(
                    self.base + path,
                    json=body,
                    headers={"Idempotency-Key": idempotency_key},
                    timeout=TIMEOUT,
                )
                status = response.status_code
                retry_after = response.headers.get("Retry-After")
                if response.headers.get("Idempotent-Replayed") == "true":
                    with self.totals.lock:
                        self.totals.replayed += 1
                if 200 <= status < 300:
                    self.totals.add(status)
                    self._record(label, before, status, True)
                    return response.json()
                detail = response.text[:300]
            except requests.RequestException as error:
                detail = f"{type(error).__name__}: {error}"
            retry = should_retry(status, retry_after)
            self.totals.add(status, f"{label} {status} {detail[:200]}")
            if status is None and self.recorder is not None:
                self.recorder.reset(label)  # sent again with the same key
            else:
                self._record(label, before, status, False, detail)
            if not retry:
                with self.totals.lock:
                    self.totals.refused += 1
                return None
            if time.monotonic() - started > self.max_seconds:
                with self.totals.lock:
                    self.totals.gave_up += 1
                return None
            with self.totals.lock:
                self.totals.retries += 1
            time.sleep(backoff_seconds(attempt, retry_after))

    def get(self, path: str, label: str, expect: int = 200) -> requests.Response | None:
        assert self.recorder is not None
        return timed_get(self.session, self.base + path, label, self.recorder, expect)

    def _record(self, label: str, before: int, status: int | None, ok: bool, detail: str = ""):
        if self.recorder is not None:
            self.recorder.record(label, time.perf_counter_ns() - before, status, ok, detail)


def timed_get(
    session: requests.Session, url: str, label: str, recorder: Recorder, expect: int = 200
) -> requests.Response | None:
    """A GET, timed; sent once more at once if the connection fails (a kept-alive
    connection the server closed: counted as a reset, not an error)."""
    for attempt in (1, 2):
        before = time.perf_counter_ns()
        try:
            response = session.get(url, timeout=TIMEOUT, allow_redirects=False)
        except requests.ConnectionError as error:
            if attempt == 1:
                recorder.reset(label)
                continue
            recorder.record(label, time.perf_counter_ns() - before, None, False, str(error))
            return None
        except requests.RequestException as error:
            recorder.record(label, time.perf_counter_ns() - before, None, False, str(error))
            return None
        ok = response.status_code == expect
        detail = "" if ok else f"{url} {response.text[:200]}"
        recorder.record(label, time.perf_counter_ns() - before, response.status_code, ok, detail)
        return response
    return None


def session_login(base: str, login_path: str, username: str, password: str) -> requests.Session:
    """A browser-like session signed in through a Django login form (CSRF cookie)."""
    session = requests.Session()
    page = session.get(base + login_path, timeout=TIMEOUT)
    page.raise_for_status()
    token = session.cookies.get("csrftoken")
    response = session.post(
        base + login_path,
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": base + login_path},
        timeout=TIMEOUT,
        allow_redirects=False,
    )
    if response.status_code != 302:
        raise RuntimeError(f"login of {username} at {login_path}: {response.status_code}")
    return session
