"""Vendor settlements: what the platform owes each vendor per period.

- compute.py: periods, generating due statements, their lines and pages.
- exports.py: a statement as CSV and as PDF.

The vendor-facing pages are portal/settlement_views.py (URLs in
portal/settlement_urls.py), the staff admin portal/settlement_admin.py and the
nightly run portal/settlement_tasks.py: those also tell vendors, which the
ledger knows nothing of. "Statement" here always means a vendor settlement
statement (the SettlementStatement model); a bank statement will live elsewhere.
"""

from .compute import (
    LINE_FIELDS,
    Generated,
    generate_due_statements,
    statement_documents,
    statement_entries,
    statement_page,
    vendor_statements,
)

__all__ = [
    "LINE_FIELDS",
    "Generated",
    "generate_due_statements",
    "statement_documents",
    "statement_entries",
    "statement_page",
    "vendor_statements",
]
