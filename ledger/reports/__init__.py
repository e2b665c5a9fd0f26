"""Finance reports: the tax report, accrued refunds and receivables aging.

Each report is a selector function with typed arguments returning a `Report`
(rows of Decimals in the transaction currency, and in the reporting currency
by the dated exchange rates). The admin pages, the API and CSV downloads all
call these functions and render the same `Report`; see docs/accounting.md,
"Reports".
"""

from .accrued import ACCRUED_STATUSES, accrued_refunds
from .aging import customer_aging, vendor_aging
from .base import Column, Report, report_csv
from .rates import MissingRate, RateTable, import_rates_csv, reporting_currency
from .tax import tax_report

__all__ = [
    "ACCRUED_STATUSES",
    "Column",
    "MissingRate",
    "RateTable",
    "Report",
    "accrued_refunds",
    "customer_aging",
    "import_rates_csv",
    "report_csv",
    "reporting_currency",
    "tax_report",
    "vendor_aging",
]
