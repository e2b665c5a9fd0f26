"""Writing demo rows: the tables and columns, primary keys drawn before
insert, and the COPY and ORM writers."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from django.db import connection, models
from django.db.models import Max
from django.utils import timezone

from ..models import (
    CaseEvent,
    Order,
    OrderLine,
    Payment,
    RefundCase,
    RefundLine,
    VendorLiability,
)

# ---------------------------------------------------------------- tables

COLUMNS: dict[type[models.Model], tuple[str, ...]] = {
    Order: tuple(
        "id number channel_id currency customer_name customer_email customer_address placed_at "
        "shipping_amount "
        "net_amount tax_amount total_amount captured_amount refunded_amount refunded_shipping "
        "created_at".split()
    ),
    OrderLine: tuple(
        "id order_id vendor_id sku description quantity unit_price tax_rate commission_rate "
        "net_amount tax_amount commission_amount refunded_quantity refunded_net refunded_tax "
        "commission_base_refunded commission_reversed".split()
    ),
    Payment: tuple("id order_id method amount reference captured_at".split()),
    RefundCase: tuple(
        "id case_id order_id currency status status_before_dispute owner_id opened_by_id "
        "total_refund_amount shipping_refund_amount gateway_reference note initiated_at "
        "approved_at completed_at closed_at updated_at".split()
    ),
    RefundLine: tuple(
        "id case_id kind order_line_id vendor_id reason_id quantity net_amount tax_amount "
        "shipping_amount gross_amount vendor_share platform_share commission_base "
        "commission_reversal".split()
    ),
    VendorLiability: tuple(
        "id case_id vendor_id refund_amount net_amount tax_amount shipping_amount vendor_share "
        "platform_share commission_reversal overridden acknowledged_at".split()
    ),
    CaseEvent: tuple(
        "id case_id kind from_status to_status actor_id vendor_id channel text data "
        "created_at".split()
    ),
}
Row = tuple[Any, ...]
Batch = dict[type[models.Model], list[Row]]

# ---------------------------------------------------------------- ids


class _Ids:
    """Primary keys handed out before insert, so rows can point at each other."""

    def __init__(self, draw: Callable[[type[models.Model], int], list[int]]) -> None:
        self._draw = draw

    def counter(self, model: type[models.Model]) -> Callable[[], int]:
        free: list[int] = []

        def next_id() -> int:
            if not free:
                free.extend(reversed(self._draw(model, 5000)))
            return free.pop()

        return next_id


def _make_ids() -> _Ids:
    if connection.vendor == "postgresql":
        # Drawn from the tables' own sequences: safe beside other writers.
        def draw(model: type[models.Model], count: int) -> list[int]:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [model._meta.db_table, model._meta.pk.column, count],
                )
                return [row[0] for row in cursor.fetchall()]

        return _Ids(draw)

    last: dict[type[models.Model], int] = {}

    def draw_after_max(model: type[models.Model], count: int) -> list[int]:
        if model not in last:
            last[model] = model._base_manager.aggregate(top=Max("pk"))["top"] or 0
        start = last[model] + 1
        last[model] += count
        return list(range(start, start + count))

    return _Ids(draw_after_max)


# ---------------------------------------------------------------- writers


class _Writer(Protocol):
    """Turns rows into something to send (in the building thread), then sends it."""

    def prepare(self, model: type[models.Model], rows: list[Row]) -> Any: ...

    def send(self, model: type[models.Model], payload: Any) -> None: ...


def _make_writer(kind: str, batch_size: int) -> _Writer:
    if kind not in ("auto", "copy", "orm"):
        raise ValueError(f"unknown writer {kind!r}")
    if kind == "copy" and connection.vendor != "postgresql":
        raise ValueError("the COPY writer needs PostgreSQL")
    if kind == "orm" or connection.vendor != "postgresql":
        return _OrmWriter(batch_size)
    return _CopyWriter()


class _OrmWriter:
    def __init__(self, batch_size: int) -> None:
        self.batch_size = min(batch_size, 2000)

    def prepare(self, model: type[models.Model], rows: list[Row]) -> list[models.Model]:
        columns = COLUMNS[model]
        return [model(**dict(zip(columns, row, strict=True))) for row in rows]

    def send(self, model: type[models.Model], payload: list[models.Model]) -> None:
        model._base_manager.bulk_create(payload, batch_size=self.batch_size)


class _CopyWriter:
    def __init__(self) -> None:
        quote = connection.ops.quote_name
        self.statements: dict[type[models.Model], str] = {}
        self.formats: dict[type[models.Model], list[Callable[[Any], str]]] = {}
        # Columns the loader leaves alone get their model default, as with the ORM.
        self.defaults: dict[type[models.Model], Row] = {}
        for model, columns in COLUMNS.items():
            by_attname = {f.attname: f for f in model._meta.concrete_fields}
            others = [f for name, f in by_attname.items() if name not in columns]
            fields = [by_attname[name] for name in columns] + others
            names = ", ".join(quote(f.column) for f in fields)
            self.statements[model] = f"COPY {quote(model._meta.db_table)} ({names}) FROM STDIN"
            self.formats[model] = [_copy_format(f) for f in fields]
            self.defaults[model] = tuple(_default(f) for f in others)

    def prepare(self, model: type[models.Model], rows: list[Row]) -> bytes:
        if not rows:
            return b""
        defaults = self.defaults[model]
        if defaults:
            rows = [row + defaults for row in rows]
        # Column by column, so most values go through C-level map(str, ...).
        columns = [
            map(fmt, values)
            for fmt, values in zip(self.formats[model], zip(*rows, strict=True), strict=True)
        ]
        return ("\n".join(map("\t".join, zip(*columns, strict=True))) + "\n").encode()

    def send(self, model: type[models.Model], payload: bytes) -> None:
        if payload:
            with connection.cursor() as cursor:
                cursor.copy_expert(self.statements[model], io.BytesIO(payload))


def _default(model_field: models.Field) -> Any:
    if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
        return timezone.now()
    return model_field.get_default()


NULL = r"\N"
_needs_escape = re.compile(r"[\\\t\n\r]").search


def _copy_str(value: str) -> str:
    if _needs_escape(value) is None:
        return value
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _copy_format(model_field: models.Field) -> Callable[[Any], str]:
    """How COPY's text format spells this column's values (PostgreSQL reads any
    Decimal's str(), exponent notation included)."""
    if isinstance(model_field, models.JSONField):
        return lambda value: "{}" if value == {} else _copy_str(json.dumps(value))
    if isinstance(model_field, (models.CharField, models.TextField)):
        return _copy_str
    if isinstance(model_field, models.BooleanField):
        return {True: "t", False: "f"}.__getitem__
    plain = datetime.isoformat if isinstance(model_field, models.DateTimeField) else str
    if model_field.null:
        return lambda value: NULL if value is None else plain(value)
    return plain
