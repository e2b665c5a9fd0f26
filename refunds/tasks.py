"""Celery tasks of the outbox. They fetch work from the database (never from
the message), so a redelivered or duplicated task finds nothing left to do."""

from celery import shared_task
from django.db import DatabaseError, InterfaceError

from . import outbox


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(DatabaseError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=20,
)
def drain_outbox(self, consumer: str) -> int:
    return outbox.drain(consumer)


@shared_task(acks_late=True)
def sweep_outbox() -> list[str]:
    """Periodic: queue a drain for every consumer with pending work (anything a
    lost dispatch, a broker outage or a backoff left behind)."""
    consumers = outbox.pending_consumers()
    for consumer in consumers:
        outbox.dispatch(consumer)
    return consumers
