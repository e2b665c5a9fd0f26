"""The staff dashboard page: parse the period, read the figures, draw the charts.

The reads are in `portal.staff_selectors`, the charts (geometry and their
inline SVG) in `portal.charts`; this module only chooses among the offered
options and puts the two together for `staff/dashboard.html`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from lib.replica import reads_from_replica

from .charts import bar_chart, line_chart, money
from .staff_selectors import (
    AGE_BUCKETS,
    DEFAULT_CURRENCY,
    DIMENSION_QUERIES,
    DIMENSIONS,
    PERIODS,
    Span,
    currencies,
    dashboard_figures,
)


def staff_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Staff who may see refund cases; others log in (302) or are refused (403)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not (user.is_active and user.is_staff and user.has_perm("refunds.view_refundcase")):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def choose(value: str | None, allowed: Sequence[Any], default: Any) -> Any:
    """The offered option `value` names, else the default: no input is an error here."""
    for option in allowed:
        if str(option) == value:
            return option
    return default


def days_since(moment: datetime | None, now: datetime) -> int | None:
    return None if moment is None else (now - moment).days


def admin_chrome(request: HttpRequest) -> dict[str, Any]:
    """`admin.site.each_context` for the admin's header, without listing the apps.

    `available_apps` (every registered model, its permissions and two URLs
    each: ~3 ms, a tenth of the page's Python) feeds the nav sidebar alone,
    which is off (config/urls.py); with the sidebar on, this is each_context.
    """
    site = admin.site
    if site.enable_nav_sidebar:
        return site.each_context(request)
    script_name = request.META["SCRIPT_NAME"]
    return {
        "site_title": site.site_title,
        "site_header": site.site_header,
        "site_url": script_name if site.site_url == "/" and script_name else site.site_url,
        "has_permission": site.has_permission(request),
        "available_apps": [],
        "is_popup": False,
        "is_nav_sidebar_enabled": False,
        "log_entries": site.get_log_entries(request),
    }


@require_safe
@staff_only
@reads_from_replica
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    days = choose(request.GET.get("days"), PERIODS, PERIODS[0])
    options = currencies(now - timedelta(days=days))
    currency = choose(
        request.GET.get("currency"), options, options[0] if options else DEFAULT_CURRENCY
    )
    by = choose(request.GET.get("by"), list(DIMENSIONS), "vendor")
    span = Span(days, now, currency, by)
    figures = dashboard_figures(span)

    context = {
        **admin_chrome(request),
        "title": "Staff dashboard",
        "span": span,
        "periods": PERIODS,
        "currencies": options or [currency],
        "dimensions": DIMENSIONS,
        "age_labels": [bucket[0] for bucket in AGE_BUCKETS],
        "ages": figures.ages,
        "age_totals": figures.age_totals,
        "open_total": sum(figures.age_totals),
        "age_chart": bar_chart(
            "Open cases by age",
            [
                (name, count, str(count))
                for (name, *_), count in zip(AGE_BUCKETS, figures.age_totals, strict=True)
            ],
        ),
        "refund_total": figures.refund_total,
        "refund_cases": figures.refund_cases,
        "trend_chart": line_chart(
            f"Refunds by {span.bucket}, top {DIMENSIONS[by].lower()}s",
            figures.buckets,
            figures.lines,
            currency,
            span.bucket,
        ),
        "tops": [
            (
                dimension,
                DIMENSIONS[dimension],
                DIMENSION_QUERIES[dimension].counted,
                figures.tops[dimension],
                bar_chart(
                    f"Refunds by {DIMENSIONS[dimension].lower()}",
                    [
                        (row.label, row.amount, money(row.amount, currency))
                        for row in figures.tops[dimension]
                    ],
                ),
            )
            for dimension in DIMENSIONS
        ],
        "rates": figures.rates,
        "rate_chart": bar_chart(
            "Refund rate",
            [(f"{row.code} · {row.name}", row.rate, f"{row.percent}%") for row in figures.rates],
        ),
        "disputes": [
            (case, days_since(case.disputed_at, now), days_since(case.initiated_at, now))
            for case in figures.disputes
        ],
        "disputed_total": figures.disputed_total,
        "folded_at": figures.folded_at,
    }
    return render(request, "staff/dashboard.html", context)
