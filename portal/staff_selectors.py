"""The staff dashboard's reads: open cases by age, refund trends, refund rates, disputes.

Twelve queries on small data (an aggregate per figure, the names of the
vendors and reasons shown, the folded months), one or two more per round of
the top-SKU proof (`top_skus`). On PostgreSQL the period's figures come from
`refunds.models.RefundDay`, daily sums that triggers keep in step with every
order, case, liability and refund line, so the work grows with the days and
keys in the period (a few thousand rows for 30 days), not with the cases; open
cases and disputes are read live from the status index. The rankings and the
refund rates read the days before today from `refunds.models.RefundMonth` instead,
the same sums added up per month by a periodic fold off the write path
(`refunds.services.refund_months`), for the days before today that are
folded: as of their last fold (every 10 minutes for this month and the last,
nightly for all). Elsewhere (SQLite)
the same figures are aggregated from the live rows. Periods start at midnight
UTC, whole days, as the daily sums do.

Amounts are in one currency at a time (the busiest one of the period unless
another is chosen): the ledger keeps no exchange rates to add them up.
The page (`portal.staff_views`) draws these with `portal.charts`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, connections, router
from django.db.models import (
    Count,
    DateField,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Trunc

from refunds.models import (
    RELEASED_STATUSES,
    CaseEvent,
    CaseStatus,
    Order,
    OrderLine,
    ReasonPolicy,
    RefundCase,
    RefundDay,
    RefundLine,
    RefundMonthFold,
    VendorLiability,
)
from refunds.services.cases import TRANSITIONS
from vendors.models import Vendor

PERIODS = (30, 90, 365)
# Points on the trend chart: a month of days, a quarter of weeks, a year of months.
BUCKETS = {30: "day", 90: "week", 365: "month"}
# Every status a case can still leave.
OPEN_STATUSES = [status for status, targets in TRANSITIONS.items() if targets]
# (label, from days old, up to days old exclusive; None: no upper bound)
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0–2 days", 0, 3),
    ("3–7 days", 3, 8),
    ("8–30 days", 8, 31),
    ("over 30 days", 31, None),
)
DIMENSIONS = {"vendor": "Vendor", "sku": "Product (SKU)", "reason": "Reason"}
TOP = 10
SERIES = 5
DISPUTES_SHOWN = 50
DEFAULT_CURRENCY = "EUR"
RATE_FIELD: DecimalField[Any, Decimal] = DecimalField(max_digits=12, decimal_places=6)
SUM_FIELD: DecimalField[Any, Decimal] = DecimalField(max_digits=24, decimal_places=3)
ZERO = Decimal(0)
# SKUs top_skus reads per month in its first round (four times as many in each
# next), and where it gives up proving and adds up the whole period.
MONTH_DEPTH_FIRST = 4 * TOP
MONTH_DEPTH_LIMIT = 2560


# ---------------------------------------------------------------- the period


@dataclass(frozen=True)
class Span:
    """The dashboard's period, currency and trend dimension."""

    days: int
    now: datetime
    currency: str
    by: str
    # (month, through): months of the span whose days up to `through` are read
    # from RefundMonth rather than their days' rows (`with_folded_months`);
    # none: every day from RefundDay.
    folded: tuple[tuple[date, date], ...] = ()
    folded_at: datetime | None = None  # the oldest fold of those months
    # The span's first month when the span starts after its first day and it is
    # folded: its monthly sums bound the span's part of it (top_skus).
    first_month_folded: bool = False

    @property
    def since(self) -> datetime:
        """Midnight UTC `days` days ago: whole days, as RefundDay sums them."""
        return datetime.combine((self.now - timedelta(days=self.days)).date(), time.min, UTC)

    @property
    def bucket(self) -> str:
        return BUCKETS[self.days]

    def buckets(self) -> list[date]:
        """Every bucket of the span, empty ones included, as Trunc dates them."""
        first = self.since.date()
        last = self.now.date()
        if self.bucket == "day":
            return [first + timedelta(days=n) for n in range((last - first).days + 1)]
        if self.bucket == "week":
            monday = first - timedelta(days=first.weekday())
            return [monday + timedelta(weeks=n) for n in range((last - monday).days // 7 + 1)]
        months, day = [], first.replace(day=1)
        while day <= last:
            months.append(day)
            day = (day + timedelta(days=32)).replace(day=1)
        return months


# ---------------------------------------------------------------- queries


def use_summary() -> bool:
    """RefundDay is kept by PostgreSQL triggers; other databases read live rows."""
    return connection.vendor == "postgresql"


def month_after(month: date) -> date:
    return (month.replace(day=1) + timedelta(days=32)).replace(day=1)


def with_folded_months(span: Span) -> Span:
    """`span` reading its folded days from RefundMonth.

    A month's folded days count if the month starts on or after the span's
    first day: its days from the 1st through the fold's `through` (the month's
    last day, or for the current month a day before today) are read from its
    monthly rows, its later days (today at least) from the daily rows. The
    span's first, partial month stays on the daily rows; when it is folded
    whole, its monthly sums still bound the span's part of it for the top-SKU
    proof (`first_month_folded`).
    """
    if not use_summary():
        return span
    today = span.now.astimezone(UTC).date()
    first = span.since.date()
    folds = {
        month: (through, at)
        for month, through, at in RefundMonthFold.objects.filter(
            month__gte=first.replace(day=1), month__lte=today
        ).values_list("month", "through", "folded_at")
        # A fold made "later" than this span's today (a test's clock) covers nothing past it.
        if through < today
    }
    head = first.replace(day=1)
    partial = first != head and head in folds and folds[head][0] == month_after(head) - timedelta(1)
    whole = sorted((month, through) for month, (through, _) in folds.items() if month >= first)
    return replace(
        span,
        folded=tuple(whole),
        folded_at=min(at for _, at in folds.values()) if folds else None,
        first_month_folded=partial,
    )


def daily_ranges(span: Span) -> list[tuple[date, date | None]]:
    """The span's days not covered by its folded days, as [from, until) ranges."""
    ranges: list[tuple[date, date | None]] = []
    start = span.since.date()
    for month, through in span.folded:
        if month > start:
            ranges.append((start, month))
        start = max(start, through + timedelta(days=1))
    ranges.append((start, None))
    return ranges


def period_sql(kind: str, span: Span, keys: list[str] | None = None) -> tuple[str, dict[str, Any]]:
    """SQL for `kind`'s (key as g, amount, refunded, count) summed over the span
    in its currency: RefundMonth's rows of the folded days, RefundDay's of
    every other day."""
    params: dict[str, Any] = {"kind": kind, "currency": span.currency, "keys": keys}
    where_key = " AND key = ANY(%(keys)s)" if keys is not None else ""
    where_currency = " AND currency = %(currency)s"
    days = []
    for index, (start, until) in enumerate(daily_ranges(span)):
        params[f"from{index}"] = start
        clause = f"day >= %(from{index})s"
        if until is not None:
            params[f"until{index}"] = until
            clause += f" AND day < %(until{index})s"
        days.append(f"({clause})")
    parts = [
        "SELECT key AS g, amount, refunded, count FROM portal_refundday"
        f" WHERE kind = %(kind)s{where_currency}{where_key} AND ({' OR '.join(days)})"
    ]
    if span.folded:
        params["months"] = [month for month, _ in span.folded]
        parts.append(
            "SELECT key AS g, amount, refunded, count FROM refunds_refundmonth"
            f" WHERE kind = %(kind)s{where_currency}{where_key} AND month = ANY(%(months)s)"
        )
    sql = (
        "SELECT g, sum(amount) AS amount, sum(refunded) AS refunded, sum(count)::bigint AS count"
        f" FROM ({' UNION ALL '.join(parts)}) AS rows GROUP BY g"
    )
    return sql, params


def fetch(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    # Raw SQL: on the connection the ORM would read from (lib.replica).
    with connections[router.db_for_read(RefundDay)].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def ranked(dimension: str, span: Span, keys: list[str] | None = None) -> list[dict[str, Any]]:
    """The span's top keys of `dimension` (among `keys` if given), largest first."""
    sql, params = period_sql(dimension, span, keys)
    rows = fetch(
        f"SELECT g, amount, count FROM ({sql}) AS s WHERE count > 0"
        " ORDER BY amount DESC, g LIMIT %(top)s",
        {**params, "top": TOP},
    )
    return [{"key": key, "amount": amount, "count": count} for key, amount, count in rows]


def month_lists(span: Span, depth: int) -> list[list[tuple[str, Decimal]]]:
    """For each month the span touches, its first `depth` + 1 SKUs, largest first:
    a folded month's whole-month sums (for the span's partial first month, at
    least the span's part of it: amounts are never negative), any other month's
    days within the span, added up."""
    params: dict[str, Any] = {"currency": span.currency, "depth": depth + 1}
    parts = []
    first_month = span.since.date().replace(day=1)
    listed_months = [first_month] if span.first_month_folded else []
    listed_months += [month for month, _ in span.folded]
    if listed_months:
        params["months"] = listed_months
        parts.append(
            """
            SELECT m.month, t.key, t.amount
            FROM unnest(%(months)s::date[]) AS m (month)
            CROSS JOIN LATERAL (
                SELECT key, amount FROM refunds_refundmonth
                WHERE kind = 'sku' AND currency = %(currency)s AND month = m.month
                ORDER BY amount DESC, key LIMIT %(depth)s
            ) t
            """
        )
    for index, (start, until) in enumerate(daily_ranges(span)):
        month = start.replace(day=1)
        if span.first_month_folded and month == first_month:
            month = month_after(month)  # listed from its monthly sums above
        while until is None or month < until:
            params[f"m{index}_{month:%Y%m}_from"] = max(start, month)
            params[f"m{index}_{month:%Y%m}_until"] = month_after(month)
            parts.append(
                f"""
                (SELECT %(m{index}_{month:%Y%m}_from)s::date, key, sum(amount) AS amount
                FROM portal_refundday
                WHERE kind = 'sku' AND currency = %(currency)s
                  AND day >= %(m{index}_{month:%Y%m}_from)s AND day < %(m{index}_{month:%Y%m}_until)s
                GROUP BY key ORDER BY amount DESC, key LIMIT %(depth)s)
                """
            )
            month = month_after(month)
            if until is None and month > span.now.astimezone(UTC).date():
                break
    months: dict[date, list[tuple[str, Decimal]]] = {}
    for month, key, amount in fetch(" UNION ALL ".join(parts), params):
        months.setdefault(month, []).append((key, amount))
    for listed in months.values():
        listed.sort(key=lambda row: (-row[1], row[0]))
    return list(months.values())


def top_skus(span: Span) -> list[dict[str, Any]]:
    """`ranked("sku", span)`, proved from each month's largest SKUs instead of
    adding up every (day, SKU) row of the period (a year: ~400,000 rows on a
    million cases).

    Fagin's threshold algorithm over the months the span touches (`month_lists`):
    after the first `depth` SKUs of every month, a SKU seen in none of them has
    at most, in each month, what that month's next SKU has, so at most `bound`,
    the sum of those, over the span (gross amounts are positive and released
    cases are subtracted whole, so no sum is negative). The SKUs seen are ranked
    exactly (`ranked` among them); when the tenth has strictly more than
    `bound`, no unseen SKU can enter the top or tie with it, else the lists are
    read deeper. Same rows, same order as `ranked("sku", span)`. Without folded
    months it is that.
    """
    if not (span.folded or span.first_month_folded):
        return ranked("sku", span)
    depth = MONTH_DEPTH_FIRST
    while depth <= MONTH_DEPTH_LIMIT:
        months = month_lists(span, depth)
        seen = sorted({key for listed in months for key, _ in listed[:depth]})
        bound = sum((listed[depth][1] for listed in months if len(listed) > depth), ZERO)
        rows = ranked("sku", span, seen)
        exhausted = all(len(listed) <= depth for listed in months)
        if exhausted or (len(rows) == TOP and rows[-1]["amount"] > bound):
            return rows
        depth *= 4
    return ranked("sku", span)


def summary_key(dimension: str, key: str) -> Any:
    """RefundDay's text key as the live query's: an id, or a SKU (None for shipping)."""
    if dimension == "sku":
        return key or None
    return int(key)


def refunded_cases(span: Span) -> QuerySet[RefundCase]:
    """Cases opened in the period that still count: not rejected or cancelled."""
    return RefundCase.objects.filter(in_span("", span))


def in_span(prefix: str, span: Span) -> Q:
    return Q(**{f"{prefix}initiated_at__gte": span.since, f"{prefix}currency": span.currency}) & ~Q(
        **{f"{prefix}status__in": RELEASED_STATUSES}
    )


def currencies(since: datetime) -> list[str]:
    """The currencies of the orders placed since `since`, busiest first."""
    if use_summary():
        summary = (
            RefundDay.objects.filter(kind="orders", day__gte=since.date())
            .values("currency")
            .annotate(orders=Sum("count"))
            .filter(orders__gt=0)
            .order_by("-orders", "currency")
        )
        return [row["currency"] for row in summary]
    rows = (
        Order.objects.filter(placed_at__gte=since)
        .values("currency")
        .annotate(orders=Count("id"))
        .order_by("-orders", "currency")
    )
    return [row["currency"] for row in rows]


@dataclass(frozen=True)
class AgeRow:
    status: str
    label: str
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


def open_cases_by_age(now: datetime) -> list[AgeRow]:
    """Open cases (every currency) per status and age since opening."""
    ages: dict[str, Count] = {}
    for index, (_, low, high) in enumerate(AGE_BUCKETS):
        condition = Q(initiated_at__lte=now - timedelta(days=low))
        if high is not None:
            condition &= Q(initiated_at__gt=now - timedelta(days=high))
        # A column of the (status, initiated_at) index: an index-only count.
        ages[f"age_{index}"] = Count("initiated_at", filter=condition)
    rows = {
        row["status"]: row
        for row in RefundCase.objects.filter(status__in=OPEN_STATUSES)
        .values("status")
        .annotate(**ages)
        .order_by()
    }
    return [
        AgeRow(
            status,
            CaseStatus(status).label,
            [rows.get(status, {}).get(f"age_{i}", 0) for i in range(len(AGE_BUCKETS))],
        )
        for status in OPEN_STATUSES
    ]


def trend_total(span: Span) -> dict[date, tuple[Decimal, int]]:
    if use_summary():
        # Bucketed in SQL: a year is 365 days' rows but 13 months' (rows
        # through the ORM cost more in Python than the sum does in PostgreSQL).
        summed = fetch(
            "SELECT date_trunc(%(bucket)s, day)::date, sum(amount), sum(cases)::bigint"
            " FROM (SELECT day, sum(amount) AS amount, sum(count) AS cases FROM portal_refundday"
            " WHERE kind = 'case' AND currency = %(currency)s AND day >= %(since)s"
            # A day whose cases were all released: no point of its own.
            " GROUP BY day HAVING sum(count) <> 0) AS days GROUP BY 1",
            {"bucket": span.bucket, "currency": span.currency, "since": span.since.date()},
        )
        return {bucket: (amount, cases) for bucket, amount, cases in summed}
    rows = (
        refunded_cases(span)
        .annotate(bucket=Trunc("initiated_at", span.bucket, output_field=DateField()))
        .values("bucket")
        .annotate(amount=Sum("total_refund_amount"), cases=Count("id"))
        .order_by()
    )
    return {row["bucket"]: (row["amount"], row["cases"]) for row in rows}


@dataclass(frozen=True)
class Dimension:
    """How refunds split by one dimension.

    Rows are grouped by a narrow key (an id where there is one) and named
    afterwards, for the ten rows shown: grouping a year of lines by names, or
    counting distinct cases, would sort them all.
    """

    rows: Callable[[Span], QuerySet]
    key: str
    amount: str
    counted: str  # what a row is: a vendor's part of a case, or a refund line
    names: Callable[[list[Any]], dict[Any, str]]


def vendor_names(ids: list[Any]) -> dict[Any, str]:
    return {
        pk: f"{code} · {name}"
        for pk, code, name in Vendor.objects.filter(pk__in=ids).values_list("pk", "code", "name")
    }


def reason_names(ids: list[Any]) -> dict[Any, str]:
    return dict(ReasonPolicy.objects.filter(pk__in=ids).values_list("pk", "label"))


def sku_names(skus: list[Any]) -> dict[Any, str]:
    return {sku: sku or "(shipping)" for sku in skus}


def line_dimension(key: str, names: Callable[[list[Any]], dict[Any, str]]) -> Dimension:
    """Refund lines (gross amounts) grouped by `key`."""
    return Dimension(
        rows=lambda span: RefundLine.objects.filter(in_span("case__", span)),
        key=key,
        amount="gross_amount",
        counted="lines",
        names=names,
    )


DIMENSION_QUERIES: dict[str, Dimension] = {
    # A vendor's part of each case: its lines and its share of shipping.
    "vendor": Dimension(
        rows=lambda span: VendorLiability.objects.filter(in_span("case__", span)),
        key="vendor_id",
        amount="refund_amount",
        counted="cases",
        names=vendor_names,
    ),
    "sku": line_dimension("order_line__sku", sku_names),
    "reason": line_dimension("reason_id", reason_names),
}


@dataclass(frozen=True)
class RankRow:
    key: Any
    label: str
    amount: Decimal
    count: int


def top_by(dimension: str, span: Span) -> list[RankRow]:
    spec = DIMENSION_QUERIES[dimension]
    if use_summary():
        rows = [
            {spec.key: summary_key(dimension, row["key"]), **row}
            for row in (top_skus(span) if dimension == "sku" else ranked(dimension, span))
        ]
    else:
        rows = list(
            spec.rows(span)
            .values(spec.key)
            .annotate(amount=Sum(spec.amount), count=Count("id"))
            .order_by("-amount", spec.key)[:TOP]
        )
    names = spec.names([row[spec.key] for row in rows]) if rows else {}
    return [
        RankRow(
            row[spec.key], names.get(row[spec.key], str(row[spec.key])), row["amount"], row["count"]
        )
        for row in rows
    ]


def series_by(dimension: str, keys: list[Any], span: Span) -> dict[Any, dict[date, Decimal]]:
    spec = DIMENSION_QUERIES[dimension]
    if not keys:
        return {}
    if use_summary():
        by_text = {"" if key is None else str(key): key for key in keys}
        series: dict[Any, dict[date, Decimal]] = {key: {} for key in keys}
        # Bucketed in SQL, as trend_total: a year of five SKUs is ~2,000 daily rows, 65 monthly.
        rows = fetch(
            "SELECT date_trunc(%(bucket)s, day)::date, key, sum(amount)"
            " FROM (SELECT day, key, sum(amount) AS amount FROM portal_refundday"
            " WHERE kind = %(kind)s AND currency = %(currency)s AND day >= %(since)s"
            " AND key = ANY(%(keys)s)"
            # A (day, key) whose cases were all released: no point of its own.
            " GROUP BY day, key HAVING sum(count) > 0) AS days GROUP BY 1, 2",
            {
                "bucket": span.bucket,
                "kind": dimension,
                "currency": span.currency,
                "since": span.since.date(),
                "keys": list(by_text),
            },
        )
        for bucket, key, amount in rows:
            series[by_text[key]][bucket] = amount
        return series
    wanted = Q(**{f"{spec.key}__in": [k for k in keys if k is not None]})
    if None in keys:
        wanted |= Q(**{f"{spec.key}__isnull": True})
    rows = (
        spec.rows(span)
        .filter(wanted)
        .annotate(bucket=Trunc("case__initiated_at", span.bucket, output_field=DateField()))
        .values("bucket", spec.key)
        .annotate(amount=Sum(spec.amount))
        .order_by()
    )
    series = {key: {} for key in keys}
    for row in rows:
        series[row[spec.key]][row["bucket"]] = row["amount"]
    return series


@dataclass(frozen=True)
class RateRow:
    code: str
    name: str
    sold: Decimal
    refunded: Decimal
    rate: Decimal

    @property
    def percent(self) -> Decimal:
        return (self.rate * 100).quantize(Decimal("0.1"))


def refund_rates(span: Span) -> list[RateRow]:
    """Of what each vendor sold in the period (orders placed), the share refunded
    so far (cases not rejected or cancelled): gross, excluding shipping."""
    if use_summary():
        # Summed per vendor first, named after: a name looked up in the grouped
        # query would be looked up once per summed row.
        # Raw SQL: on the connection the ORM would read from (lib.replica).
        sql, params = period_sql("sold", span)
        summary = fetch(
            "SELECT v.code, v.name, s.amount, s.refunded"
            f" FROM ({sql}) AS s JOIN vendors_vendor v ON v.id = s.g::bigint"
            " WHERE s.amount > 0",
            params,
        )
        ranked = sorted(
            (
                RateRow(code, name, sold, refunded, (refunded / sold).quantize(Decimal("0.000001")))
                for code, name, sold, refunded in summary
            ),
            key=lambda row: (-row.rate, -row.refunded, row.code),
        )
        return ranked[:TOP]
    rows = (
        OrderLine.objects.filter(order__placed_at__gte=span.since, order__currency=span.currency)
        .values("vendor__code", "vendor__name")
        .annotate(
            sold=Sum(F("net_amount") + F("tax_amount"), output_field=SUM_FIELD),
            refunded=Sum(F("refunded_net") + F("refunded_tax"), output_field=SUM_FIELD),
        )
        .filter(sold__gt=0)
        .annotate(
            rate=ExpressionWrapper(
                F("refunded") * Value(Decimal("1.000000")) / F("sold"), output_field=RATE_FIELD
            )
        )
        .order_by("-rate", "-refunded", "vendor__code")[:TOP]
    )
    return [
        RateRow(r["vendor__code"], r["vendor__name"], r["sold"], r["refunded"], r["rate"])
        for r in rows
    ]


def disputes_waiting() -> list[RefundCase]:
    """The oldest disputed cases, with when and by whom they were disputed.

    Oldest by opening, which the status index hands over in order: the
    dispute's own time is looked up for the rows shown only.
    """
    disputed = CaseEvent.objects.filter(
        case=OuterRef("pk"), to_status=CaseStatus.DISPUTED
    ).order_by("-created_at", "-id")
    return list(
        RefundCase.objects.filter(status=CaseStatus.DISPUTED)
        .annotate(
            disputed_at=Subquery(disputed.values("created_at")[:1]),
            disputed_by=Coalesce(Subquery(disputed.values("vendor__code")[:1]), Value("")),
        )
        .select_related("order")
        # What the page shows: a case row is ~20 columns and its order's as many more.
        .only("case_id", "currency", "total_refund_amount", "initiated_at", "order__number")
        .order_by("initiated_at", "id")[:DISPUTES_SHOWN]
    )


# ---------------------------------------------------------------- the page's figures


@dataclass(frozen=True)
class Figures:
    """Everything the dashboard shows for one span, as numbers (no geometry)."""

    ages: list[AgeRow]
    age_totals: list[int]  # per age bucket, every open status
    disputed_total: int
    buckets: list[date]
    # ("All refunds", amount per bucket), then the top keys of `span.by`, each a line.
    lines: list[tuple[str, list[Decimal]]]
    refund_total: Decimal
    refund_cases: int
    tops: dict[str, list[RankRow]]
    rates: list[RateRow]
    disputes: list[RefundCase]
    # The days before today were read as summed at this time (None: every day live).
    folded_at: datetime | None = None


def dashboard_figures(span: Span) -> Figures:
    span = with_folded_months(span)
    ages = open_cases_by_age(span.now)
    totals = trend_total(span)
    tops = {dimension: top_by(dimension, span) for dimension in DIMENSIONS}
    keys = [row.key for row in tops[span.by][:SERIES]]
    series = series_by(span.by, keys, span)

    buckets = span.buckets()
    zero = Decimal(0)
    lines: list[tuple[str, list[Decimal]]] = [
        ("All refunds", [totals.get(day, (zero, 0))[0] for day in buckets])
    ]
    labels = {row.key: row.label for row in tops[span.by]}
    for key in keys:
        lines.append((labels[key], [series.get(key, {}).get(day, zero) for day in buckets]))
    return Figures(
        ages=ages,
        age_totals=[sum(row.counts[i] for row in ages) for i in range(len(AGE_BUCKETS))],
        disputed_total=next((row.total for row in ages if row.status == CaseStatus.DISPUTED), 0),
        buckets=buckets,
        lines=lines,
        refund_total=sum((amount for amount, _ in totals.values()), zero),
        refund_cases=sum(cases for _, cases in totals.values()),
        tops=tops,
        rates=refund_rates(span),
        disputes=disputes_waiting(),
        folded_at=span.folded_at,
    )
