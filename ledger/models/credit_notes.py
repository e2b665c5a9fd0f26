"""Credit notes and what they are made from: settings, issuer, channel mappings, series."""

from decimal import Decimal

import pgtrigger
from django.db import models
from django.db.models import F, Q

from lib.constraints import amounts_equal
from lib.fields import amount_field, rate_field
from lib.history import track_changes
from lib.singleton import SingletonModel
from refunds.models import Order, PaymentMethod, RefundCase, RefundLine, RefundLineKind

from .documents import (
    DocumentLine,
    IssuedDocument,
    NumberSeries,
    line_constraints,
    series_constraints,
)
from .invoices import Invoice, immutable, lines_add_up


@track_changes()
class CreditNoteSettings(SingletonModel):
    """How credit notes are coded for the accounting system (one row, pk=1)."""

    platform_name = models.CharField(
        max_length=200, default="Splitledger", help_text="Shown at the top of credit note PDFs."
    )
    number_prefix = models.CharField(
        max_length=12,
        default="CN-",
        help_text="Credit notes are numbered per prefix and year: CN-2026-000001.",
    )
    channel_mapping_enabled = models.BooleanField(
        # On by default: lines then carry the original invoice's tax.
        default=True,
        help_text="On: the order's channel decides sales account, tracking and customer. "
        "Off: the default sales account applies to every line. Either way lines carry the "
        "tax actually refunded, at the rates of the invoice they correct.",
    )
    default_sales_account_code = models.CharField(
        max_length=40, default="200", help_text="Sales account code in the accounting system."
    )
    shipping_account_code = models.CharField(
        max_length=40,
        blank=True,
        help_text="Account code for refunded shipping when channel mapping is on "
        "(blank: the line's sales account).",
    )
    default_refund_tax_rate = rate_field(
        default=Decimal("0"),
        help_text="No longer used: a credit note's tax is always the tax actually refunded, "
        "at the rates of the invoice it corrects (kept for a release).",
    )
    default_customer_name = models.CharField(
        max_length=200,
        default="Marketplace customer",
        help_text="The contact when neither a channel mapping nor the order names one.",
    )

    class Meta:
        verbose_name = "credit note settings"
        verbose_name_plural = "credit note settings"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="credit_note_settings_singleton"),
            models.CheckConstraint(
                condition=Q(default_refund_tax_rate__gte=0) & Q(default_refund_tax_rate__lte=1),
                name="credit_note_settings_rate_between_0_and_1",
            ),
        ]

    def __str__(self) -> str:
        return "Credit note settings"


class IssuerProfile(SingletonModel):
    """The company that issues credit notes, as printed on them (one row, pk=1)."""

    legal_name = models.CharField(
        max_length=200,
        blank=True,
        help_text="The issuer's registered name on credit notes (blank: the platform name).",
    )
    address = models.TextField(
        max_length=500, blank=True, help_text="Postal address, one line per line."
    )
    vat_id = models.CharField("VAT ID", max_length=40, blank=True)
    email = models.EmailField(blank=True)

    class Meta:
        verbose_name = "company details"
        verbose_name_plural = "company details"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="issuer_profile_singleton")]

    def __str__(self) -> str:
        return "Company details"


@track_changes()
class ChannelMapping(models.Model):
    """Accounting codes for the orders of one channel.

    A blank subsource maps every subsource of the source that has no mapping of
    its own.
    """

    source = models.CharField(max_length=50)
    subsource = models.CharField(max_length=100, blank=True, default="")
    sales_account_code = models.CharField(max_length=40, blank=True)
    tracking_name = models.CharField(
        max_length=100, blank=True, help_text="Tracking category, e.g. Channel."
    )
    tracking_option = models.CharField(
        max_length=100, blank=True, help_text="Its option, e.g. Amazon DE."
    )
    customer_name = models.CharField(
        max_length=200,
        blank=True,
        help_text="Credit these orders to one contact (e.g. the marketplace) instead of the "
        "order's customer.",
    )

    class Meta:
        ordering = ["source", "subsource"]
        constraints = [
            models.UniqueConstraint(fields=["source", "subsource"], name="channel_mapping_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source}/{self.subsource}" if self.subsource else f"{self.source}/*"


# A credit note's lines add up to its net and tax, and its refunds (one per
# payment method) to its total: checked at commit whenever a note, a line or a
# refund is inserted. Notes issued before refund rows existed were never
# inserted again, so they are not checked.
NOTE_ADDS_UP = """
SELECT n.net_amount AS net, n.tax_amount AS tax, n.total_amount AS total,
       (SELECT count(*) FROM ledger_creditnoteline l WHERE l.credit_note_id = n.id) AS lines,
       (SELECT coalesce(sum(l.net_amount), 0) FROM ledger_creditnoteline l
            WHERE l.credit_note_id = n.id) AS lines_net,
       (SELECT coalesce(sum(l.tax_amount), 0) FROM ledger_creditnoteline l
            WHERE l.credit_note_id = n.id) AS lines_tax,
       (SELECT coalesce(sum(r.amount), 0) FROM ledger_creditnoterefund r
            WHERE r.credit_note_id = n.id) AS refunded
    INTO found
    FROM ledger_creditnote n WHERE n.id = NEW.{column};
IF found.lines = 0 OR found.lines_net <> found.net OR found.lines_tax <> found.tax THEN
    RAISE EXCEPTION 'ledger: credit note % has % lines of net % and tax %, but says net % and tax %',
        NEW.{column}, found.lines, found.lines_net, found.lines_tax, found.net, found.tax
        USING ERRCODE = 'check_violation';
END IF;
IF found.refunded <> found.total THEN
    RAISE EXCEPTION 'ledger: credit note % refunds % but its total is %',
        NEW.{column}, found.refunded, found.total
        USING ERRCODE = 'check_violation';
END IF;
RETURN NULL;
"""


def note_adds_up(name: str, column: str) -> pgtrigger.Trigger:
    return lines_add_up(name, column, NOTE_ADDS_UP)


class CreditNoteSeries(NumberSeries):
    """The next number of one credit note numbering series (NumberSeries). A
    seller-of-record vendor's series is prefixed with its code: ACME-CN-."""

    class Meta(NumberSeries.Meta):
        verbose_name_plural = "credit note series"
        constraints = series_constraints("credit_note_series")


class CreditNote(IssuedDocument):
    """The customer's document for a completed refund case: one per invoice the
    case corrects (a case touching two sellers of record gets two)."""

    series = models.ForeignKey(
        CreditNoteSeries, on_delete=models.PROTECT, related_name="credit_notes"
    )
    case = models.ForeignKey(RefundCase, on_delete=models.PROTECT, related_name="credit_notes")
    invoice = models.ForeignKey(
        Invoice,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_notes",
        help_text="The invoice it corrects (blank: issued before invoices existed).",
    )
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="credit_notes")
    reference = models.CharField(max_length=22, help_text="The refund case ID.")
    customer_address = models.TextField(
        max_length=500, blank=True, help_text="The order's, unless credited to a channel's contact."
    )
    # The method that refunded most of it; `refunds` has one row per method.
    payment_method = models.CharField(
        max_length=20, choices=PaymentMethod.choices, blank=True, default=""
    )
    bank_account_code = models.CharField(
        max_length=40, blank=True, help_text="Where most of the refund was paid from."
    )
    channel_mapping_applied = models.BooleanField(default=False)

    class Meta(IssuedDocument.Meta):
        # PostgreSQL trigger (ledger/triggers.py): never updated or deleted.
        indexes = [
            models.Index(fields=["issue_date", "id"], name="credit_note_date_idx"),
            models.Index(fields=["order"], name="credit_note_order_idx"),
            models.Index(fields=["order_number"], name="credit_note_order_number_idx"),
            models.Index(fields=["reference"], name="credit_note_reference_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "sequence"], name="credit_note_series_sequence_unique"
            ),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="credit_note_sequence_gte_1"),
            amounts_equal(
                "total_amount",
                F("net_amount") + F("tax_amount"),
                "credit_note_total_is_net_plus_tax",
            ),
            models.CheckConstraint(condition=Q(total_amount__gt=0), name="credit_note_total_gt_0"),
            # One per case and invoice corrected (and one per case before invoices).
            models.UniqueConstraint(
                fields=["case", "invoice"],
                condition=Q(invoice__isnull=False),
                name="credit_note_once_per_invoice",
            ),
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(invoice__isnull=True),
                name="credit_note_once_per_case_without_invoice",
            ),
        ]
        triggers = [note_adds_up("credit_note_adds_up", "id")]

    def __str__(self) -> str:
        return f"{self.number} for {self.reference}"


class CreditNoteLine(DocumentLine):
    credit_note = models.ForeignKey(CreditNote, on_delete=models.PROTECT, related_name="lines")
    refund_line = models.ForeignKey(
        RefundLine, on_delete=models.PROTECT, related_name="credit_note_lines"
    )
    kind = models.CharField(max_length=10, choices=RefundLineKind.choices)
    account_code = models.CharField(max_length=40, blank=True)
    tracking_name = models.CharField(max_length=100, blank=True)
    tracking_option = models.CharField(max_length=100, blank=True)

    class Meta:
        # PostgreSQL trigger (ledger/triggers.py): never updated or deleted.
        ordering = ["credit_note_id", "position"]
        constraints = [
            *line_constraints("credit_note_line", "credit_note"),
            models.CheckConstraint(
                condition=Q(net_amount__gte=0) & Q(tax_amount__gte=0) & Q(unit_amount__gte=0),
                name="credit_note_line_amounts_gte_0",
            ),
        ]
        triggers = [note_adds_up("credit_note_line_adds_up", "credit_note_id")]

    def __str__(self) -> str:
        return f"{self.credit_note.number} line {self.position}: {self.description}"


class CreditNoteRefund(models.Model):
    """How much of a credit note went back through one payment method, and the
    bank account that pays it: the refund is spread over the order's payments
    as the refund journal credits their clearing accounts."""

    credit_note = models.ForeignKey(CreditNote, on_delete=models.PROTECT, related_name="refunds")
    position = models.PositiveSmallIntegerField()
    payment_method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    bank_account_code = models.CharField(max_length=40, blank=True)
    amount = amount_field()

    class Meta:
        ordering = ["credit_note_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_note", "position"], name="credit_note_refund_position_unique"
            ),
            models.UniqueConstraint(
                fields=["credit_note", "payment_method"], name="credit_note_refund_method_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_note_refund_gt_0"),
        ]
        triggers = [
            immutable("credit_note_refund_immutable"),
            note_adds_up("credit_note_refund_adds_up", "credit_note_id"),
        ]

    def __str__(self) -> str:
        return f"{self.credit_note.number} refund {self.position}: {self.payment_method}"
