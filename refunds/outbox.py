"""The transactional outbox.

`emit` writes one OutboxMessage per consumer subscribed to a topic, inside the
caller's transaction, and asks Celery (after commit) to drain that consumer.
Consumers are named in settings.OUTBOX_CONSUMERS with the dotted path of a
batch handler, so this app never imports the apps that consume its events.

`drain` claims a batch of a consumer's messages (SKIP LOCKED, so several
workers share the backlog), runs the handler and deletes the batch in one
transaction: a crash before commit leaves the messages for the next run, a
crash after commit leaves nothing to redo. A batch whose handler fails is
retried one message at a time, so one bad message cannot block the others; a
failing message backs off and, after OUTBOX_MAX_ATTEMPTS, is parked as failed
for staff to see.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import CaseEvent, Order, OutboxMessage, RefundCase

logger = logging.getLogger(__name__)

Handler = Callable[[Sequence[OutboxMessage]], None]


def consumers_for(topic: str) -> list[str]:
    return [
        name
        for name, spec in settings.OUTBOX_CONSUMERS.items()
        if topic in spec["topics"] or "*" in spec["topics"]
    ]


def emit(
    topic: str,
    *,
    order: Order | None = None,
    case: RefundCase | None = None,
    event: CaseEvent | None = None,
) -> None:
    """Record work for every consumer of `topic`, in the current transaction."""
    emit_many([(topic, order, case, event)])


def emit_many(
    items: Iterable[tuple[str, Order | None, RefundCase | None, CaseEvent | None]],
) -> None:
    now = timezone.now()
    rows = [
        OutboxMessage(
            consumer=consumer,
            topic=topic,
            order=order,
            case=case,
            event=event,
            available_at=now,
        )
        for topic, order, case, event in items
        for consumer in consumers_for(topic)
    ]
    if not rows:
        return
    OutboxMessage.objects.bulk_create(rows)
    consumers = sorted({row.consumer for row in rows})
    transaction.on_commit(lambda: dispatch(*consumers))


def dispatch(*consumers: str) -> None:
    """Queue a drain of each of `consumers`, through one producer. A broker
    outage must neither fail nor hold up the change that was already committed:
    the periodic sweeper drains what is left."""
    from .tasks import drain_outbox

    sent = publish_many(drain_outbox, [[consumer] for consumer in consumers])
    for consumer, ok in zip(consumers, sent, strict=True):
        if not ok:
            logger.warning("outbox: could not queue a drain of %s; the sweeper will", consumer)


def publish(task, args: list, **options) -> bool:
    """Send a Celery task without ever blocking on a broker that is down.

    Returns False when the broker could not be reached; the caller relies on
    a periodic task to pick the work up later.
    """
    return publish_many(task, [args], **options)[0]


def publish_many(task, calls: list[list], **options) -> list[bool]:
    """`publish` for several calls of one task, through one producer (one
    connection check); says for each whether it was sent. One that fails does
    not stop the others. Every failure is logged with its error: the caller
    goes on (the work is in the database), but the outage must show."""
    app = task.app
    sent = [False] * len(calls)
    try:
        with app.producer_or_acquire() as producer:
            if not app.conf.task_always_eager:
                # One connection attempt. Left to itself kombu would retry a
                # lost broker connection for seconds (sleeping 2 s, 4 s, ...)
                # inside the request that has just committed.
                producer.connection.ensure_connection(max_retries=0)
            for index, args in enumerate(calls):
                try:
                    task.apply_async(args=args, retry=False, producer=producer, **options)
                except Exception:  # the broker went away, or an eager task failed
                    logger.warning(
                        "outbox: could not send %s%r", task.name, tuple(args), exc_info=True
                    )
                    continue
                sent[index] = True
    except Exception:  # the broker is down or unreachable
        logger.warning(
            "outbox: the broker refused %s (%d call%s not sent)",
            task.name,
            len(calls),
            "" if len(calls) == 1 else "s",
            exc_info=True,
        )
    return sent


@cache
def handler_for(consumer: str) -> Handler:
    return import_string(settings.OUTBOX_CONSUMERS[consumer]["handler"])


def drain(consumer: str, *, batch_size: int | None = None, max_batches: int | None = None) -> int:
    """Process pending messages of `consumer`; returns how many were done."""
    batch_size = batch_size or settings.OUTBOX_BATCH_SIZE
    done = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        processed = _drain_batch(consumer, batch_size)
        if processed == 0:
            break
        done += processed
        batches += 1
    return done


def _claim(consumer: str, limit: int) -> list[OutboxMessage]:
    return list(
        OutboxMessage.objects.select_for_update(skip_locked=True)
        .filter(consumer=consumer, failed_at__isnull=True, available_at__lte=timezone.now())
        .order_by("id")[:limit]
    )


def _drain_batch(consumer: str, batch_size: int) -> int:
    handler = handler_for(consumer)
    try:
        with transaction.atomic():
            messages = _claim(consumer, batch_size)
            if not messages:
                return 0
            handler(messages)
            OutboxMessage.objects.filter(pk__in=[m.pk for m in messages]).delete()
            return len(messages)
    except Exception:
        logger.exception("outbox: a batch of %s failed; retrying one by one", consumer)
    return _drain_one_by_one(consumer, batch_size, handler)


def _drain_one_by_one(consumer: str, batch_size: int, handler: Handler) -> int:
    done = 0
    for _ in range(batch_size):
        claimed: int | None = None
        try:
            with transaction.atomic():
                messages = _claim(consumer, 1)
                if not messages:
                    break
                claimed = messages[0].pk
                handler(messages)
                messages[0].delete()
                done += 1
        except Exception as error:
            if claimed is None:
                raise
            _record_failure(claimed, error)
    return done


def _record_failure(message_id: int, error: Exception) -> None:
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None:
            return
        message.attempts += 1
        message.last_error = f"{type(error).__name__}: {error}"[:4000]
        now = timezone.now()
        if message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            message.failed_at = now
            logger.error("outbox: %s failed for good after %s attempts", message, message.attempts)
        else:
            # Exponential backoff: 2, 4, 8, ... seconds, at most an hour.
            message.available_at = now + timedelta(seconds=min(2**message.attempts, 3600))
        message.save(update_fields=["attempts", "last_error", "failed_at", "available_at"])


def retry_messages(*, ids: Iterable[int]) -> int:
    """Give failed (parked) or backing-off messages back to the drainer now,
    with a fresh count of attempts, and queue a drain of their consumers once
    committed. Returns how many messages were reset; a message already done
    (deleted) or still waiting its first turn is left alone. The last error is
    kept until the message succeeds, so staff still see why it failed."""
    with transaction.atomic():
        retried = OutboxMessage.objects.filter(pk__in=list(ids)).filter(
            Q(failed_at__isnull=False) | Q(attempts__gt=0)
        )
        consumers = sorted(set(retried.values_list("consumer", flat=True)))
        count = retried.update(failed_at=None, attempts=0, available_at=timezone.now())
        if count:
            logger.info("outbox: %d message(s) of %s given back for retry", count, consumers)
            transaction.on_commit(lambda: dispatch(*consumers))
    return count


def pending_consumers() -> list[str]:
    return list(
        OutboxMessage.objects.filter(failed_at__isnull=True, available_at__lte=timezone.now())
        .values_list("consumer", flat=True)
        .distinct()
    )
