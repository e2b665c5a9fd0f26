"""Tax codes: a rate in a jurisdiction, and its name in the accounting system."""

from django.db import models
from django.db.models import Q

from lib.fields import rate_field
from lib.history import track_changes


@track_changes()
class TaxCode(models.Model):
    """A tax rate in a jurisdiction, and the accounting system's name for it.

    Order lines carry a rate; the channel's jurisdiction and that rate select
    the tax code (`ledger.tax.tax_code_for`): a code of the channel's
    jurisdiction, else one of no jurisdiction (blank), which applies anywhere.
    """

    code = models.SlugField(
        max_length=40, unique=True, help_text="Stable code, e.g. DE-VAT-19 or VAT-10."
    )
    name = models.CharField(max_length=120, blank=True)
    jurisdiction = models.CharField(
        max_length=40, blank=True, help_text="e.g. DE; blank: any jurisdiction."
    )
    rate = rate_field(help_text="A fraction: 0.1900 = 19%.")
    tax_type = models.CharField(
        max_length=100, help_text="The accounting system's tax rate name, e.g. 10% (VAT on Income)"
    )

    class Meta:
        ordering = ["jurisdiction", "rate"]
        constraints = [
            models.UniqueConstraint(
                fields=["jurisdiction", "rate"], name="tax_code_jurisdiction_rate_unique"
            ),
            models.CheckConstraint(
                condition=Q(rate__gte=0) & Q(rate__lte=1), name="tax_code_rate_between_0_and_1"
            ),
        ]

    def __str__(self) -> str:
        where = f" ({self.jurisdiction})" if self.jurisdiction else ""
        return f"{self.code}{where}: {(self.rate * 100).normalize():f}% — {self.tax_type}"
