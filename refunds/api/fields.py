"""Re-exported: the field lives in lib.api_fields (the ledger uses it too)."""

from lib.api_fields import MoneyField

__all__ = ["MoneyField"]
