"""Celery tasks of the outbox. They fetch work from the database (never from
the message), so a redelivered or duplicated task finds nothing left to do."""

from celery import shared_task
from django.db import DatabaseError, InterfaceError

from . import outbox, partitions


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(DatabaseError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=20,
)
def drain_outbox(self, consumer: str) -> int:
    # Clear the "drain queued" flag before claiming anything: a write committed
    # from here on queues another drain, so none is left behind. This one then
    # drains in batches until the consumer has nothing due.
    outbox.drain_started(consumer)
    limit = self.soft_time_limit or self.app.conf.task_soft_time_limit
    return outbox.drain(consumer, max_seconds=limit / 2 if limit else None)


@shared_task(acks_late=True)
def sweep_outbox() -> list[str]:
    """Periodic (every few seconds): queue a drain for every consumer with
    pending work (anything a lost dispatch, a broker outage or a backoff left
    behind). Idle, it costs one indexed EXISTS; busy, the drains it queues are
    coalesced with those the writes queue."""
    if not outbox.has_pending():
        return []
    consumers = outbox.pending_consumers()
    outbox.dispatch(*consumers)
    return consumers


@shared_task(acks_late=True)
def maintain_partitions() -> dict[str, list[str]]:
    """Daily: make the coming months' partitions of the case events, the
    outbox and the ledger's entries and journals (settings.PARTITIONED_TABLES), and detach
    old months if settings.PARTITION_DETACH_AFTER_MONTHS says so
    (refunds.partitions). Idempotent: a missed day catches up. A month
    refused (rows of it in DEFAULT) fails the task with every refused month
    named, after the other months are made and old ones detached."""
    from django.conf import settings

    refused: partitions.PartitionError | None = None
    try:
        made = partitions.create_ahead(settings.PARTITION_MONTHS_AHEAD)
    except partitions.PartitionError as error:
        # Every other month was made; detach all the same, then fail loudly.
        refused, made = error, error.made
    detached: list[str] = []
    if settings.PARTITION_DETACH_AFTER_MONTHS:
        verdicts = partitions.detach(settings.PARTITION_DETACH_AFTER_MONTHS)
        detached = [v.month.name for v in verdicts if v.detachable]
    if refused is not None:
        raise refused
    return {"created": made, "detached": detached}


@shared_task(acks_late=True)
def fold_refund_months(recent: int | None = None) -> int:
    """Add up the staff dashboard's daily sums of the days before today into monthly rows
    (refunds.services.refund_months): every past month, or the `recent` last."""
    from .services.refund_months import fold_refund_months as fold

    return len(fold(recent=recent))
