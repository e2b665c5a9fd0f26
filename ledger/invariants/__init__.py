"""The ledger's invariants: every rule between the books and their sources,
checked (`manage.py check_ledger`). This checks; it is not an audit trail.

Each check is a plain function that returns a list of findings (empty when the
invariant holds). Checks are single aggregate SQL statements, so their cost
grows with one pass over the tables involved, never with a query per row; each
returns at most `limit` findings plus one that says how many more there are.

What the checks compare:
- Journals: entries balance, are in the journal's currency, and number exactly
  the declared entry_count. The trial balance nets to zero per currency. No
  journal was posted into a month after it closed.
- Maintained balances equal the sums of the entries per (account, currency);
  the daily totals (AccountDay) equal them per (account, currency, journal
  date), and add up to the balances. Entries months detached from ledger_entry
  (ledger.detached) count as recorded at their detach: their daily totals, the
  number of their journals and entries, and their sale and payout journals'
  sources are compared with that record (detached_months), and the checks
  that read entries read the record for those months. Journals months
  detached after them (ledger.detached_journals) count as recorded at their
  own detach: their number and entry counts, their latest posting (against
  the period's close), their cases' journal and refund-journal counts, and a
  digest per kind and currency of their sale and payout journals' sources
  (count, amounts, sum of ids), which the orders and payouts without an
  attached journal must add up to, per currency.
- Sources against the ledger: each order has one sale journal for its captured
  amount; each payout one payout journal; each completed case (completed,
  closed, or disputed after completion) one refund journal whose legs are the
  breakdown snapshotted at completion, and its refund and correction journals
  together post its current liabilities; no other case has journals.
- Each vendor's payable less its receivable per currency equals its sales
  (net less commission) less the vendor shares of completed cases less its
  payouts (a close's reclassification and a payout's settlement of the
  receivable move amounts between the two); for a vendor that is the seller
  of record, with the tax on its goods; less the tax on commission
  (COMMISSION_TAX_RATE), as posting books them.
- Shipping split by rate or over vendors (refunds.tax.split_shipping's
  rounding) is not repeated in SQL: a case that refunded taxed shipping is
  compared on its commission and clearing legs only, and a vendor whose
  payable holds such shipping is left out of the payable check
  (docs/accounting.md).
- The order and line refund counters equal the sums over cases that are not
  rejected or cancelled, and each case's lines and liabilities add up to it.
- Documents against the books: the tax on the platform's own invoices
  (facilitator sales, commission) less the tax on its credit notes (customer
  and commission) equals the movement of the output-tax accounts, per tax
  code (an output-tax account that names one; the accounts of no code as one
  group) and currency and month: documents are dated as the journals they
  document.

The ledger posts from the outbox, so a message not yet consumed is a backlog,
not a broken invariant: it is reported once, and the checks that compare
sources with the ledger leave out the orders, cases and vendors it concerns.
A reversal of a source's journal while the source stands (a completed case, a
payout) is reported as a difference: the books no longer say what happened.

The SQL is written for PostgreSQL and runs on SQLite (3.39 or later: FULL
OUTER JOIN, IS DISTINCT FROM) too, so the dev database can be checked: SQLite
gets `bool_and` and `concat_ws` as Python functions, and since it stores
decimals as floats, amounts marked `[[a <> b]]` in the SQL are compared there to
half a unit of the stored precision instead of exactly. The one check that reads
the completion snapshot with PostgreSQL's jsonb functions is skipped on SQLite,
and says so. (The triggers that refuse an unbalanced or edited journal exist on
PostgreSQL only: on SQLite the checks are the only guard.)
"""

from .books import (
    balances_match_entries,
    days_add_up_to_balances,
    days_match_entries,
    detached_months,
    journals_balance,
    journals_in_open_periods,
    outbox_backlog,
    trial_balance_nets_to_zero,
)
from .counters import case_breakdowns, refund_counters, vendor_payables
from .documents import output_tax_matches_documents
from .runner import CHECKS, POSTGRES_ONLY, Check, check_invariants, run_checks
from .sources import (
    case_postings_match_liabilities,
    payouts_posted,
    refund_journals_match_completion,
    refunds_posted,
    sales_posted,
)
from .sql import DEFAULT_LIMIT, LEDGER_CONSUMER, Finding

__all__ = [
    "CHECKS",
    "DEFAULT_LIMIT",
    "LEDGER_CONSUMER",
    "POSTGRES_ONLY",
    "Check",
    "Finding",
    "balances_match_entries",
    "case_breakdowns",
    "case_postings_match_liabilities",
    "check_invariants",
    "days_add_up_to_balances",
    "days_match_entries",
    "detached_months",
    "journals_balance",
    "journals_in_open_periods",
    "outbox_backlog",
    "output_tax_matches_documents",
    "payouts_posted",
    "refund_counters",
    "refund_journals_match_completion",
    "refunds_posted",
    "run_checks",
    "sales_posted",
    "trial_balance_nets_to_zero",
    "vendor_payables",
]
