"""Numbering series of issued documents (invoices, credit notes)."""

from django.db import models
from django.db.models import F, Q


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
