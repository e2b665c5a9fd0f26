"""Staff admin for the ledger (a package: one module per area): chart of accounts, journals, balances, payouts,
invoices, credit notes and the exports finance imports into its accounting software.

Admin classes only collect input and show results. Journals, entries and
issued credit notes are facts (the database refuses to change them); money
moves through ledger.posting (payouts) and credit notes through
ledger.credit_notes, never through a raw model save.
"""

from . import books, credit_notes, invoices, issuer, payouts, periods, reports
from .base import ReadOnlyAdmin, ReadOnlyInline, exact_ids, terms

__all__ = [
    "ReadOnlyAdmin",
    "ReadOnlyInline",
    "books",
    "credit_notes",
    "exact_ids",
    "invoices",
    "issuer",
    "payouts",
    "periods",
    "reports",
    "terms",
]
