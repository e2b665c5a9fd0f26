"""Invoices: each order's sales invoice per seller of record, and the
platform's commission invoices and commission credit notes to vendors.

Issued by ledger.invoices (sales and commission invoices when the sale
journal posts) and ledger.credit_notes (commission credit notes when the
refund journal posts), numbered without gaps per series. PostgreSQL refuses
any UPDATE or DELETE of an invoice or its lines, and checks at commit that
an invoice's lines add up to it (triggers below, django-pgtrigger).
"""

import pgtrigger
from django.db import models
from django.db.models import F, Q

from lib.constraints import amounts_equal
from lib.fields import non_negative
from refunds.models import CaseEvent, Order, OrderLine, RefundCase
from refunds.models.fields import EventCreatedAtField
from vendors.models import Vendor

from .documents import (
    DocumentLine,
    IssuedDocument,
    NumberSeries,
    line_constraints,
    series_constraints,
)

# Issued documents are facts: a mistake is corrected by a credit note.
REFUSE_CHANGE = """
RAISE EXCEPTION 'ledger: % on % is not allowed; issue a credit note instead',
    TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
"""


def immutable(name: str) -> pgtrigger.Trigger:
    return pgtrigger.Trigger(
        name=name,
        when=pgtrigger.Before,
        operation=pgtrigger.Update | pgtrigger.Delete,
        func=REFUSE_CHANGE,
    )


# An invoice's lines add up to its net and tax, checked at commit (deferred)
# whenever an invoice or a line is inserted: a line slipped in later fails too.
LINES_ADD_UP = """
SELECT i.net_amount AS net, i.tax_amount AS tax, count(l.id) AS lines,
       coalesce(sum(l.net_amount), 0) AS lines_net, coalesce(sum(l.tax_amount), 0) AS lines_tax
    INTO found
    FROM ledger_invoice i LEFT JOIN ledger_invoiceline l ON l.invoice_id = i.id
    WHERE i.id = NEW.{column} GROUP BY i.id;
IF found.lines = 0 OR found.lines_net <> found.net OR found.lines_tax <> found.tax THEN
    RAISE EXCEPTION 'ledger: invoice % has % lines of net % and tax %, but says net % and tax %',
        NEW.{column}, found.lines, found.lines_net, found.lines_tax, found.net, found.tax
        USING ERRCODE = 'check_violation';
END IF;
RETURN NULL;
"""


def lines_add_up(name: str, column: str, check: str = LINES_ADD_UP) -> pgtrigger.Trigger:
    """A trigger that runs `check` at commit (deferred) after an insert: `check`
    reads the document whose id is NEW.<column> into `found`."""
    return pgtrigger.Trigger(
        name=name,
        when=pgtrigger.After,
        operation=pgtrigger.Insert,
        timing=pgtrigger.Deferred,
        declare=[("found", "record")],
        func=check.format(column=column),
    )


class InvoiceKind(models.TextChoices):
    SALE = "sale", "Sales invoice"
    COMMISSION = "commission", "Commission invoice"
    COMMISSION_CREDIT = "commission_credit", "Commission credit note"


COMMISSION_KINDS = (InvoiceKind.COMMISSION, InvoiceKind.COMMISSION_CREDIT)


class InvoiceLineKind(models.TextChoices):
    GOODS = "goods", "Goods"
    SHIPPING = "shipping", "Shipping"
    COMMISSION = "commission", "Commission"


class InvoiceSeries(NumberSeries):
    """The next number of one invoice numbering series (a prefix and a year),
    taken without gaps (NumberSeries). The platform's series are INV- (sales)
    and COM- / CCN- (commission); a vendor that is seller of record has its
    own, prefixed with its code.
    """

    vendor = models.ForeignKey(
        Vendor,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoice_series",
        help_text="The seller of record on whose behalf the series is issued (blank: the "
        "platform).",
    )

    class Meta(NumberSeries.Meta):
        verbose_name_plural = "invoice series"
        constraints = series_constraints("invoice_series")


class Invoice(IssuedDocument):
    """An issued invoice (or the platform's commission credit note to a vendor).

    - sale: the customer's invoice for an order's goods and shipping of one
      seller of record: the platform (seller_vendor blank: facilitator
      vendors' goods) or a vendor, issued on its behalf in its own series.
    - commission: the platform's invoice to a vendor for its commission on an
      order (billed_vendor), with the platform's tax on it.
    - commission_credit: the platform's credit note to a vendor for a
      commission reversal on a refund case (or a dispute correction, `event`);
      `corrects` is the commission invoice of the order.
    Amounts are positive whatever the kind.
    """

    kind = models.CharField(max_length=20, choices=InvoiceKind.choices)
    series = models.ForeignKey(InvoiceSeries, on_delete=models.PROTECT, related_name="invoices")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="invoices")
    case = models.ForeignKey(
        RefundCase, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    event = models.ForeignKey(
        CaseEvent,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The dispute resolution whose commission correction this documents.",
        db_constraint=False,  # the key is (event_id, event_created_at): migration 0005
    )
    event_created_at = EventCreatedAtField()
    seller_vendor = models.ForeignKey(
        Vendor,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoices_issued_for",
        help_text="Sales invoices: the vendor that is seller of record (blank: the platform).",
    )
    billed_vendor = models.ForeignKey(
        Vendor,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="commission_documents",
        help_text="Commission documents: the vendor invoiced or credited.",
    )
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )
    reference = models.CharField(max_length=22, blank=True, help_text="The refund case ID.")
    seller_name = models.CharField(max_length=200)
    seller_address = models.TextField(max_length=500, blank=True)
    seller_vat_id = models.CharField(max_length=40, blank=True)
    customer_address = models.TextField(max_length=500, blank=True)
    customer_vat_id = models.CharField(max_length=40, blank=True)

    class Meta(IssuedDocument.Meta):
        indexes = [
            models.Index(fields=["issue_date", "id"], name="invoice_date_idx"),
            models.Index(fields=["order"], name="invoice_order_idx"),
            models.Index(fields=["billed_vendor", "issue_date"], name="invoice_billed_vendor_idx"),
            models.Index(fields=["seller_vendor", "issue_date"], name="invoice_seller_vendor_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=InvoiceKind.values), name="invoice_kind_valid"
            ),
            models.UniqueConstraint(
                fields=["series", "sequence"], name="invoice_series_sequence_unique"
            ),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="invoice_sequence_gte_1"),
            *non_negative("invoice", "net_amount", "tax_amount"),
            amounts_equal(
                "total_amount", F("net_amount") + F("tax_amount"), "invoice_total_is_net_plus_tax"
            ),
            # Who is on it, by kind.
            models.CheckConstraint(
                condition=(
                    Q(kind=InvoiceKind.SALE, billed_vendor__isnull=True, case__isnull=True)
                    | Q(
                        kind=InvoiceKind.COMMISSION,
                        billed_vendor__isnull=False,
                        seller_vendor__isnull=True,
                    )
                    | Q(
                        kind=InvoiceKind.COMMISSION_CREDIT,
                        billed_vendor__isnull=False,
                        seller_vendor__isnull=True,
                        case__isnull=False,
                    )
                ),
                name="invoice_parties_by_kind",
            ),
            # Issued once: a sales invoice per order and seller of record, a
            # commission invoice per order and vendor, a commission credit
            # note per case and vendor, a correction per resolution and vendor.
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(kind=InvoiceKind.SALE, seller_vendor__isnull=True),
                name="invoice_sale_once_for_platform",
            ),
            models.UniqueConstraint(
                fields=["order", "seller_vendor"],
                condition=Q(kind=InvoiceKind.SALE, seller_vendor__isnull=False),
                name="invoice_sale_once_per_vendor",
            ),
            models.UniqueConstraint(
                fields=["order", "billed_vendor"],
                condition=Q(kind=InvoiceKind.COMMISSION, event__isnull=True),
                name="invoice_commission_once_per_vendor",
            ),
            models.UniqueConstraint(
                fields=["case", "billed_vendor"],
                condition=Q(kind=InvoiceKind.COMMISSION_CREDIT, event__isnull=True),
                name="invoice_commission_credit_once",
            ),
            models.UniqueConstraint(
                fields=["event", "billed_vendor"],
                condition=Q(event__isnull=False),
                name="invoice_correction_once",
            ),
        ]
        triggers = [
            immutable("invoice_immutable"),
            lines_add_up("invoice_adds_up", "id"),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.get_kind_display().lower()}, {self.order_number})"

    @property
    def platform_issued(self) -> bool:
        """Issued by the platform in its own name (its output tax)."""
        return self.seller_vendor_id is None


class InvoiceLine(DocumentLine):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    kind = models.CharField(max_length=12, choices=InvoiceLineKind.choices)
    order_line = models.ForeignKey(
        OrderLine, null=True, blank=True, on_delete=models.PROTECT, related_name="invoice_lines"
    )
    earner_vendor = models.ForeignKey(
        Vendor,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Shipping: the vendor that earns it (blank: the platform).",
    )

    class Meta:
        ordering = ["invoice_id", "position"]
        constraints = [
            *line_constraints("invoice_line", "invoice"),
            *non_negative("invoice_line", "unit_amount", "net_amount", "tax_amount"),
            models.CheckConstraint(
                condition=Q(kind__in=InvoiceLineKind.values), name="invoice_line_kind_valid"
            ),
        ]
        triggers = [
            immutable("invoice_line_immutable"),
            lines_add_up("invoice_line_adds_up", "invoice_id"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice.number} line {self.position}: {self.description}"
