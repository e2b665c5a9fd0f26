"""Staff admin: the finance workbench for refund cases, and the orders behind them.

Admin classes only collect input and show results. Every change to a case goes
through `refunds.services.cases`, so status, amounts and the timeline stay the
same whether a case is worked here, through the API or in the vendor portal.

Lists are built for big tables: no full COUNT(*) (see EstimatedCountPaginator),
no DISTINCT (related rows are matched with EXISTS), and searches are exact
matches (or a case ID prefix) that each hit an index.
"""

from __future__ import annotations

import logging
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import reduce
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_permission_codename, get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import IntegrityError, connections
from django.db.models import Exists, Model, OuterRef, Prefetch, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import smart_split, unescape_string_literal

from lib.errors import DomainError
from lib.money import AMOUNT_DIGITS, AMOUNT_PLACES, display_money, format_amount
from vendors.models import Vendor

from .errors import TransitionNotAllowed
from .models import (
    CASE_ID_REGEX,
    Attachment,
    CaseEvent,
    CaseStatus,
    Channel,
    EventChannel,
    Order,
    OrderLine,
    OutboxMessage,
    Payment,
    ReasonPolicy,
    RefundCase,
    RefundLine,
    RefundLineKind,
    VendorLiability,
)
from .outbox import retry_messages
from .services.cases import (
    ShareOverride,
    add_attachment,
    add_note,
    approve_case,
    assign_owner,
    cancel_case,
    close_case,
    complete_case,
    override_breakdown,
    reject_case,
    resolve_dispute,
)

logger = logging.getLogger(__name__)

CASE_ID_PREFIX = "RFND-"
# A bulk action works case by case, each in its own transaction; more than this
# in one request would outlive the request timeout.
MAX_BULK_CASES = 500
# Past this many refusals in one action, the rest are summed up in one message.
MAX_REPORTED_REFUSALS = 20


# ---------------------------------------------------------------- helpers


def money_cell(amount: Decimal | None, currency: str) -> SafeString:
    """An amount as a cell shows it: "10,592.89 EUR" on one line, right-aligned
    (the `money` class, see templates/admin/base_site.html)."""
    return format_html('<span class="money">{}</span>', display_money(amount, currency))


def when(moment: datetime | None) -> str:
    """A timestamp as finance reads it, in the site's time zone: 2025-03-16 08:42."""
    return "-" if moment is None else f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def money_column(
    attr: str, label: str, currency_of: Callable[[Any], str]
) -> Callable[..., SafeString]:
    """A read-only admin column showing `obj.<attr>` with its currency."""

    @admin.display(description=label)
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


def search_terms(search_term: str) -> list[str]:
    """The admin's own splitting: words, or "quoted phrases"."""
    terms = []
    for bit in smart_split(search_term or ""):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        bit = bit.strip()
        if bit:
            terms.append(bit)
    return terms


def any_of(conditions: Iterable[Any]) -> Q | None:
    conditions = list(conditions)
    return reduce(operator.or_, conditions) if conditions else None


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """Show a service refusal on the form field it names, else above the form."""
    field = form.error_field(error.field) if isinstance(form, CaseForm) else error.field
    if field in form.fields:
        form.add_error(field, error.message)
    else:
        form.add_error(None, f"{error.field}: {error.message}")


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
            cursor.execute(
                "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)",
                [connection.ops.quote_name(queryset.model._meta.db_table)],
            )
            row = cursor.fetchone()
        # -1 means never analysed: no estimate to trust.
        if row is None or row[0] is None or row[0] < 0:
            return None
        return int(row[0])


class BigTableAdmin(admin.ModelAdmin):
    """List settings for tables that grow without bound."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Facet counts run one COUNT per filter choice over the whole list.
    show_facets = admin.ShowFacets.NEVER
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


# ---------------------------------------------------------------- refund cases: inlines


def case_currency(obj: Any) -> str:
    return obj.case.currency


class RefundLineInline(ReadOnlyInline):
    model = RefundLine
    verbose_name_plural = "refund lines"
    fields = (
        "refunded",
        "sku",
        "vendor_code",
        "net",
        "tax",
        "shipping",
        "gross",
        "reason",
        "vendor_share_amount",
        "platform_share_amount",
        "commission_reversal_amount",
    )
    readonly_fields = fields

    net = money_column("net_amount", "net", case_currency)
    tax = money_column("tax_amount", "tax", case_currency)
    shipping = money_column("shipping_amount", "shipping", case_currency)
    gross = money_column("gross_amount", "gross", case_currency)
    vendor_share_amount = money_column("vendor_share", "vendor share", case_currency)
    platform_share_amount = money_column("platform_share", "platform share", case_currency)
    commission_reversal_amount = money_column(
        "commission_reversal", "commission reversal", case_currency
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[RefundLine]:
        return (
            super().get_queryset(request).select_related("case", "order_line", "vendor", "reason")
        )

    @admin.display(description="SKU")
    def sku(self, obj: RefundLine) -> str:
        return obj.order_line.sku if obj.order_line else "(shipping)"

    @admin.display(description="refunded")
    def refunded(self, obj: RefundLine) -> str:
        # An amount line has no quantity (it is 0): say what was refunded instead.
        if obj.kind == RefundLineKind.QUANTITY:
            return f"{obj.quantity} unit{'s' if obj.quantity != 1 else ''}"
        if obj.kind == RefundLineKind.AMOUNT:
            return f"amount {display_money(obj.gross_amount, obj.case.currency)}"
        return "shipping"

    @admin.display(description="vendor")
    def vendor_code(self, obj: RefundLine) -> str:
        return obj.vendor.code if obj.vendor else "-"


class VendorLiabilityInline(ReadOnlyInline):
    model = VendorLiability
    verbose_name_plural = "breakdown by vendor"
    fields = (
        "vendor_code",
        "refund",
        "net",
        "tax",
        "shipping",
        "vendor_share_amount",
        "platform_share_amount",
        "commission_reversal_amount",
        "overridden",
        "acknowledged",
    )
    readonly_fields = fields

    refund = money_column("refund_amount", "refund", case_currency)
    net = money_column("net_amount", "net", case_currency)
    tax = money_column("tax_amount", "tax", case_currency)
    shipping = money_column("shipping_amount", "shipping", case_currency)
    vendor_share_amount = money_column("vendor_share", "vendor share", case_currency)
    platform_share_amount = money_column("platform_share", "platform share", case_currency)
    commission_reversal_amount = money_column(
        "commission_reversal", "commission reversal", case_currency
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[VendorLiability]:
        return super().get_queryset(request).select_related("case", "vendor", "acknowledged_by")

    @admin.display(description="vendor")
    def vendor_code(self, obj: VendorLiability) -> str:
        return obj.vendor.code

    @admin.display(description="acknowledged")
    def acknowledged(self, obj: VendorLiability) -> str:
        if obj.acknowledged_at is None:
            return ""
        by = f" by {obj.acknowledged_by.get_username()}" if obj.acknowledged_by else ""
        return f"{when(obj.acknowledged_at)}{by}"


class CaseEventInline(ReadOnlyInline):
    model = CaseEvent
    verbose_name_plural = "timeline"
    fields = (
        "at",
        "kind",
        "transition",
        "actor",
        "vendor_code",
        "channel",
        "internal",
        "text",
        "details",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[CaseEvent]:
        return super().get_queryset(request).select_related("case", "actor", "vendor")

    @admin.display(description="at")
    def at(self, obj: CaseEvent) -> str:
        return when(obj.created_at)

    @admin.display(description="vendor")
    def vendor_code(self, obj: CaseEvent) -> str:
        return obj.vendor.code if obj.vendor else "-"

    @admin.display(description="from → to")
    def transition(self, obj: CaseEvent) -> str:
        if not (obj.from_status or obj.to_status):
            return ""
        return f"{obj.from_status or '-'} → {obj.to_status or '-'}"

    @admin.display(description="details")
    def details(self, obj: CaseEvent) -> str:
        changes = (obj.data or {}).get("changes") if isinstance(obj.data, dict) else None
        if not changes:
            return ""
        parts = []
        for change in changes:
            before, after = change.get("before", {}), change.get("after", {})
            moved = ", ".join(
                f"{name.replace('_', ' ')} {before.get(name)} → {after.get(name)}"
                for name in ("vendor_share", "platform_share", "commission_reversal")
                if before.get(name) != after.get(name)
            )
            parts.append(f"{change.get('vendor')}: {moved or 'unchanged'}")
        return "; ".join(parts)


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ("download", "size_display", "content_type", "uploaded_by", "uploaded_at")
    readonly_fields = fields

    @admin.display(description="uploaded at")
    def uploaded_at(self, obj: Attachment) -> str:
        return when(obj.created_at)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Attachment]:
        return super().get_queryset(request).select_related("uploaded_by")

    @admin.display(description="file")
    def download(self, obj: Attachment) -> SafeString:
        url = reverse("admin:refunds_refundcase_download", args=[obj.case_id, obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.filename)

    @admin.display(description="size")
    def size_display(self, obj: Attachment) -> str:
        return filesizeformat(obj.size)


# ---------------------------------------------------------------- refund cases: list filters


class VendorFilter(admin.SimpleListFilter):
    title = "vendor"
    parameter_name = "vendor"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(code, code) for code in Vendor.objects.values_list("code", flat=True)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset
        return queryset.filter(
            Exists(VendorLiability.objects.filter(case=OuterRef("pk"), vendor__code=self.value()))
        )


class ReasonFilter(admin.SimpleListFilter):
    title = "reason"
    parameter_name = "reason"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return list(ReasonPolicy.objects.values_list("code", "label"))

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset
        return queryset.filter(
            Exists(RefundLine.objects.filter(case=OuterRef("pk"), reason__code=self.value()))
        )


class OwnerFilter(admin.SimpleListFilter):
    title = "owner"
    parameter_name = "owner"
    NOBODY = "nobody"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        # Owners are staff (assign_owner insists), a short list unlike all users.
        staff = get_user_model().objects.filter(is_staff=True, is_active=True)
        username = get_user_model().USERNAME_FIELD
        return [
            (self.NOBODY, "Nobody"),
            *((str(pk), name) for pk, name in staff.order_by(username).values_list("pk", username)),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        if value == self.NOBODY:
            return queryset.filter(owner__isnull=True)
        try:
            return queryset.filter(owner_id=int(value))
        except ValueError:
            return queryset.none()


# ---------------------------------------------------------------- refund cases: forms


class CaseActionForm(helpers.ActionForm):
    text = forms.CharField(
        required=False,
        max_length=2000,
        label="Reason / gateway reference:",
    )


NOTE_CHANNELS = [
    (value, label)
    for value, label in EventChannel.choices
    if value not in (EventChannel.SYSTEM, EventChannel.API)
]


class CaseForm(forms.Form):
    """A workbench form about one case."""

    def __init__(self, *args: Any, case: RefundCase, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.case = case

    def case_vendors(self) -> QuerySet[Vendor]:
        return Vendor.objects.filter(liabilities__case=self.case).order_by("code")

    def error_field(self, name: str) -> str:
        """The form field that shows a service refusal naming `name`."""
        return name


class NoteForm(CaseForm):
    prefix = "note"
    channel = forms.ChoiceField(choices=NOTE_CHANNELS, initial=EventChannel.STAFF)
    vendor = forms.ModelChoiceField(
        queryset=Vendor.objects.none(),
        required=False,
        help_text="The vendor this entry speaks for or to, if any.",
    )
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))
    internal = forms.BooleanField(
        required=False, label="Internal", help_text="Staff only: vendors never see it."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["vendor"].queryset = self.case_vendors()


class AttachmentForm(CaseForm):
    prefix = "attachment"
    file = forms.FileField()
    note = forms.CharField(required=False, widget=forms.TextInput(attrs={"size": 60}))
    channel = forms.ChoiceField(choices=NOTE_CHANNELS, initial=EventChannel.STAFF)
    internal = forms.BooleanField(
        required=False, label="Internal", help_text="Staff only: vendors never see it."
    )


class OwnerForm(CaseForm):
    prefix = "owner"
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(), required=False, empty_label="Nobody"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.filter(is_staff=True, is_active=True)
        self.fields["owner"].queryset = users.order_by(get_user_model().USERNAME_FIELD)
        self.fields["owner"].initial = self.case.owner_id


SHARE_FIELDS = ("vendor_share", "platform_share", "commission_reversal")


class SharesForm(CaseForm):
    """Every vendor's shares of the case, prefilled with the current ones and
    named as the services name them (`liabilities.ACME.vendor_share`), so their
    refusals land on the right field."""

    shares_required = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.liabilities = list(self.case.liabilities.select_related("vendor").order_by("vendor"))
        for row in self.liabilities:
            for name in SHARE_FIELDS:
                self.fields[self.field_name(row, name)] = forms.DecimalField(
                    label=f"{row.vendor.code} {name.replace('_', ' ')}",
                    required=self.shares_required,
                    max_digits=AMOUNT_DIGITS,
                    decimal_places=AMOUNT_PLACES,
                    min_value=0,
                    initial=Decimal(format_amount(getattr(row, name), self.case.currency)),
                    widget=forms.NumberInput(attrs={"step": "any", "size": 10}),
                )

    @staticmethod
    def field_name(row: VendorLiability, name: str) -> str:
        return f"liabilities.{row.vendor.code}.{name}"

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "liability": row,
                "borne": display_money(row.net_amount + row.shipping_amount, self.case.currency),
                "current": [
                    display_money(getattr(row, name), self.case.currency) for name in SHARE_FIELDS
                ],
                "fields": [self[self.field_name(row, name)] for name in SHARE_FIELDS],
            }
            for row in self.liabilities
        ]

    def shares(self) -> dict[str, ShareOverride]:
        """The vendors whose shares staff changed, as the service takes them."""
        changed: dict[str, ShareOverride] = {}
        for row in self.liabilities:
            values = {
                name: self.cleaned_data.get(self.field_name(row, name)) for name in SHARE_FIELDS
            }
            if all(values[name] == getattr(row, name) for name in SHARE_FIELDS):
                continue
            changed[row.vendor.code] = ShareOverride(
                **{name: "" if value is None else str(value) for name, value in values.items()}
            )
        return changed


class BreakdownForm(SharesForm):
    """Staff override the breakdown of a pending case."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Why the breakdown differs from the reason policies. Logged on the timeline.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.errors and not self.shares():
            raise forms.ValidationError("Change at least one vendor's shares.")
        return cleaned


class ResolveForm(SharesForm):
    """Staff end a dispute, with new shares for the vendors they change (the
    others keep theirs). A vendor's shares left as they are, or all left empty,
    are not changed."""

    prefix = "resolve"
    shares_required = False

    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="The outcome, as the vendor will read it on the case's timeline.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The message first, above the table of shares.
        self.order_fields(["message"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for row in self.liabilities:
            names = [self.field_name(row, name) for name in SHARE_FIELDS]
            given = [name for name in names if cleaned.get(name) is not None]
            if not given or any(name in self.errors for name in names):
                continue
            for name in names[:2]:
                if name not in given:
                    self.add_error(name, "Give this share too, or leave the vendor's as they are.")
        return cleaned

    def shares(self) -> dict[str, ShareOverride]:
        # A vendor whose shares were all emptied keeps them.
        return {
            code: override
            for code, override in super().shares().items()
            if any((override.vendor_share, override.platform_share, override.commission_reversal))
        }

    def error_field(self, name: str) -> str:
        # A refusal about a vendor's shares as a whole (they do not add up) goes
        # on that vendor's first share field, next to the numbers to correct.
        first = f"{name}.{SHARE_FIELDS[0]}"
        if name not in self.fields and first in self.fields:
            return first
        return super().error_field(name)


@dataclass
class WorkbenchItem:
    """One workbench form as a template renders it."""

    key: str
    title: str
    url: str
    form: forms.Form
    submit: str
    template: str = "admin/refunds/refundcase/includes/workbench_form.html"


# ---------------------------------------------------------------- refund cases: admin


class RefundCaseChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        # Vendors of the page's cases in one query, not one per row.
        self.result_list = self.result_list.prefetch_related(
            Prefetch(
                "liabilities",
                queryset=VendorLiability.objects.select_related("vendor").only(
                    "case_id", "vendor_id", "vendor__code"
                ),
            )
        )


@admin.register(RefundCase)
class RefundCaseAdmin(BigTableAdmin):
    list_display = (
        "case_id",
        "order_number",
        "status",
        "refund_total",
        "vendor_codes",
        "owner",
        "initiated",
    )
    list_select_related = ("order", "owner")
    list_filter = (
        "status",
        VendorFilter,
        ReasonFilter,
        OwnerFilter,
        ("initiated_at", admin.DateFieldListFilter),
    )
    # Sorting by anything else would sort the whole table on every page.
    sortable_by = ("case_id", "status", "initiated")
    # The search box needs search_fields; get_search_results does the matching.
    search_fields = ("case_id",)
    search_help_text = "Case ID (or its start), or exact order number, vendor code or SKU."
    action_form = CaseActionForm
    actions = (
        "approve_selected",
        "complete_selected",
        "reject_selected",
        "cancel_selected",
        "close_selected",
    )
    inlines = (RefundLineInline, VendorLiabilityInline, CaseEventInline, AttachmentInline)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "case_id",
                    "order_link",
                    "status_display",
                    "owner",
                    "opened_by",
                    "note",
                )
            },
        ),
        ("Amounts", {"fields": ("refund_total", "shipping_refund", "gateway_reference")}),
        (
            "Dates",
            {"fields": ("initiated", "approved", "completed", "closed", "updated")},
        ),
    )
    readonly_fields = (
        "case_id",
        "order_link",
        "status_display",
        "owner",
        "opened_by",
        "note",
        "refund_total",
        "shipping_refund",
        "gateway_reference",
        "initiated",
        "approved",
        "completed",
        "closed",
        "updated",
    )

    refund_total = money_column("total_refund_amount", "refund", operator.attrgetter("currency"))
    refund_total.admin_order_field = "total_refund_amount"
    shipping_refund = money_column(
        "shipping_refund_amount", "shipping refund", operator.attrgetter("currency")
    )

    # ------------------------------------------------------------ permissions, queryset

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Cases are opened through open_case (API, portal), which prices and reserves them.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RefundCase | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[RefundCase]:
        return super().get_queryset(request).select_related("order", "owner", "opened_by")

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return RefundCaseChangeList

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return super().changelist_view(request, {"title": "Refund cases", **(extra_context or {})})

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[RefundCase], search_term: str
    ) -> tuple[QuerySet[RefundCase], bool]:
        for term in search_terms(search_term):
            condition = self.term_condition(term)
            if condition is None:
                return queryset.none(), False
            queryset = queryset.filter(condition)
        # EXISTS never repeats a case, so no DISTINCT is needed.
        return queryset, False

    @staticmethod
    def term_condition(term: str) -> Q | None:
        """What `term` may be, asked of small indexed lookups first, so the case
        query carries only the branches that can match: an OR over every kind
        of match would make PostgreSQL scan all cases."""
        upper = term.upper()
        if re.fullmatch(CASE_ID_REGEX, upper):
            return Q(case_id=upper)
        if upper.startswith(CASE_ID_PREFIX):
            # LIKE 'RFND-2026%' runs on the case_id column's pattern index.
            return Q(case_id__startswith=upper)
        variants = sorted({term, upper})
        branches: list[Any] = []
        order_ids = list(
            Order.objects.filter(number__in=variants).order_by().values_list("pk", flat=True)
        )
        if order_ids:
            branches.append(Q(order_id__in=order_ids))
        vendor_ids = list(
            Vendor.objects.filter(code__iexact=term).order_by().values_list("pk", flat=True)
        )
        if vendor_ids:
            branches.append(
                Exists(
                    VendorLiability.objects.filter(case=OuterRef("pk"), vendor_id__in=vendor_ids)
                )
            )
        if OrderLine.objects.filter(sku__in=variants).exists():
            branches.append(
                Exists(RefundLine.objects.filter(case=OuterRef("pk"), order_line__sku__in=variants))
            )
        return any_of(branches)

    # ------------------------------------------------------------ list columns

    @admin.display(description="order", ordering="order__number")
    def order_number(self, obj: RefundCase) -> str:
        return obj.order.number

    @admin.display(description="vendors")
    def vendor_codes(self, obj: RefundCase) -> str:
        return ", ".join(row.vendor.code for row in obj.liabilities.all())

    initiated = timestamp_column("initiated_at", "initiated")
    approved = timestamp_column("approved_at", "approved")
    completed = timestamp_column("completed_at", "completed")
    closed = timestamp_column("closed_at", "closed")
    updated = timestamp_column("updated_at", "updated")

    # ------------------------------------------------------------ case page

    @admin.display(description="order")
    def order_link(self, obj: RefundCase) -> SafeString:
        url = reverse("admin:refunds_order_change", args=[obj.order_id])
        return format_html('<a href="{}">{}</a>', url, obj.order.number)

    @admin.display(description="status")
    def status_display(self, obj: RefundCase) -> str:
        if obj.status == CaseStatus.DISPUTED and obj.status_before_dispute:
            before = CaseStatus(obj.status_before_dispute).label.lower()
            return f"{obj.get_status_display()} (was {before})"
        return obj.get_status_display()

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "POST":
            # Nothing here is edited directly; the workbench forms post to their own views.
            return HttpResponseRedirect(request.get_full_path())
        # Not "Change refund case": the page is read, and worked through the workbench.
        extra_context = {"title": "Refund case", **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: RefundCase | None = None,
    ) -> HttpResponse:
        context.update(
            show_save=False,
            show_save_and_continue=False,
            show_save_and_add_another=False,
            show_delete=False,
        )
        if obj is not None and self.has_change_permission(request, obj):
            context["workbench"] = self.workbench_items(obj)
            context["can_override_breakdown"] = obj.status == CaseStatus.PENDING
        return super().render_change_form(request, context, add, change, form_url, obj)

    def workbench_items(self, case: RefundCase) -> list[WorkbenchItem]:
        items = []
        if case.status == CaseStatus.DISPUTED:
            items.append(self.resolve_item(case, ResolveForm(case=case)))
        return [
            *items,  # the dispute first: it is what the case waits for
            WorkbenchItem(
                "note", "Add a note", self.case_url("note", case), NoteForm(case=case), "Add note"
            ),
            WorkbenchItem(
                "attachment",
                "Attach a file",
                self.case_url("attachment", case),
                AttachmentForm(case=case),
                "Upload",
            ),
            WorkbenchItem(
                "owner", "Owner", self.case_url("owner", case), OwnerForm(case=case), "Assign"
            ),
        ]

    # ------------------------------------------------------------ workbench views

    def get_urls(self) -> list[URLPattern]:
        info = f"{self.opts.app_label}_{self.opts.model_name}"

        def view(func: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
            return self.admin_site.admin_view(func)

        return [
            path("<path:object_id>/note/", view(self.note_view), name=f"{info}_note"),
            path(
                "<path:object_id>/attachment/",
                view(self.attachment_view),
                name=f"{info}_attachment",
            ),
            path("<path:object_id>/owner/", view(self.owner_view), name=f"{info}_owner"),
            path(
                "<path:object_id>/breakdown/", view(self.breakdown_view), name=f"{info}_breakdown"
            ),
            path("<path:object_id>/resolve/", view(self.resolve_view), name=f"{info}_resolve"),
            path(
                "<path:object_id>/attachments/<int:attachment_id>/",
                view(self.download_view),
                name=f"{info}_download",
            ),
            *super().get_urls(),
        ]

    def case_url(self, name: str, case: RefundCase) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_{name}", args=[case.pk])

    def case_or_404(self, request: HttpRequest, object_id: str) -> RefundCase:
        case = self.get_object(request, unquote(object_id))
        if case is None:
            raise Http404("No such refund case.")
        return case

    def note_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def apply(case: RefundCase, data: dict[str, Any]) -> str:
            add_note(
                case=case,
                text=data["text"],
                channel=data["channel"],
                vendor=data["vendor"],
                internal=data["internal"],
                actor=request.user,
            )
            return f"{'Internal note' if data['internal'] else 'Note'} added to {case.case_id}."

        return self.workbench_view(
            request, object_id, "note", NoteForm, "Add a note", "Add note", apply
        )

    def attachment_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def apply(case: RefundCase, data: dict[str, Any]) -> str:
            attachment = add_attachment(
                case=case,
                file=data["file"],
                note=data["note"],
                channel=data["channel"],
                internal=data["internal"],
                actor=request.user,
            )
            return f"{attachment.filename} attached to {case.case_id}."

        return self.workbench_view(
            request, object_id, "attachment", AttachmentForm, "Attach a file", "Upload", apply
        )

    def owner_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def apply(case: RefundCase, data: dict[str, Any]) -> str:
            owner = data["owner"]
            assign_owner(case=case, owner=owner, actor=request.user)
            return f"{case.case_id} is now owned by {owner.get_username() if owner else 'nobody'}."

        return self.workbench_view(request, object_id, "owner", OwnerForm, "Owner", "Assign", apply)

    def breakdown_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        case = self.case_or_404(request, object_id)
        if not self.has_change_permission(request, case):
            raise PermissionDenied
        if case.status != CaseStatus.PENDING and request.method != "POST":
            self.message_user(
                request,
                f"status: the breakdown of {case.case_id} can only be overridden while "
                f"pending (it is {case.status}).",
                messages.ERROR,
            )
            return HttpResponseRedirect(self.case_url("change", case))

        def apply(case: RefundCase, data: dict[str, Any]) -> str:
            override_breakdown(
                case=case, shares=form.shares(), reason=data["reason"], actor=request.user
            )
            return f"Breakdown of {case.case_id} overridden."

        form = self.bound_or_blank(request, BreakdownForm, case)
        return self.workbench_view(
            request,
            object_id,
            "breakdown",
            BreakdownForm,
            "Override breakdown",
            "Override",
            apply,
            case=case,
            form=form,
            template="admin/refunds/refundcase/breakdown_form.html",
        )

    def resolve_item(self, case: RefundCase, form: ResolveForm) -> WorkbenchItem:
        return WorkbenchItem(
            "resolve",
            "Resolve dispute",
            self.case_url("resolve", case),
            form,
            "Resolve",
            template="admin/refunds/refundcase/includes/resolve_form.html",
        )

    def resolve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """End a dispute: the case goes back to where it was, with new shares for
        the vendors staff changed (a correction for the ledger once completed)."""
        case = self.case_or_404(request, object_id)
        if not self.has_change_permission(request, case):
            raise PermissionDenied
        if case.status != CaseStatus.DISPUTED and request.method != "POST":
            self.message_user(
                request,
                f"status: {case.case_id} is {case.status}, not disputed; there is no dispute "
                "to resolve.",
                messages.ERROR,
            )
            return HttpResponseRedirect(self.case_url("change", case))

        def apply(case: RefundCase, data: dict[str, Any]) -> str:
            shares = form.shares()
            resolved = resolve_dispute(
                case=case, message=data["message"], shares=shares or None, actor=request.user
            )
            changed = f" with new shares for {', '.join(shares)}" if shares else ""
            return f"Dispute of {resolved.case_id} resolved{changed}: it is {resolved.status}."

        form = self.bound_or_blank(request, ResolveForm, case)
        return self.workbench_view(
            request,
            object_id,
            "resolve",
            ResolveForm,
            "Resolve dispute",
            "Resolve",
            apply,
            case=case,
            form=form,
            template="admin/refunds/refundcase/resolve_form.html",
        )

    def workbench_view(
        self,
        request: HttpRequest,
        object_id: str,
        key: str,
        form_class: type[CaseForm],
        title: str,
        submit: str,
        apply: Callable[[RefundCase, dict[str, Any]], str],
        *,
        case: RefundCase | None = None,
        form: CaseForm | None = None,
        template: str = "admin/refunds/refundcase/workbench_form.html",
    ) -> HttpResponse:
        """Show a workbench form; on a valid POST, call the service and go back to
        the case. A refusal is shown on the form, on the field it names."""
        if case is None:
            case = self.case_or_404(request, object_id)
            if not self.has_change_permission(request, case):
                raise PermissionDenied
        if form is None:
            form = self.bound_or_blank(request, form_class, case)
        if request.method == "POST" and form.is_valid():
            try:
                message = apply(case, form.cleaned_data)
            except DomainError as error:
                add_domain_error(form, error)
            except IntegrityError:
                logger.exception("%s on %s refused by the database", title, case.case_id)
                form.add_error(None, "The database refused the change (see the logs).")
            else:
                self.message_user(request, message, messages.SUCCESS)
                return HttpResponseRedirect(self.case_url("change", case))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{title}: {case.case_id}",
            "case": case,
            "case_url": self.case_url("change", case),
            "item": WorkbenchItem(key, title, self.case_url(key, case), form, submit),
        }
        return TemplateResponse(request, template, context)

    @staticmethod
    def bound_or_blank(
        request: HttpRequest, form_class: type[CaseForm], case: RefundCase
    ) -> CaseForm:
        if request.method == "POST":
            return form_class(request.POST, request.FILES, case=case)
        return form_class(case=case)

    def download_view(
        self, request: HttpRequest, object_id: str, attachment_id: int
    ) -> HttpResponse:
        """Attachments are never on a public media URL: staff fetch them here."""
        case = self.case_or_404(request, object_id)
        if not self.has_view_permission(request, case):
            raise PermissionDenied
        attachment = Attachment.objects.filter(case=case, pk=attachment_id).first()
        if attachment is None or not attachment.file:
            raise Http404("No such attachment.")
        try:
            handle = attachment.file.open("rb")
        except FileNotFoundError:
            raise Http404("The attachment's file is missing from storage.") from None
        return FileResponse(
            handle,
            as_attachment=True,
            filename=attachment.filename,
            content_type=attachment.content_type or "application/octet-stream",
        )

    # ------------------------------------------------------------ bulk actions

    @admin.action(description="Approve selected cases", permissions=["change"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[RefundCase]) -> None:
        note = action_text(request)
        self.bulk(
            request,
            queryset,
            "approved",
            lambda c: approve_case(case=c, actor=request.user, note=note),
        )

    @admin.action(
        description="Complete selected cases (text: gateway reference)", permissions=["change"]
    )
    def complete_selected(self, request: HttpRequest, queryset: QuerySet[RefundCase]) -> None:
        reference = action_text(request)
        self.bulk(
            request,
            queryset,
            "completed",
            lambda c: complete_case(case=c, actor=request.user, gateway_reference=reference),
        )

    @admin.action(description="Reject selected cases (text: reason)", permissions=["change"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[RefundCase]) -> None:
        reason = action_text(request)
        if not reason:
            self.message_user(request, "reason: give a reason to reject cases.", messages.ERROR)
            return
        self.bulk(
            request,
            queryset,
            "rejected",
            lambda c: reject_case(case=c, actor=request.user, reason=reason),
        )

    @admin.action(description="Cancel selected cases (text: reason)", permissions=["change"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[RefundCase]) -> None:
        reason = action_text(request)
        if not reason:
            self.message_user(request, "reason: give a reason to cancel cases.", messages.ERROR)
            return
        self.bulk(
            request,
            queryset,
            "cancelled",
            lambda c: cancel_case(case=c, actor=request.user, reason=reason),
        )

    @admin.action(description="Close selected cases", permissions=["change"])
    def close_selected(self, request: HttpRequest, queryset: QuerySet[RefundCase]) -> None:
        note = action_text(request)
        self.bulk(
            request, queryset, "closed", lambda c: close_case(case=c, actor=request.user, note=note)
        )

    def bulk(
        self,
        request: HttpRequest,
        queryset: QuerySet[RefundCase],
        done_verb: str,
        apply: Callable[[str], object],
    ) -> None:
        """Apply a service to each case on its own: one refusal leaves the others done."""
        case_ids = list(
            queryset.order_by("initiated_at", "pk").values_list("case_id", flat=True)[
                : MAX_BULK_CASES + 1
            ]
        )
        if len(case_ids) > MAX_BULK_CASES:
            self.message_user(
                request,
                f"Select at most {MAX_BULK_CASES} cases at a time; nothing was changed.",
                messages.ERROR,
            )
            return
        done: list[str] = []
        refused: list[tuple[str, str]] = []
        for case_id in case_ids:
            try:
                apply(case_id)
            except DomainError as error:
                refused.append((case_id, refusal_message(case_id, done_verb, error)))
            except IntegrityError:
                logger.exception("Bulk action on %s refused by the database", case_id)
                refused.append(
                    (
                        case_id,
                        f"{case_id} not {done_verb}: the database refused the change "
                        "(see the logs); nothing was changed on it.",
                    )
                )
            else:
                done.append(case_id)
        if done:
            self.message_user(
                request,
                f"{len(done)} case{'s' if len(done) != 1 else ''} {done_verb}: {', '.join(done)}.",
                messages.SUCCESS,
            )
        for _, message in refused[:MAX_REPORTED_REFUSALS]:
            self.message_user(request, message, messages.ERROR)
        if len(refused) > MAX_REPORTED_REFUSALS:
            self.message_user(
                request,
                f"{len(refused) - MAX_REPORTED_REFUSALS} more cases not {done_verb}.",
                messages.ERROR,
            )


# What staff can do about a status change the case engine refused, by the case's
# status and then by (status, the status asked for). The engine's TRANSITIONS
# table decides what is allowed; these only say what to do next.
HINT_BY_STATUS: dict[str, str] = {
    CaseStatus.DISPUTED: "resolve the dispute on its case page first",
    CaseStatus.CLOSED: "a closed case does not change any more",
    CaseStatus.REJECTED: "a rejected case does not change any more; open a new case if a "
    "refund is due after all",
    CaseStatus.CANCELLED: "a cancelled case does not change any more; open a new case if a "
    "refund is due after all",
}
HINT_BY_TRANSITION: dict[tuple[str, str], str] = {
    (CaseStatus.APPROVED, CaseStatus.APPROVED): "it is already approved; complete it next",
    (CaseStatus.COMPLETED, CaseStatus.APPROVED): "it is already approved and completed",
    (CaseStatus.PENDING, CaseStatus.COMPLETED): "approve it first",
    (CaseStatus.COMPLETED, CaseStatus.COMPLETED): "it is already completed; close it next",
    (CaseStatus.PENDING, CaseStatus.CLOSED): "approve and complete it first",
    (CaseStatus.APPROVED, CaseStatus.CLOSED): "complete it first",
    (CaseStatus.APPROVED, CaseStatus.REJECTED): "only a pending case can be rejected; "
    "cancel it instead",
    (CaseStatus.COMPLETED, CaseStatus.REJECTED): "the refund has been paid, so it can no "
    "longer be rejected",
    (CaseStatus.COMPLETED, CaseStatus.CANCELLED): "the refund has been paid, so it can no "
    "longer be cancelled",
}


def refusal_message(case_id: str, done_verb: str, error: DomainError) -> str:
    """A bulk action's refusal as staff can act on it: "RFND-… is disputed:
    resolve the dispute on its case page first (not approved)." Other refusals
    name the field and the engine's reason."""
    if isinstance(error, TransitionNotAllowed):
        current, wanted = error.from_status, error.to_status
        hint = HINT_BY_STATUS.get(current) or HINT_BY_TRANSITION.get((current, wanted))
        if hint is None:
            hint = f"a {current} case cannot be {wanted}"
        return f"{case_id} is {current}: {hint} (not {done_verb})."
    return f"{case_id} not {done_verb}: {error.field}: {error.message}"


def action_text(request: HttpRequest) -> str:
    return (request.POST.get("text") or "").strip()


# ---------------------------------------------------------------- orders, payments, channels


def order_currency(obj: Any) -> str:
    return obj.order.currency


class ViewOnlyAdmin(admin.ModelAdmin):
    """Rows that come from integrations: staff look, never add, edit or delete."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = (
        "vendor",
        "sku",
        "description",
        "quantity",
        "unit",
        "tax_rate",
        "commission_rate",
        "net",
        "tax",
        "commission",
        "refunded_quantity",
        "refunded_net_amount",
        "refunded_tax_amount",
    )
    readonly_fields = fields

    unit = money_column("unit_price", "unit price", order_currency)
    net = money_column("net_amount", "net", order_currency)
    tax = money_column("tax_amount", "tax", order_currency)
    commission = money_column("commission_amount", "commission", order_currency)
    refunded_net_amount = money_column("refunded_net", "refunded net", order_currency)
    refunded_tax_amount = money_column("refunded_tax", "refunded tax", order_currency)

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderLine]:
        return super().get_queryset(request).select_related("order", "vendor")


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ("method", "amount_with_currency", "reference", "captured_at")
    readonly_fields = fields

    amount_with_currency = money_column("amount", "amount", order_currency)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Payment]:
        return super().get_queryset(request).select_related("order")


def own_currency(obj: Any) -> str:
    return obj.currency


@admin.register(Order)
class OrderAdmin(ViewOnlyAdmin, BigTableAdmin):
    list_display = (
        "number",
        "channel",
        "customer",
        "total",
        "refunded",
        "placed",
    )
    list_select_related = ("channel",)
    list_filter = ("currency", ("placed_at", admin.DateFieldListFilter), "channel")
    sortable_by = ("number", "placed")
    search_fields = ("number",)
    search_help_text = "Exact order number or customer email."
    inlines = (OrderLineInline, PaymentInline)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "number",
                    "channel",
                    "currency",
                    "customer_name",
                    "customer_email",
                    "placed_at",
                    "created_at",
                )
            },
        ),
        (
            "Amounts",
            {
                "fields": (
                    "net",
                    "tax",
                    "shipping",
                    "total",
                    "captured",
                    "refunded",
                    "refunded_shipping_amount",
                    "refundable",
                )
            },
        ),
        ("Refund cases", {"fields": ("refund_case_links",)}),
    )
    readonly_fields = (
        "number",
        "channel",
        "currency",
        "customer_name",
        "customer_email",
        "placed_at",
        "created_at",
        "net",
        "tax",
        "shipping",
        "total",
        "captured",
        "refunded",
        "refunded_shipping_amount",
        "refundable",
        "refund_case_links",
    )

    net = money_column("net_amount", "net", own_currency)
    tax = money_column("tax_amount", "tax", own_currency)
    shipping = money_column("shipping_amount", "shipping", own_currency)
    total = money_column("total_amount", "total", own_currency)
    captured = money_column("captured_amount", "captured", own_currency)
    refunded = money_column("refunded_amount", "refunded or reserved", own_currency)
    refunded_shipping_amount = money_column(
        "refunded_shipping", "shipping refunded or reserved", own_currency
    )
    refundable = money_column("refundable_amount", "still refundable", own_currency)
    placed = timestamp_column("placed_at", "placed")

    @admin.display(description="customer")
    def customer(self, obj: Order) -> SafeString:
        return format_html("{}<br><small>{}</small>", obj.customer_name, obj.customer_email)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Order], search_term: str
    ) -> tuple[QuerySet[Order], bool]:
        for term in search_terms(search_term):
            if "@" in term:
                queryset = queryset.filter(customer_email__iexact=term)
            else:
                queryset = queryset.filter(number__in=sorted({term, term.upper()}))
        return queryset, False

    @admin.display(description="refund cases")
    def refund_case_links(self, obj: Order) -> str:
        cases = obj.refund_cases.order_by("initiated_at").values_list(
            "pk", "case_id", "status", "total_refund_amount"
        )
        return (
            format_html_join(
                ", ",
                '<a href="{}">{}</a> ({}, {})',
                (
                    (
                        reverse("admin:refunds_refundcase_change", args=[pk]),
                        case_id,
                        status,
                        display_money(amount, obj.currency),
                    )
                    for pk, case_id, status, amount in cases
                ),
            )
            or "-"
        )


@admin.register(Payment)
class PaymentAdmin(ViewOnlyAdmin, BigTableAdmin):
    list_display = ("reference", "order", "method", "amount_with_currency", "captured_at")
    list_select_related = ("order",)
    list_filter = ("method",)
    sortable_by = ()
    search_fields = ("reference",)
    search_help_text = "Exact payment reference or order number."
    fields = ("order", "method", "amount_with_currency", "reference", "captured_at")
    readonly_fields = fields

    amount_with_currency = money_column("amount", "amount", order_currency)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Payment], search_term: str
    ) -> tuple[QuerySet[Payment], bool]:
        for term in search_terms(search_term):
            queryset = queryset.filter(Q(reference=term) | Q(order__number=term))
        return queryset, False


@admin.register(Channel)
class ChannelAdmin(ViewOnlyAdmin):
    list_display = ("source", "subsource", "payout_terms_days")
    search_fields = ("source", "subsource")


# ---------------------------------------------------------------- reason policies


class ReasonPolicyForm(forms.ModelForm):
    class Meta:
        model = ReasonPolicy
        fields = (
            "code",
            "label",
            "vendor_share_percent",
            "refund_commission_to_vendor",
            "shipping_bearer",
            "is_active",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Refused on the field itself, not as the CHECK constraint's form-wide error.
        share = self.fields.get("vendor_share_percent")
        if share is not None:
            share.validators += [MinValueValidator(0), MaxValueValidator(100)]
            share.widget.attrs.update(min="0", max="100")


@admin.register(ReasonPolicy)
class ReasonPolicyAdmin(admin.ModelAdmin):
    form = ReasonPolicyForm
    list_display = (
        "code",
        "label",
        "vendor_share_percent",
        "refund_commission_to_vendor",
        "shipping_bearer",
        "is_active",
    )
    list_filter = ("is_active", "shipping_bearer")
    search_fields = ("code", "label")

    def get_readonly_fields(
        self, request: HttpRequest, obj: ReasonPolicy | None = None
    ) -> tuple[str, ...]:
        # Refund lines, API clients and reports know a used reason by its code.
        if obj is not None and obj.refund_lines.exists():
            return ("code",)
        return ()


# ---------------------------------------------------------------- outbox


class OutboxStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [
            ("failed", "Failed (parked)"),
            ("retrying", "Failing, will retry"),
            ("waiting", "Waiting for the drainer"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "failed":
            return queryset.filter(failed_at__isnull=False)
        if value == "retrying":
            return queryset.filter(failed_at__isnull=True, attempts__gt=0)
        if value == "waiting":
            return queryset.filter(failed_at__isnull=True, attempts=0)
        return queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(BigTableAdmin):
    """Work the ledger, notifications and webhooks still have to do. A message
    that keeps failing is parked here with its error until staff retry it."""

    list_display = (
        "id",
        "state",
        "consumer",
        "topic",
        "about",
        "attempts",
        "error",
        "next_try",
        "created",
    )
    list_filter = (OutboxStateFilter, "consumer", "topic")
    list_select_related = ("case", "order")
    sortable_by = ("id",)
    search_fields = ("consumer",)
    search_help_text = "Exact consumer, topic, case ID or order number."
    actions = ("retry_selected",)
    fields = (
        "consumer",
        "topic",
        "about",
        "state",
        "attempts",
        "last_error",
        "next_try",
        "failed",
        "created",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Nothing is edited: a message is only given back to the drainer (the action).
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Deleting a message loses its work (a journal, a notification).
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[OutboxMessage], search_term: str
    ) -> tuple[QuerySet[OutboxMessage], bool]:
        for term in search_terms(search_term):
            upper = term.upper()
            queryset = queryset.filter(
                Q(consumer=term)
                | Q(topic=term)
                | Q(case__case_id=upper)
                | Q(order__number__in=sorted({term, upper}))
            )
        return queryset, False

    @admin.display(description="state")
    def state(self, obj: OutboxMessage) -> str:
        if obj.failed_at is not None:
            return "Failed (parked)"
        if obj.attempts:
            return "Failing, will retry"
        return "Waiting"

    @admin.display(description="about")
    def about(self, obj: OutboxMessage) -> SafeString | str:
        if obj.case_id is not None:
            url = reverse("admin:refunds_refundcase_change", args=[obj.case_id])
            return format_html('<a class="nowrap" href="{}">{}</a>', url, obj.case.case_id)
        if obj.order_id is not None:
            url = reverse("admin:refunds_order_change", args=[obj.order_id])
            return format_html('<a class="nowrap" href="{}">{}</a>', url, obj.order.number)
        return "-"

    @admin.display(description="last error")
    def error(self, obj: OutboxMessage) -> str:
        text = obj.last_error.strip().splitlines()[0] if obj.last_error.strip() else ""
        return text if len(text) <= 120 else f"{text[:119]}…"

    @admin.display(description="next try")
    def next_try(self, obj: OutboxMessage) -> str:
        return "-" if obj.failed_at is not None else when(obj.available_at)

    @admin.display(description="failed at")
    def failed(self, obj: OutboxMessage) -> str:
        return when(obj.failed_at)

    @admin.display(description="created", ordering="id")
    def created(self, obj: OutboxMessage) -> str:
        return when(obj.created_at)

    @admin.action(description="Retry selected messages now", permissions=["retry"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        ids = list(queryset.values_list("pk", flat=True)[: MAX_BULK_CASES + 1])
        if len(ids) > MAX_BULK_CASES:
            self.message_user(
                request,
                f"Select at most {MAX_BULK_CASES} messages at a time; nothing was retried.",
                messages.ERROR,
            )
            return
        count = retry_messages(ids=ids)
        if count:
            self.message_user(
                request,
                f"{count} message{'s' if count != 1 else ''} given back to the drainer; "
                "a drain is queued.",
                messages.SUCCESS,
            )
        skipped = len(ids) - count
        if skipped:
            self.message_user(
                request,
                f"{skipped} message{'s' if skipped != 1 else ''} not retried: not failed "
                "(still waiting for its first try) or already done.",
                messages.WARNING,
            )
