"""The Celery app that the fault tests' workers run: the production app
(config.celery) with the Celery settings of the environment, plus fault points.

Start it with `celery -A tests.faults.fault_app worker ...`. Everything
here is driven by the environment, so the production code carries no test
branches:

FAULT_REDIS_URL
    Where the bookkeeping goes (a Redis database the test reads): how many
    times each task id ran, how many runs were redeliveries, which pool
    processes are busy, and how many times each fault point killed its process.
    Without it the app is the production app, untouched.
FAULT_EVERY_<POINT>
    Kill the pool process with SIGKILL at every Nth pass of a fault point,
    counted across all processes (0 or unset: never). The points are:

    MID_POSTING    inside the drain transaction, in the middle of posting:
                   journals and entries written, balances not yet updated.
    BEFORE_COMMIT  inside the drain transaction, after the handler has posted
                   the whole batch, before the messages are deleted and the
                   transaction commits.
    AFTER_COMMIT   after a batch has committed, before the task finishes and
                   its message is acknowledged.

A killed process is replaced by the worker's parent, which rejects the task's
message with requeue (acks_late plus reject_on_worker_lost), so the task runs
again: a redelivery.
"""

from __future__ import annotations

import os
import signal
from functools import cache, wraps

import django
import redis
from celery import signals

from config.celery import app

POINTS = ("mid_posting", "before_commit", "after_commit")

EVERY = {point: int(os.environ.get(f"FAULT_EVERY_{point.upper()}") or 0) for point in POINTS}
REDIS_URL = os.environ.get("FAULT_REDIS_URL")

# The test settings run tasks eagerly; a worker that runs them eagerly would
# drain in the sweeper's process instead of queueing, so force the real thing.
app.conf.task_always_eager = False


@cache
def _redis(pid: int) -> redis.Redis:
    # One client per process: a client inherited over fork shares its socket.
    assert REDIS_URL
    return redis.Redis.from_url(REDIS_URL, socket_timeout=10)


def store() -> redis.Redis:
    return _redis(os.getpid())


def maybe_die(point: str) -> None:
    every = EVERY[point]
    if not every:
        return
    r = store()
    if r.incr(f"fault:{point}:passes") % every:
        return
    r.incr(f"kills:{point}")
    r.srem("busy", os.getpid())
    os.kill(os.getpid(), signal.SIGKILL)


def install() -> None:
    django.setup()
    import ledger.posting
    import refunds.outbox

    original_add_to_balances = ledger.posting._add_to_balances
    original_handler_for = refunds.outbox.handler_for
    original_drain_batch = refunds.outbox._drain_batch

    @wraps(original_add_to_balances)
    def add_to_balances(*args):
        maybe_die("mid_posting")
        return original_add_to_balances(*args)

    @wraps(original_handler_for)
    def handler_for(consumer):
        handler = original_handler_for(consumer)

        @wraps(handler)
        def handle(messages):
            handler(messages)
            maybe_die("before_commit")

        return handle

    @wraps(original_drain_batch)
    def drain_batch(consumer, batch_size):
        done = original_drain_batch(consumer, batch_size)
        if done:
            maybe_die("after_commit")
        return done

    ledger.posting._add_to_balances = add_to_balances
    refunds.outbox.handler_for = handler_for
    refunds.outbox._drain_batch = drain_batch

    @signals.task_prerun.connect(weak=False)
    def count_run(task_id=None, task=None, **_):
        r = store()
        pipe = r.pipeline()
        pipe.incr(f"runs:{task_id}")
        pipe.incr(f"started:{task.name}")
        pipe.sadd("busy", os.getpid())
        if (task.request.delivery_info or {}).get("redelivered"):
            pipe.incr("redelivered_flag")
        runs = pipe.execute()[0]
        if runs > 1:
            r.incr("redeliveries")

    @signals.task_postrun.connect(weak=False)
    def count_done(task_id=None, task=None, **_):
        r = store()
        r.srem("busy", os.getpid())
        r.incr(f"finished:{task.name}")


if REDIS_URL:
    install()
