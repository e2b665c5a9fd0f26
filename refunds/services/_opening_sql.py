"""The reads and writes of a case's opening, as hand-built statements.

`open_case` (refunds.services.opening) validates and prices in plain Python
over rows read here (the order, locked; its lines with their vendors' codes;
the reason policies) and writes through here: one statement per table,
multi-row where there are several rows. The case's INSERT goes alone (its id
and whether its case ID was free decide what follows); everything after it
goes in one round trip, statement after statement (`write_rest`), the last one
returning the ids the caller's instances need. Building these by hand rather
than through the ORM's compiler saves most of a case's client time
(bench/cases), and the one round trip saves four waits for the database
(docs/bench_api.md).

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
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model

from vendors.models import Vendor

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
# Followed by as many rows as there are.
INSERT_LINES = _insert(RefundLine, LINE_COLUMNS, "")
INSERT_LIABILITIES = _insert(VendorLiability, LIABILITY_COLUMNS, "")
_LINE_ROW = _values(len(LINE_COLUMNS))
_LIABILITY_ROW = _values(len(LIABILITY_COLUMNS))
# The opening event and its outbox messages (one per consumer of the topic),
# in one statement: the messages need the event's id. It ends the batch of
# `write_rest`, so it also returns the ids of the lines and liabilities the
# batch's earlier statements inserted (a batch answers with its last result).
_event_insert = _insert(CaseEvent, EVENT_COLUMNS, _values(len(EVENT_COLUMNS), {9: "::jsonb"}))
_outbox_table = connection.ops.quote_name(OutboxMessage._meta.db_table)
_outbox_names = ", ".join(
    connection.ops.quote_name(c) for c in _checked(OutboxMessage, OUTBOX_COLUMNS)
)
_lines_table = connection.ops.quote_name(RefundLine._meta.db_table)
_liabilities_table = connection.ops.quote_name(VendorLiability._meta.db_table)
INSERT_EVENT_AND_MESSAGES = (
    f"WITH event AS ({_event_insert} RETURNING id, created_at), "
    f"messages AS (INSERT INTO {_outbox_table} ({_outbox_names}) "
    "SELECT consumer, %s, NULL, %s, event.id, event.created_at, %s, %s, %s, 0, '', NULL "
    "FROM event, unnest(%s::varchar[]) AS consumer) "
    "SELECT event.id, "
    f"ARRAY(SELECT id FROM {_lines_table} WHERE case_id = %s ORDER BY id), "
    f"ARRAY(SELECT id FROM {_liabilities_table} WHERE case_id = %s ORDER BY id) "
    "FROM event"
)


_order = connection.ops.quote_name(Order._meta.db_table)
UPDATE_ORDER = (
    f"UPDATE {_order} SET refunded_amount = refunded_amount + %s, "
    "refunded_shipping = refunded_shipping + %s WHERE id = %s"
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


def write_rest(
    case: RefundCase,
    lines: Sequence[RefundLine],
    liabilities: Sequence[VendorLiability],
    counters: tuple[str, list[Any]] | None,
    event: CaseEvent,
    *,
    topic: str,
    consumers: Sequence[str],
    sequence: int | None,
    now: datetime,
) -> None:
    """Everything of the opening after its case, sent in one round trip: the
    refund lines' INSERT, the liabilities', the order lines' counters
    (`counters`, refunds.services._shared.line_counters_update), the order's
    amounts, then the event with its outbox messages, as separate statements
    in that order (each fires its own statement-level triggers as before; the
    first failure stops the batch and fails the transaction, as it would have
    one statement at a time). Sets the ids of the lines, liabilities and event.
    """
    statements: list[str] = []
    params: list[Any] = []
    if lines:
        statements.append(INSERT_LINES + ", ".join([_LINE_ROW] * len(lines)))
        params += [value for line in lines for value in _row_params(line)]
    if liabilities:
        statements.append(INSERT_LIABILITIES + ", ".join([_LIABILITY_ROW] * len(liabilities)))
        params += [value for row in liabilities for value in _row_params(row)]
    if counters is not None:
        statements.append(counters[0])
        params += counters[1]
    statements.append(UPDATE_ORDER)
    params += [case.total_refund_amount, case.shipping_refund_amount, case.order_id]
    statements.append(INSERT_EVENT_AND_MESSAGES)
    params += [
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
        case.pk,
        case.pk,
    ]
    with connection.cursor() as cursor:
        cursor.execute("; ".join(statements), params)
        event_id, line_ids, liability_ids = cursor.fetchone()
    event.pk = event_id
    _saved(event)
    # A multi-row INSERT draws its ids in the order of its VALUES.
    for instance, pk in [
        *zip(lines, line_ids, strict=True),
        *zip(liabilities, liability_ids, strict=True),
    ]:
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


@dataclass(frozen=True)
class Priced:
    """What pricing a request reads: the order lines asked for (by id), their
    vendors' codes in the database's order of codes (its collation, as a case
    read sorts them: what the 201 of an opening shows, read here rather than
    after the commit), and the active reason policies of the request's codes."""

    lines: list[OrderLine]
    vendor_codes: dict[int, str] | None  # None where not read (the ORM's path)
    policies: list[ReasonPolicy]


@cache
def _lines_and_policies() -> tuple[str, str, list[str], list[str]]:
    """The two halves of `lines_and_policies`' statement, and the attnames
    of the lines' and the policies' columns."""
    quote = connection.ops.quote_name
    line_fields = OrderLine._meta.concrete_fields
    policy_fields = ReasonPolicy._meta.concrete_fields
    # Each half pads the other's columns with NULLs (typed by the other half).
    lines = (
        f"(SELECT 'line', {', '.join(f'line.{quote(f.column)}' for f in line_fields)}, "
        "vendor.code, dense_rank() OVER (ORDER BY vendor.code), "
        f"{', '.join(['NULL'] * len(policy_fields))} "
        f"FROM {quote(OrderLine._meta.db_table)} line "
        f"JOIN {quote(Vendor._meta.db_table)} vendor ON vendor.id = line.vendor_id WHERE "
    )
    policies = (
        f") UNION ALL (SELECT 'policy', {', '.join(['NULL'] * (len(line_fields) + 2))}, "
        f"{', '.join(f'policy.{quote(f.column)}' for f in policy_fields)} "
        f"FROM {quote(ReasonPolicy._meta.db_table)} policy "
        "WHERE policy.code = ANY(%s) AND policy.is_active)"
    )
    return lines, policies, [f.attname for f in line_fields], [f.attname for f in policy_fields]


def lines_and_policies(where: str, params: list[Any], codes: list[str]) -> Priced:
    """The order lines matching `where` (columns of `line`) with their vendors'
    codes, and the active policies of `codes`, in one statement (`usable`
    for both models)."""
    lines_sql, policies_sql, line_names, policy_names = _lines_and_policies()
    with connection.cursor() as cursor:
        cursor.execute(lines_sql + where + policies_sql, [*params, codes])
        found = cursor.fetchall()
    lines: list[OrderLine] = []
    ranked: dict[int, tuple[int, str]] = {}
    found_policies: list[ReasonPolicy] = []
    end = 1 + len(line_names)
    for row in found:
        if row[0] == "line":
            line = OrderLine.from_db(connection.alias, line_names, row[1:end])
            lines.append(line)
            ranked[line.vendor_id] = (row[end + 1], row[end])
        else:
            found_policies.append(
                ReasonPolicy.from_db(connection.alias, policy_names, row[end + 2 :])
            )
    lines.sort(key=lambda line: line.pk)
    by_rank = sorted(ranked.items(), key=lambda item: item[1][0])
    return Priced(lines, {vendor_id: code for vendor_id, (_, code) in by_rank}, found_policies)
