"""The transactional outbox.

`emit` writes one OutboxMessage per consumer subscribed to a topic, inside the
caller's transaction, and asks Celery (after commit) to drain that consumer.
A message about a case carries the case's next sequence number (1, 2, 3, ...
in the order the case's messages were written), so that consumers, and the
webhook receivers they tell, can put a case's events in order. A case's first
message (`case.opened`) takes number 1 in the INSERT of the case itself
(`first_sequence`); later ones raise the case's counter (`_take_sequences`).
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
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
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
    wanted = [(item, consumers_for(item[0])) for item in items]
    rows = []
    with transaction.atomic(savepoint=False):
        numbers = _take_sequences([item[2] for item, names in wanted if item[2] and names])
        for (topic, order, case, event), names in wanted:
            # One number per message of a case, shared by its consumers' rows.
            sequence = next(numbers[case.pk]) if case and names else None
            rows += messages(names, topic, order, case, event, sequence, now)
        if not rows:
            return
        OutboxMessage.objects.bulk_create(rows)
    dispatch_on_commit({row.consumer for row in rows})


def messages(
    consumers: Iterable[str],
    topic: str,
    order: Order | None,
    case: RefundCase | None,
    event: CaseEvent | None,
    sequence: int | None,
    now: datetime,
) -> list[OutboxMessage]:
    """The unsaved outbox rows of one message: one per consumer, the same `sequence`."""
    return [
        OutboxMessage(
            consumer=consumer,
            topic=topic,
            order=order,
            case=case,
            event=event,
            sequence=sequence,
            available_at=now,
        )
        for consumer in consumers
    ]


def events_of(messages: Iterable[OutboxMessage]) -> QuerySet[CaseEvent]:
    """The case events `messages` point at, looked up by (id, created_at): the
    events are partitioned by month of `created_at`, and a lookup by id alone
    would probe every month's partition."""
    pairs = {(m.event_id, m.event_created_at) for m in messages if m.event_id is not None}
    return CaseEvent.objects.filter(
        pk__in={event_id for event_id, _ in pairs},
        created_at__in={created_at for _, created_at in pairs},
    )


def dispatch_on_commit(consumers: Iterable[str]) -> None:
    """Queue a drain of each of `consumers` once the current transaction
    commits: for messages written here, or by hand in the same transaction."""
    wanted = sorted(set(consumers))
    if wanted:
        transaction.on_commit(lambda: dispatch(*wanted))


FIRST_SEQUENCE = 1


def first_sequence(topic: str) -> int:
    """The case counter's value for a case whose first message is about
    `topic`, written in the transaction that inserts the case (refunds.services
    .opening): the message takes number 1 in that INSERT, so that no UPDATE of
    the new case's counter is needed; 0 when nobody consumes `topic`."""
    return FIRST_SEQUENCE if consumers_for(topic) else 0


def _take_sequences(cases: list[RefundCase]) -> dict[int, Iterator[int]]:
    """Number each case's new messages after its last one: the case's counter
    is raised by one UPDATE in the transaction that writes the messages. That
    UPDATE holds the case's row until commit, so a concurrent writer to the
    same case waits and numbers after these; a rollback gives the numbers back
    with the messages. Receivers order a case's webhooks by these numbers."""
    counts = Counter(case.pk for case in cases)
    table = connection.ops.quote_name(RefundCase._meta.db_table)
    numbers: dict[int, Iterator[int]] = {}
    with connection.cursor() as cursor:
        for pk in sorted(counts):  # every writer locks in the same order: no deadlock
            cursor.execute(
                f"UPDATE {table} SET event_sequence = event_sequence + %s "
                "WHERE id = %s RETURNING event_sequence",
                [counts[pk], pk],
            )
            (last,) = cursor.fetchone()
            numbers[pk] = iter(range(last - counts[pk] + 1, last + 1))
    return numbers


def drain_flag(consumer: str) -> str:
    """The Redis key that says a drain of `consumer` is queued and not started."""
    return f"outbox:drain:{consumer}"


@cache
def _flags(url: str, pid: int):
    import redis

    # Short timeouts: this runs right after a commit, in the request.
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)


def flags():
    """A client for the drain flags (the broker's Redis), or None when the
    broker is not Redis or tasks run in process: then nothing is coalesced."""
    from celery import current_app as app

    url = app.conf.broker_url or ""
    if app.conf.task_always_eager or not url.startswith(("redis://", "rediss://")):
        return None
    return _flags(url, os.getpid())


def dispatch(*consumers: str) -> None:
    """Queue a drain of each of `consumers`, through one producer, unless one
    is already queued and not yet started (its flag is set): that drain will
    find this work too, so a burst of writes queues one task per consumer, not
    one per write. A broker outage must neither fail nor hold up the change
    that was already committed: the sweeper drains what is left."""
    from .tasks import drain_outbox

    wanted = list(consumers)
    client = flags()
    if client is not None:
        ttl = settings.OUTBOX_DRAIN_FLAG_SECONDS
        try:
            pipe = client.pipeline(transaction=False)
            for consumer in consumers:
                pipe.set(drain_flag(consumer), "1", nx=True, ex=ttl)
            wanted = [c for c, fresh in zip(consumers, pipe.execute(), strict=True) if fresh]
        except Exception:  # the broker is down: the publish below fails and says so
            logger.debug("outbox: drain flags unavailable", exc_info=True)
    if not wanted:
        return
    sent = publish_many(drain_outbox, [[consumer] for consumer in wanted])
    lost = [consumer for consumer, ok in zip(wanted, sent, strict=True) if not ok]
    for consumer in lost:
        logger.warning("outbox: could not queue a drain of %s; the sweeper will", consumer)
    if lost and client is not None:
        # Nothing is queued for these: the next write or sweep must try again.
        try:
            client.delete(*(drain_flag(c) for c in lost))
        except Exception:
            logger.debug("outbox: drain flags unavailable", exc_info=True)


def drain_started(consumer: str) -> None:
    """Called by a drain task before it claims anything: from now on a write
    queues one more drain, so nothing written after this point is missed."""
    client = flags()
    if client is None:
        return
    try:
        client.delete(drain_flag(consumer))
    except Exception:  # the flag expires by itself
        logger.warning("outbox: could not clear the drain flag of %s", consumer, exc_info=True)


# When this process last failed to reach the broker (monotonic), or None. The
# first publish that gets through after a failure queues the sweeps, so work
# left behind during the outage goes at once rather than at the next beat.
_broker_down_since: float | None = None


def broker_down_since() -> float | None:
    return _broker_down_since


def _note_broker(ok: bool) -> None:
    global _broker_down_since
    if not ok:
        if _broker_down_since is None:
            _broker_down_since = time.monotonic()
        return
    if _broker_down_since is None:
        return
    down_for = time.monotonic() - _broker_down_since
    _broker_down_since = None
    logger.warning("outbox: the broker is back after %.0f s; queueing the sweeps", down_for)
    from celery import current_app as app

    # By name (settings.BROKER_RECOVERY_TASKS): some live in apps above this one.
    for name in settings.BROKER_RECOVERY_TASKS:
        try:
            app.send_task(name, retry=False)
        except Exception:  # down again: the next success tries again
            _broker_down_since = time.monotonic()
            logger.warning("outbox: could not queue %s", name, exc_info=True)
            return


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
    if not app.conf.task_always_eager and calls:
        _note_broker(any(sent))
    return sent


@cache
def handler_for(consumer: str) -> Handler:
    return import_string(settings.OUTBOX_CONSUMERS[consumer]["handler"])


def drain(
    consumer: str,
    *,
    batch_size: int | None = None,
    max_batches: int | None = None,
    max_seconds: float | None = None,
) -> int:
    """Process pending messages of `consumer` in batches until none is due (or
    `max_batches` batches, or `max_seconds` are spent: then a drain is queued
    to go on, so that a task ends well before its time limit); returns how
    many were done."""
    batch_size = batch_size or settings.OUTBOX_BATCH_SIZE
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    done = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        if deadline is not None and time.monotonic() > deadline:
            dispatch(consumer)
            break
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


def has_pending() -> bool:
    return OutboxMessage.objects.filter(
        failed_at__isnull=True, available_at__lte=timezone.now()
    ).exists()
