"""Demo data for the cash side: a month of payout reports and bank statements
that reconcile, with a few deliberate exceptions to work through.

Run after the demo orders and cases are loaded and posted (refunds.demo, which
may not import cash) and their settlement statements made; `manage.py
load_cash_demo` (what scripts/dev_setup.sh runs) calls `load_cash_demo`:

1. the window: the last complete month and the current month to date (earlier
   months too, at most three, while no card refund could be traced from the
   request to the bank in it);
2. vendor payouts (ledger.posting.record_payout): each EUR vendor paid its
   settlement statement's closing, less what it was paid since, on the
   period's end plus its payout delay, for payout days in the window;
3. Stripe payouts, weekly on Mondays, of the card charges (fee 1.5% + 0.25,
   2.5% for UK cards) and card refunds of the week before, written as Stripe's
   itemized payout reconciliation CSV, one file per payout, and imported with
   `cash.services.payout_reports.import_payout_report` (matched, posted);
4. a CAMT.053 statement of the platform's EUR account per month: the Stripe
   payouts as credits (remittance `STRIPE po_...`), the vendor payouts as
   debits (end-to-end id the payout reference, remittance `... PAYOUT-<id>`),
   imported with `cash.services.imports.import_statement_file`;
5. `cash.services.periods.run_period` for each month (the matching engine).

Everything matches but the deliberate exceptions (README, "The cash side of
the demo"): a bank fee with no open item; two advances of one amount on one
day whose bank lines carry no reference (suggestions); a refund made in
Stripe's dashboard (an exception of the payout import); a vendor payout the
bank debited with its charge (a suggestion and a difference to write off).

The files are kept in `directory` (default MEDIA_ROOT/demo_files;
scripts/dev_setup.sh puts them in `demo_files/` beside the SQLite file) for a
user to read and re-import: a re-import adds nothing.

On SQLite (scripts/dev.sh) the statement import and the matching engine are
PostgreSQL-only (COPY, temporary tables, advisory locks, triggers): the same
files are parsed by the same parser and stored with the ORM under the same
natural keys, and the demo records the matches it knows the files hold (the
lines naming their payout); the deliberate exceptions stay unmatched.

Deterministic: the ids drawn from `seed`, everything else from the demo's data
and `today`.
"""

from .loader import (
    CashDemoError,
    CashDemoSummary,
    already_loaded,
    default_directory,
    load_cash_demo,
    showcase_case,
    trace_path,
)

__all__ = [
    "CashDemoError",
    "CashDemoSummary",
    "already_loaded",
    "default_directory",
    "load_cash_demo",
    "showcase_case",
    "trace_path",
]
