"""Prometheus metrics: what the processes count, and what the database holds.

Counted in the process that does the work (ops.middleware, ops.celery):
- splitledger_http_requests_total{route, method, status}: `route` is the URL
  pattern that matched ("api/v1/cases/<int:pk>/"), never the raw path, and
  "unmatched" for a path no pattern matches; `status` is the class ("2xx").
- splitledger_http_request_duration_seconds{route, method}: a histogram.
- splitledger_celery_task_duration_seconds{task, state}: a histogram per task
  name and end state (SUCCESS, FAILURE, RETRY, ...).

Read from the database at scrape time (DatabaseCollector), each a query on an
indexed or small table:
- splitledger_outbox_pending / _retrying / _failed{consumer} and
  splitledger_outbox_oldest_pending_age_seconds{consumer} (the outbox lag);
- splitledger_webhook_deliveries_pending / _retrying / _failed;
- splitledger_email_unsent / _unsent_with_errors{kind} and
  splitledger_email_oldest_unsent_age_seconds{kind} (notification, invitation);
- splitledger_metrics_database_up: 0 when those queries could not run.

Several processes (gunicorn workers, Celery's prefork children) each count
their own; with PROMETHEUS_MULTIPROC_DIR set (before any process starts, to an
empty directory, e.g. a tmpfs) prometheus_client writes every process's values
to files there and a scrape adds them up (`exposition()`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client import Counter as PromCounter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

if settings.PROMETHEUS_MULTIPROC_DIR:
    # prometheus_client writes its files there from the first value on; a
    # missing directory would fail every request, so make it (a tmpfs in
    # docker-compose.yml is there already).
    os.makedirs(settings.PROMETHEUS_MULTIPROC_DIR, exist_ok=True)

# The metrics this code counts. They live in their own registry, not
# prometheus_client's global one, so that a scrape shows exactly these (plus the
# database's figures) and importing this module twice cannot register twice.
REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = PromCounter(
    "splitledger_http_requests",
    "HTTP requests answered, by URL pattern, method and status class.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "splitledger_http_request_duration_seconds",
    "Time from the request reaching Django to the response leaving it.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
TASK_DURATION = Histogram(
    "splitledger_celery_task_duration_seconds",
    "Celery task run time (task_prerun to task_postrun), by task name and end state.",
    ["task", "state"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0),
    registry=REGISTRY,
)

# Anything else a client sends is counted as "other": labels stay few.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
# A regex segment's "^" (at the start, or after the "/" that joins it to its
# parent) and its final "$".
_ANCHORS = re.compile(r"(?:(?<=/)|^)\^|\$$")


def route_of(request: Any) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED
    # DRF's router builds regex patterns ("^cases/(?P<pk>[^/.]+)/$"): the
    # anchors say nothing to a reader of a dashboard.
    return "/" + _ANCHORS.sub("", match.route or "")


def record_request(*, route: str, method: str, status: int, seconds: float) -> None:
    method = method if method in METHODS else "other"
    HTTP_REQUESTS.labels(route=route, method=method, status=f"{status // 100}xx").inc()
    HTTP_DURATION.labels(route=route, method=method).observe(seconds)


def record_task(*, task: str, state: str, seconds: float) -> None:
    TASK_DURATION.labels(task=task, state=state or "UNKNOWN").observe(seconds)


def multiprocess_dir() -> str | None:
    return settings.PROMETHEUS_MULTIPROC_DIR or None


def exposition() -> bytes:
    """The text a scrape gets: the counted metrics (every process's, in
    multiprocess mode) and the database's figures, read now."""
    registry = CollectorRegistry()
    if multiprocess_dir():
        MultiProcessCollector(registry, path=multiprocess_dir())
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(DatabaseCollector())
    return generate_latest(registry)


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        return self.registry.collect()


def model_named(name: str) -> type[models.Model] | None:
    """The installed model class called `name`, whichever app holds it: the
    webhook and notification models are read by name so that this module does
    not import the apps beside it (and survives a model moving app)."""
    for model in apps.get_models():
        if model.__name__ == name:
            return model
    return None


def _age(oldest: Any, now: Any) -> float:
    return 0.0 if oldest is None else max((now - oldest).total_seconds(), 0.0)


class DatabaseCollector(Collector):
    """Figures computed from the database at each scrape. A section whose query
    fails is left out and counted in splitledger_metrics_database_up."""

    def collect(self) -> Iterator[Metric]:
        up = 1
        for section in (self._outbox, self._webhooks, self._email):
            try:
                yield from section()
            except Exception:
                logger.exception("metrics: %s failed", section.__name__)
                up = 0
        yield GaugeMetricFamily(
            "splitledger_metrics_database_up",
            "1 when every database figure of this scrape could be read.",
            value=up,
        )

    def _outbox(self) -> list[Metric]:
        model = model_named("OutboxMessage")
        if model is None:
            return []
        now = timezone.now()
        pending = Q(failed_at__isnull=True)
        rows = (
            model._default_manager.order_by()
            .values("consumer")
            .annotate(
                pending=Count("id", filter=pending),
                retrying=Count("id", filter=pending & Q(attempts__gt=0)),
                failed=Count("id", filter=Q(failed_at__isnull=False)),
                oldest=Min("created_at", filter=pending),
            )
        )
        by_consumer = {
            name: {"pending": 0, "retrying": 0, "failed": 0, "oldest": None}
            for name in settings.OUTBOX_CONSUMERS
        }
        for row in rows:
            by_consumer[row["consumer"]] = row
        families = {
            "pending": GaugeMetricFamily(
                "splitledger_outbox_pending",
                "Outbox messages waiting for their consumer (not parked).",
                labels=["consumer"],
            ),
            "retrying": GaugeMetricFamily(
                "splitledger_outbox_retrying",
                "Pending outbox messages that failed at least once and wait for a retry.",
                labels=["consumer"],
            ),
            "failed": GaugeMetricFamily(
                "splitledger_outbox_failed",
                "Outbox messages parked as failed after OUTBOX_MAX_ATTEMPTS: a person must look.",
                labels=["consumer"],
            ),
        }
        lag = GaugeMetricFamily(
            "splitledger_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending outbox message (0 when none): the consumer's lag.",
            labels=["consumer"],
        )
        for consumer in sorted(by_consumer):
            row = by_consumer[consumer]
            for key, family in families.items():
                family.add_metric([consumer], row[key])
            lag.add_metric([consumer], _age(row["oldest"], now))
        return [*families.values(), lag]

    def _webhooks(self) -> list[Metric]:
        model = model_named("WebhookDelivery")
        if model is None:
            return []
        figures = model._default_manager.aggregate(
            pending=Count("id", filter=Q(status="pending")),
            retrying=Count("id", filter=Q(status="pending", attempts__gt=0)),
            failed=Count("id", filter=Q(status="failed")),
        )
        return [
            GaugeMetricFamily(
                "splitledger_webhook_deliveries_pending",
                "Webhook deliveries not yet accepted by their endpoint.",
                value=figures["pending"],
            ),
            GaugeMetricFamily(
                "splitledger_webhook_deliveries_retrying",
                "Pending webhook deliveries whose endpoint failed at least once.",
                value=figures["retrying"],
            ),
            GaugeMetricFamily(
                "splitledger_webhook_deliveries_failed",
                "Webhook deliveries given up after WEBHOOK_MAX_ATTEMPTS (all time).",
                value=figures["failed"],
            ),
        ]

    def _email(self) -> list[Metric]:
        now = timezone.now()
        unsent = GaugeMetricFamily(
            "splitledger_email_unsent",
            "E-mails not sent yet (notifications, vendor invitations).",
            labels=["kind"],
        )
        errors = GaugeMetricFamily(
            "splitledger_email_unsent_with_errors",
            "Unsent e-mails whose sending failed at least once.",
            labels=["kind"],
        )
        oldest = GaugeMetricFamily(
            "splitledger_email_oldest_unsent_age_seconds",
            "Age of the oldest unsent e-mail (0 when none).",
            labels=["kind"],
        )
        # (kind, model, "not sent" field, failed-attempts field); both models
        # have a partial index on created_at over their unsent rows.
        sources = (
            ("notification", "Notification", "emailed_at", "email_attempts"),
            ("invitation", "VendorInvitation", "sent_at", "attempts"),
        )
        for kind, name, sent_field, attempts_field in sources:
            model = model_named(name)
            if model is None:
                continue
            figures = model._default_manager.filter(**{f"{sent_field}__isnull": True}).aggregate(
                unsent=Count("id"),
                errors=Count("id", filter=Q(**{f"{attempts_field}__gt": 0})),
                oldest=Min("created_at"),
            )
            unsent.add_metric([kind], figures["unsent"])
            errors.add_metric([kind], figures["errors"])
            oldest.add_metric([kind], _age(figures["oldest"], now))
        return [unsent, errors, oldest]


def start_worker_exporter() -> None:
    """Serve this worker's task metrics on CELERY_METRICS_PORT, when set (the
    worker's main process calls it). Needs PROMETHEUS_MULTIPROC_DIR: tasks run
    in prefork children, whose values only reach the main process through it."""
    port = settings.CELERY_METRICS_PORT
    if not port:
        return
    directory = multiprocess_dir()
    if not directory:
        logger.warning("CELERY_METRICS_PORT is set without PROMETHEUS_MULTIPROC_DIR: not serving")
        return
    from prometheus_client import start_http_server

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    start_http_server(int(port), addr=settings.CELERY_METRICS_ADDR, registry=registry)
    logger.info("Serving task metrics on %s:%s", settings.CELERY_METRICS_ADDR, port)
