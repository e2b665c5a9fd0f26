"""Dated exchange rates: what one unit of a currency is worth in the reporting currency."""

from django.db import models
from django.db.models import Q

from lib.history import track_changes
from lib.money import CURRENCY_CHOICES


# History (lib/history.py): a re-import that changes a rate changes past reports.
@track_changes()
class ExchangeRate(models.Model):
    """One unit of `currency` = `rate` units of settings.REPORTING_CURRENCY on `date`.

    Reports (ledger.reports) take the latest rate on or before their date.
    Imported from CSV (admin, or manage.py import_exchange_rates).
    """

    date = models.DateField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    rate = models.DecimalField(max_digits=20, decimal_places=10)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "date"], name="exchange_rate_unique"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} 1 {self.currency} = {self.rate.normalize():f}"
