"""Staff admin: the finance workbench for refund cases, and the orders behind them.

Admin classes only collect input and show results. Every change to a case goes
through `refunds.services.cases`, so status, amounts and the timeline stay the
same whether a case is worked here, through the API or in the vendor portal.

Lists are built for big tables: no full COUNT(*) (see lib.admin.EstimatedCountPaginator),
no DISTINCT (related rows are matched with EXISTS), and searches are exact
matches (or a case ID prefix) that each hit an index.

Importing the modules registers their admins: cases (list and page),
workbench (the page's forms), actions (bulk), orders, policies, outbox.
"""

from lib.admin import money_cell  # noqa: F401  (ledger.admin's import, until it uses lib.admin)

from . import cases, orders, outbox, policies  # noqa: F401
