"""What the RefundDay summary table keeps, against what the live rows add up to."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db import connection

from refunds.models import RefundDay
from refunds.triggers import EXPECTED


def added_up(rows: Iterable[tuple]) -> dict[tuple, tuple]:
    """(key, amount, refunded, count) rows summed per key; keys summing to nothing left out."""
    totals: dict[tuple, list] = {}
    for key, amount, refunded, count in rows:
        sums = totals.setdefault(key, [Decimal(0), Decimal(0), 0])
        sums[0] += amount
        sums[1] += refunded
        sums[2] += count
    return {k: tuple(v) for k, v in totals.items() if v != [0, 0, 0]}


def kept() -> dict[tuple, tuple]:
    """The table, shards added up, rows that add up to nothing left out."""
    return added_up(
        ((row.kind, row.currency, row.day, row.key), row.amount, row.refunded, row.count)
        for row in RefundDay.objects.all()
    )


def expected() -> dict[tuple, tuple]:
    """The same sums computed from the live rows now."""
    with connection.cursor() as cursor:
        cursor.execute(EXPECTED, None)
        return added_up(
            ((kind, currency, day, key), amount, refunded, count)
            for kind, currency, day, key, _shard, amount, refunded, count in cursor.fetchall()
        )
