"""Celery signal handlers: the request ID travels with a task, and every task
run is timed. config/celery.py connects them (`connect_signals`)."""

from __future__ import annotations

import logging
import time
from typing import Any

from .context import TASK_HEADER, bind_request_id, current_request_id, unbind_request_id
from .logs import JsonFormatter, PlainFormatter, RequestIdFilter

# task id -> (start, request-ID token), for the task running in this process.
_running: dict[str, tuple[float, Any]] = {}


def add_request_id_header(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """before_task_publish: a task queued while serving a request carries its ID."""
    request_id = current_request_id()
    if headers is not None and request_id and TASK_HEADER not in headers:
        headers[TASK_HEADER] = request_id


def _request_id_of(task: Any) -> str | None:
    request = getattr(task, "request", None)
    if request is None:
        return None
    value = getattr(request, TASK_HEADER, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(TASK_HEADER)
    return value if isinstance(value, str) else None


def task_started(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    """task_prerun: start the clock; bind the publisher's request ID, if any (a
    task run in process keeps the one already bound)."""
    request_id = _request_id_of(task)
    token = bind_request_id(request_id) if request_id else None
    _running[task_id or ""] = (time.perf_counter(), token)


def task_finished(
    task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any
) -> None:
    """task_postrun: record the run time by task name and end state."""
    from .metrics import record_task

    started, token = _running.pop(task_id or "", (None, None))
    if token is not None:
        unbind_request_id(token)
    if started is not None:
        name = getattr(task, "name", None) or "unknown"
        record_task(task=name, state=state or "UNKNOWN", seconds=time.perf_counter() - started)


def use_request_id_in_worker_logs(logger: logging.Logger | None = None, **_: Any) -> None:
    """after_setup_logger / after_setup_task_logger: the worker's own handlers
    get the request-ID filter, and LOG_FORMAT=json makes them print JSON."""
    from django.conf import settings

    if logger is None:
        return
    json_lines = settings.LOG_FORMAT == "json"
    for handler in logger.handlers:
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
        if json_lines:
            handler.setFormatter(JsonFormatter())
        elif handler.formatter is not None and not isinstance(handler.formatter, PlainFormatter):
            handler.setFormatter(_WithRequestId(handler.formatter))


class _WithRequestId(logging.Formatter):
    """Celery's own line format, with ` [request_id=...]` when there is one."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        line = self.inner.format(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} [request_id={request_id}]" if request_id else line


def start_exporter(**_: Any) -> None:
    """worker_init: serve the task metrics when CELERY_METRICS_PORT is set."""
    from .metrics import start_worker_exporter

    start_worker_exporter()


def connect_signals() -> None:
    from celery import signals

    signals.before_task_publish.connect(add_request_id_header, weak=False)
    signals.task_prerun.connect(task_started, weak=False)
    signals.task_postrun.connect(task_finished, weak=False)
    signals.after_setup_logger.connect(use_request_id_in_worker_logs, weak=False)
    signals.after_setup_task_logger.connect(use_request_id_in_worker_logs, weak=False)
    signals.worker_init.connect(start_exporter, weak=False)
