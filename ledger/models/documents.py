"""What issued documents (invoices, credit notes) share: their numbering
series, their header and totals, their lines."""

from django.db import models
from django.db.models import F, Q

from lib.constraints import amounts_equal
from lib.fields import amount_field, rate_field
from lib.money import CURRENCY_CHOICES


class NumberSeries(models.Model):
    """The next number of one numbering series (a prefix and a year).

    Taking numbers increments this row in the transaction that inserts the
    documents, so its row lock orders issuers and a rolled-back transaction
    gives its numbers back: numbers are sequential without gaps.
    """

    prefix = models.CharField(max_length=50)
    year = models.PositiveSmallIntegerField()
    next_number = models.PositiveIntegerField(default=1)

    class Meta:
        abstract = True
        ordering = ["prefix", "year"]

    def __str__(self) -> str:
        return f"{self.prefix}{self.year}"

    def format(self, sequence: int) -> str:
        return f"{self.prefix}{self.year}-{sequence:06d}"

    def take_numbers(self, count: int) -> int:
        """Reserve `count` consecutive numbers of this series, locked for update
        by the caller; returns the first. A rollback gives them back."""
        first = self.next_number
        type(self).objects.filter(pk=self.pk).update(next_number=F("next_number") + count)
        self.next_number = first + count
        return first


def series_constraints(name: str) -> list[models.BaseConstraint]:
    """One series per prefix and year, numbered from 1: `<name>_unique`, `<name>_next_gte_1`."""
    return [
        models.UniqueConstraint(fields=["prefix", "year"], name=f"{name}_unique"),
        models.CheckConstraint(condition=Q(next_number__gte=1), name=f"{name}_next_gte_1"),
    ]


class IssuedDocument(models.Model):
    """An issued document's number in its series, order, date, currency,
    customer and totals (net + tax = total)."""

    number = models.CharField(max_length=64, unique=True)
    sequence = models.PositiveIntegerField()
    order_number = models.CharField(max_length=64)
    issue_date = models.DateField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    customer_name = models.CharField(max_length=200)
    customer_email = models.EmailField(blank=True)
    net_amount = amount_field()
    tax_amount = amount_field()
    total_amount = amount_field()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["-issue_date", "-id"]


class DocumentLine(models.Model):
    """A line of an issued document: what, how many, at what price and tax."""

    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=400)
    quantity = models.PositiveIntegerField()
    unit_amount = amount_field(help_text="Net, per unit.")
    tax_rate = rate_field()
    tax_code = models.CharField(max_length=40, blank=True, help_text="The TaxCode's code.")
    tax_type = models.CharField(max_length=100, blank=True)
    net_amount = amount_field()
    tax_amount = amount_field()
    gross_amount = amount_field()

    class Meta:
        abstract = True


def line_constraints(name: str, document: str) -> list[models.BaseConstraint]:
    """A line's position is unique in its document, its quantity at least 1 and
    its gross its net plus tax: `<name>_position_unique`, ..."""
    return [
        models.UniqueConstraint(fields=[document, "position"], name=f"{name}_position_unique"),
        models.CheckConstraint(condition=Q(quantity__gte=1), name=f"{name}_quantity_gte_1"),
        amounts_equal(
            "gross_amount", F("net_amount") + F("tax_amount"), f"{name}_gross_is_net_plus_tax"
        ),
    ]
