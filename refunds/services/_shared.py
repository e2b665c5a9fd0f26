"""What the case services share: the lock on a case, the event row every change
writes, the order lines' refund counters written back in one statement, and
collisions turned into refusals.

Locking: opening a case, and rejecting or cancelling one (which gives its
amounts back to the order), lock the order row first and only then the case
row. Every path that changes an order's refund counters takes that one lock,
so concurrent requests on an order queue up behind it instead of deadlocking,
and the counters are read and written by one transaction at a time. The CHECK
constraints on the counters are the last line: even a path that forgot the lock
could not over-refund.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from django.contrib.auth.models import User
from django.db import OperationalError, connection
from django.db.models import Case, F, Value, When
from django.utils import timezone

from lib.errors import is_collision
from vendors.models import Vendor

from ..errors import RefundError
from ..models import (
    CaseEvent,
    EventChannel,
    OrderLine,
    RefundCase,
)

P = ParamSpec("P")


R = TypeVar("R")


def refusing_collisions(service: Callable[P, R]) -> Callable[P, R]:
    """A collision with a concurrent transaction (a deadlock on the staff
    dashboard's shared summary rows, say) becomes a RefundError that admin,
    portal and API show like any refusal: the change was not made, try again."""

    @functools.wraps(service)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return service(*args, **kwargs)
        except OperationalError as error:
            if not is_collision(error):
                raise
            raise RefundError(
                "case",
                "Another change collided with this one at the same moment, and it was "
                "not made. Try again.",
                code="conflict",
            ) from error

    return run


def case_queryset(case: RefundCase | str):
    if isinstance(case, RefundCase):
        return RefundCase.objects.filter(pk=case.pk)
    return RefundCase.objects.filter(case_id=str(case))


def lock_case(case: RefundCase | str) -> RefundCase:
    locked = case_queryset(case).select_for_update().first()
    if locked is None:
        raise RefundError("case", f"Refund case {case} does not exist.", code="not_found")
    return locked


def write_event(
    case: RefundCase,
    kind: str,
    *,
    actor: User | None,
    text: str = "",
    channel: str = EventChannel.STAFF,
    vendor: Vendor | None = None,
    internal: bool = False,
    from_status: str = "",
    to_status: str = "",
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        actor=actor if actor is not None and actor.is_authenticated else None,
        vendor=vendor,
        internal=internal,
        channel=channel,
        text=text,
        data=data or {},
        created_at=now or timezone.now(),
    )


COUNTER_FIELDS = (
    "refunded_quantity",
    "refunded_net",
    "refunded_tax",
    "commission_base_refunded",
    "commission_reversed",
)


def write_line_counters(lines: Mapping[int, OrderLine]) -> None:
    """Write the in-memory counters of changed lines back in one UPDATE."""
    changed = changed_line_counters(lines)
    if not changed:
        return
    if connection.vendor == "postgresql":
        sql, params = line_counters_update(changed)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    OrderLine.objects.filter(pk__in=[line.pk for line in changed]).update(
        **{
            name: Case(
                *[When(pk=line.pk, then=Value(getattr(line, name))) for line in changed],
                default=F(name),
                output_field=OrderLine._meta.get_field(name),  # type: ignore[arg-type]
            )
            for name in COUNTER_FIELDS
        }
    )


def changed_line_counters(lines: Mapping[int, OrderLine]) -> list[OrderLine]:
    """The lines whose in-memory counters differ from what was read."""
    return [line for line in lines.values() if _counters_changed(line)]


def line_counters_update(changed: list[OrderLine]) -> tuple[str, list[Any]]:
    """PostgreSQL's UPDATE of `changed` lines' counters, and its parameters:
    UPDATE ... FROM (VALUES ...), since the ORM's CASE WHEN per line and column
    costs milliseconds of Python per case at 10 lines."""
    quote = connection.ops.quote_name
    # get_field may return a relation in general; COUNTER_FIELDS are plain columns.
    columns = [quote(OrderLine._meta.get_field(name).column) for name in COUNTER_FIELDS]  # type: ignore[union-attr,arg-type]
    row = "(%s::bigint, %s::integer, %s::numeric, %s::numeric, %s::numeric, %s::numeric)"
    params = [value for line in changed for value in (line.pk, *line_counters(line))]
    sql = (
        f"UPDATE {quote(OrderLine._meta.db_table)} AS line "
        f"SET {', '.join(f'{c} = v.{c}' for c in columns)} "
        f"FROM (VALUES {', '.join([row] * len(changed))}) AS v (id, {', '.join(columns)}) "
        "WHERE line.id = v.id"
    )
    return sql, params


def line_counters(line: OrderLine) -> tuple[Any, ...]:
    return tuple(getattr(line, name) for name in COUNTER_FIELDS)


def _counters_changed(line: OrderLine) -> bool:
    loaded = getattr(line, "_loaded_counters", None)
    return loaded is None or loaded != line_counters(line)
