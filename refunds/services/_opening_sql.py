"""The writes of a case's opening, as hand-built statements.

`open_case` (refunds.services.opening) validates and prices with the ORM's
reads and plain Python; what it writes goes through here: one statement per
table, multi-row where there are several rows, each with RETURNING for the
ids the caller's instances need. Building these by hand rather than through
the ORM's INSERT compiler saves most of a case's client time (bench/cases).

The rows are exactly what the ORM would write: the case, its lines and its
liabilities are written in every column of their model but the id, each from
the instance's attribute (the ORM's own field list, so a new column is
written too); the event and outbox column lists are spelled out (the event's
data is cast, the messages are partly constants) and checked against the
models at import (a new column fails loudly here, not silently in the
database); the statements are the same per table and in the same
order (case, lines, liabilities, then the caller's order lines and order),
so the staff dashboard's statement-level triggers (refunds.triggers) see the
same changes in the same order, and PostgreSQL checks every constraint as
before. PostgreSQL only: `open_case` uses the ORM elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model

from ..models import (
    CaseEvent,
    Order,
    OrderLine,
    OutboxMessage,
    ReasonPolicy,
    RefundCase,
    RefundLine,
    VendorLiability,
)


def _own_columns(model: type[Model]) -> tuple[str, ...]:
    """Every column of `model` but its id, in field order: what the ORM's
    INSERT writes, each from the instance's attribute of the same field."""
    return tuple(f.column for f in _own_fields(model))


@cache
def _own_fields(model: type[Model]) -> tuple[Field, ...]:
    return tuple(f for f in model._meta.concrete_fields if not f.primary_key)


CASE_COLUMNS = _own_columns(RefundCase)
LINE_COLUMNS = _own_columns(RefundLine)
LIABILITY_COLUMNS = _own_columns(VendorLiability)
EVENT_COLUMNS = (
    "case_id",
    "kind",
    "from_status",
    "to_status",
    "actor_id",
    "vendor_id",
    "internal",
    "channel",
    "text",
    "data",
    "created_at",
)
OUTBOX_COLUMNS = (
    "consumer",
    "topic",
    "order_id",
    "case_id",
    "event_id",
    "event_created_at",
    "sequence",
    "created_at",
    "available_at",
    "attempts",
    "last_error",
    "failed_at",
)


def _checked(model: type[Model], columns: tuple[str, ...]) -> tuple[str, ...]:
    """`columns`, once they are every column of `model` but its id."""
    actual = {f.column for f in model._meta.concrete_fields if not f.primary_key}
    if actual != set(columns):
        raise RuntimeError(
            f"refunds.services._opening_sql writes {sorted(columns)} to "
            f"{model._meta.db_table}, which has {sorted(actual)}: update the statement"
        )
    return columns


def _insert(model: type[Model], columns: tuple[str, ...], rows: str) -> str:
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in _checked(model, columns))
    return f"INSERT INTO {table} ({names}) VALUES {rows}"


def _values(width: int, casts: dict[int, str] | None = None) -> str:
    casts = casts or {}
    return "(" + ", ".join(f"%s{casts.get(i, '')}" for i in range(width)) + ")"


# ON CONFLICT on the case ID: a collision (about one in a billion) inserts
# nothing and the caller draws another ID, in the same transaction.
INSERT_CASE = (
    _insert(RefundCase, CASE_COLUMNS, _values(len(CASE_COLUMNS)))
    + " ON CONFLICT (case_id) DO NOTHING RETURNING id"
)
_LINE_ROW = _values(len(LINE_COLUMNS))
_LIABILITY_ROW = _values(len(LIABILITY_COLUMNS))
# The opening event and its outbox messages (one per consumer of the topic),
# in one statement: the messages need the event's id.
_event_insert = _insert(CaseEvent, EVENT_COLUMNS, _values(len(EVENT_COLUMNS), {9: "::jsonb"}))
_outbox_table = connection.ops.quote_name(OutboxMessage._meta.db_table)
_outbox_names = ", ".join(
    connection.ops.quote_name(c) for c in _checked(OutboxMessage, OUTBOX_COLUMNS)
)
INSERT_EVENT_AND_MESSAGES = (
    f"WITH event AS ({_event_insert} RETURNING id, created_at), "
    f"messages AS (INSERT INTO {_outbox_table} ({_outbox_names}) "
    "SELECT consumer, %s, NULL, %s, event.id, event.created_at, %s, %s, %s, 0, '', NULL "
    "FROM event, unnest(%s::varchar[]) AS consumer) "
    "SELECT id FROM event"
)


_order = connection.ops.quote_name(Order._meta.db_table)
UPDATE_ORDER = (
    f"UPDATE {_order} SET refunded_amount = refunded_amount + %s, "
    "refunded_shipping = refunded_shipping + %s WHERE id = %s"
)


def add_to_order(case: RefundCase) -> None:
    """Reserve the case's amounts on its (locked) order."""
    with connection.cursor() as cursor:
        cursor.execute(
            UPDATE_ORDER, [case.total_refund_amount, case.shipping_refund_amount, case.order_id]
        )


def insert_case(case: RefundCase) -> bool:
    """INSERT the case; sets its id and returns True, or False when its case
    ID is taken (nothing written)."""
    params = _row_params(case)
    with connection.cursor() as cursor:
        cursor.execute(INSERT_CASE, params)
        row = cursor.fetchone()
    if row is None:
        return False
    case.pk = row[0]
    _saved(case)
    return True


def insert_lines(lines: Sequence[RefundLine]) -> None:
    """One multi-row INSERT of the case's refund lines; sets their ids."""
    params = [value for line in lines for value in _row_params(line)]
    _insert_rows(RefundLine, LINE_COLUMNS, _LINE_ROW, lines, params)


def insert_liabilities(liabilities: Sequence[VendorLiability]) -> None:
    """One multi-row INSERT of the case's liabilities; sets their ids."""
    params = [value for row in liabilities for value in _row_params(row)]
    _insert_rows(VendorLiability, LIABILITY_COLUMNS, _LIABILITY_ROW, liabilities, params)


def insert_event_and_messages(
    event: CaseEvent,
    *,
    topic: str,
    consumers: Sequence[str],
    sequence: int | None,
    now: datetime,
) -> None:
    """INSERT the event and, in the same statement, an outbox message about it
    for each of `consumers` (numbered `sequence`); sets the event's id."""
    params: list[Any] = [
        event.case_id,
        event.kind,
        event.from_status,
        event.to_status,
        event.actor_id,
        event.vendor_id,
        event.internal,
        event.channel,
        event.text,
        json.dumps(event.data),
        event.created_at,
        topic,
        event.case_id,
        sequence,
        now,
        now,
        list(consumers),
    ]
    with connection.cursor() as cursor:
        cursor.execute(INSERT_EVENT_AND_MESSAGES, params)
        (event.pk,) = cursor.fetchone()
    _saved(event)


def _insert_rows(
    model: type[Model],
    columns: tuple[str, ...],
    row: str,
    instances: Sequence[Model],
    params: list,
) -> None:
    if not instances:
        return
    sql = _insert(model, columns, ", ".join([row] * len(instances))) + " RETURNING id"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        # PostgreSQL returns a multi-row VALUES' rows in their order.
        for instance, (pk,) in zip(instances, cursor.fetchall(), strict=True):
            instance.pk = pk
            _saved(instance)


def _row_params(instance: Model) -> list[Any]:
    """The instance's values for `_own_columns` of its model, as the ORM's
    INSERT would send them for these fields (no conversion needed)."""
    return [getattr(instance, f.attname) for f in _own_fields(type(instance))]


def _saved(instance: Model) -> None:
    instance._state.adding = False
    instance._state.db = connection.alias


# ---------------------------------------------------------------- the reads


class _Reader:
    """SELECT every column of a model's rows by hand, as model instances
    (Model.from_db, as the ORM makes them): the ORM's compiler cost more than
    these three reads themselves. Only for models whose columns need no
    conversion from what the driver returns (checked once: `usable`)."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self._select: str | None = None
        self._names: list[str] = []
        self._usable: bool | None = None

    @property
    def usable(self) -> bool:
        if self._usable is None:
            meta = self.model._meta
            converters = []
            for field in meta.concrete_fields:
                column = field.get_col(meta.db_table)
                converters += connection.ops.get_db_converters(column)
                converters += column.get_db_converters(connection)
            self._usable = connection.vendor == "postgresql" and not converters
        return self._usable

    def rows(self, where: str, params: list[Any], suffix: str = "") -> list[Model]:
        if self._select is None:
            quote = connection.ops.quote_name
            fields = self.model._meta.concrete_fields
            self._names = [f.attname for f in fields]
            self._select = (
                f"SELECT {', '.join(quote(f.column) for f in fields)} "
                f"FROM {quote(self.model._meta.db_table)} WHERE "
            )
        with connection.cursor() as cursor:
            cursor.execute(self._select + where + suffix, params)
            found = cursor.fetchall()
        return [self.model.from_db(connection.alias, self._names, row) for row in found]


orders = _Reader(Order)
order_lines = _Reader(OrderLine)
policies = _Reader(ReasonPolicy)
