"""Admin building blocks every app's admin uses.

Read-only bases for posted facts and rows that come from integrations, a
paginator for tables that grow without bound, money and time columns as finance
reads them, and the bridge that shows a service's refusal on the form field it
names. Business rules stay in the services: these only collect and show.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import SafeString

from lib.errors import DomainError
from lib.money import display_money

# ---------------------------------------------------------------- cells


def money_cell(amount: Decimal | None, currency: str) -> SafeString:
    """An amount as a cell shows it: "10,592.89 EUR" on one line, right-aligned
    (the `money` class, see templates/admin/base_site.html)."""
    return format_html('<span class="money">{}</span>', display_money(amount, currency))


def when(moment: datetime | None) -> str:
    """A timestamp as finance reads it, in the site's time zone: 2025-03-16 08:42."""
    return "-" if moment is None else f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def own_currency(obj: Any) -> str:
    return str(obj.currency)


def currency_of(relation: str) -> Callable[[Any], str]:
    """For money_column: the currency of `obj.<relation>` (a line's order, case
    or credit note)."""
    return lambda obj: str(getattr(obj, relation).currency)


def money_column(
    attr: str,
    label: str,
    currency_of: Callable[[Any], str] = own_currency,
    *,
    ordering: str | None = None,
) -> Callable[..., SafeString]:
    """A read-only admin column showing `obj.<attr>` with its currency (by
    default the object's own `currency`)."""

    @admin.display(description=label, ordering=ordering)
    def column(self: Any, obj: Any) -> SafeString:
        return money_cell(getattr(obj, attr), currency_of(obj))

    column.__name__ = f"{attr}_with_currency"
    return column


def timestamp_column(attr: str, label: str) -> Callable[..., str]:
    """A read-only field showing `obj.<attr>` as `when` does."""

    @admin.display(description=label, ordering=attr)
    def column(self: Any, obj: Any) -> str:
        return when(getattr(obj, attr))

    column.__name__ = f"{attr}_when"
    return column


# ---------------------------------------------------------------- forms


def add_domain_error(form: forms.BaseForm, error: DomainError, field: str | None = None) -> None:
    """Show a service refusal on the form field it names (or `field`), else
    above the form with the service's field name in front."""
    name = field or error.field
    if name in form.fields:
        form.add_error(name, error.message)
    else:
        form.add_error(None, f"{error.field}: {error.message}")


# ---------------------------------------------------------------- big tables


class EstimatedCountPaginator(Paginator):
    """A paginator that never counts more rows than a page view can afford.

    The unfiltered list of a big PostgreSQL table takes the planner's row
    estimate (pg_class.reltuples): an exact COUNT(*) over millions of rows is a
    full scan on every page view. Any other list is counted up to `count_limit`
    rows; past that it says "more than" and pages stop at the limit, which asks
    staff to narrow the filters rather than page through them.
    """

    exact_below = 10_000
    count_limit = 10_000
    count_is_estimate = False
    count_is_capped = False

    @cached_property
    def count(self) -> int:
        estimate = self.estimate()
        if estimate is not None and estimate >= self.exact_below:
            self.count_is_estimate = True
            return estimate
        if not isinstance(self.object_list, QuerySet) or self.object_list.query.is_sliced:
            return super().count
        counted = self.object_list.order_by()[: self.count_limit + 1].count()
        if counted > self.count_limit:
            self.count_is_capped = True
            return self.count_limit
        return counted

    def estimate(self) -> int | None:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return None
        query = queryset.query
        if query.where or query.distinct or query.combinator or query.is_sliced:
            return None
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            # A partitioned table (refunds.partitions) has its rows, and its
            # estimates, in its partitions: the sum over the leaves (or the
            # plain table's own).
            table = connection.ops.quote_name(queryset.model._meta.db_table)
            cursor.execute(
                "SELECT sum(c.reltuples) FILTER (WHERE c.reltuples >= 0) FROM pg_class c "
                "WHERE c.relkind <> 'p' AND (c.oid = to_regclass(%s) OR c.oid IN "
                "(SELECT relid FROM pg_partition_tree(to_regclass(%s)) WHERE isleaf))",
                [table, table],
            )
            row = cursor.fetchone()
        # -1 means never analysed (every leaf): no estimate to trust.
        if row is None or row[0] is None:
            return None
        return int(row[0])


class BigTableAdmin(admin.ModelAdmin):
    """List settings for tables that grow without bound."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Facet counts run one COUNT per filter choice over the whole list.
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50


# ---------------------------------------------------------------- read-only bases


class ExtraViewsMixin:
    """For admins with views of their own (a download, a form)."""

    admin_site: admin.AdminSite
    opts: Any
    # This admin's own views as (route, name): the view is the method
    # `<name>_view`, the URL name `<app>_<model>_<name>` (see admin_url).
    extra_views: tuple[tuple[str, str], ...] = ()

    def get_urls(self) -> list[URLPattern]:
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        own: list[URLPattern] = [
            path(
                route,
                self.admin_site.admin_view(getattr(self, f"{name}_view")),
                name=f"{prefix}_{name}",
            )
            for route, name in self.extra_views
        ]
        return [*own, *super().get_urls()]  # type: ignore[misc]

    # Extra views about one object that its page links to: each is in the page's
    # context as `<name>_url`.
    object_links: tuple[str, ...] = ()

    def changelist_context(self, request: HttpRequest) -> dict[str, Any]:
        """What this admin adds to its list page's context (links to its own views)."""
        return {}

    def change_context(self, request: HttpRequest, object_id: str) -> dict[str, Any]:
        """What this admin adds to an object's page, besides the `object_links`."""
        return {}

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {**self.changelist_context(request), **(extra_context or {})}
        return super().changelist_view(request, extra)  # type: ignore[misc]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        links = {f"{name}_url": self.admin_url(name, object_id) for name in self.object_links}
        extra = {**links, **self.change_context(request, object_id), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)  # type: ignore[misc]

    def render_page(
        self, request: HttpRequest, template: str, title: str, **context: Any
    ) -> TemplateResponse:
        """One of this admin's own pages (a form, a report): the admin site's
        context, this model's `opts`, the `title` and `context`."""
        site = self.admin_site.each_context(request)
        return TemplateResponse(
            request, template, {**site, "opts": self.opts, "title": title, **context}
        )

    def admin_url(self, name: str, *args: Any) -> str:
        """The URL of one of this model's admin views (its own extra ones included)."""
        return reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{name}",
            args=args,
        )

    def viewable_or_404(self, request: HttpRequest, object_id: str) -> Any:
        """The object an extra view (a download) is about, if the user may see it."""
        obj = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
        if obj is None:
            raise Http404(f"No such {self.opts.verbose_name}.")
        if not self.has_view_permission(request, obj):  # type: ignore[attr-defined]
            raise PermissionDenied
        return obj


class NoEditAdmin(admin.ModelAdmin):
    """Rows the system writes (logs, deliveries): staff look and may delete
    (prune) them, never add or edit one."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ViewOnlyAdmin(ExtraViewsMixin, NoEditAdmin):
    """Rows that come from integrations: staff look, never add, edit or delete."""

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyAdmin(ViewOnlyAdmin):
    """Posted facts: staff look, never add, edit or delete; lists grow without
    bound, so no COUNT(*) of the unfiltered table."""

    show_full_result_count = False
    list_per_page = 50


class ReadOnlyInline(admin.TabularInline):
    """Rows shown on the parent's page, never edited there."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Whoever may see the parent sees its rows; no separate permission per row type.
        opts = self.parent_model._meta
        return any(
            request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")
            for action in ("view", "change")
        )


class SingletonAdmin(admin.ModelAdmin):
    """A model of one row (its `load()` returns it, made if missing): nothing is
    added or deleted, and the list goes straight to the row."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        row = self.model.load()
        opts = self.model._meta
        return HttpResponseRedirect(
            reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change", args=[row.pk]
            )
        )
