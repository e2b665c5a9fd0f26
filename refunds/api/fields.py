"""Re-exported: the fields live in lib.api_fields (the ledger and vendors use them too)."""

from lib.api_fields import AmountField, DecimalTextField, MoneyField, RateField

__all__ = ["AmountField", "DecimalTextField", "MoneyField", "RateField"]
