"""Benchmark: the vendor portal and the staff dashboard on 1,000,000 refund cases.

    .venv/bin/python -m bench.portal [--cases 1000000] [--vendors 30] [--requests 100]
                                     [--staff-requests 20] [--rounds 5] [--recreate]

Loads refund cases straight into the real tables with PostgreSQL COPY (once;
later runs reuse them, --recreate starts afresh): `manage.py load_demo` makes
about 450 cases a second, which is ten hours for a million. The shape:

- `--vendors` vendors with a skewed share of the orders; the measured vendor
  (`bench-portal`) sells on about one order in seven, and many of its orders
  also carry other vendors' lines, so some of its cases are shared;
- one order per case, 1 to 4 lines (quantity 1 to 3, 20% tax, the vendor's
  commission), 60% with shipping; three currencies (EUR most);
- a case refunds one unit of its first line and of each other line with
  probability 0.35, for one reason (the default policies' mix), with the refund
  lines, vendor liabilities and the order's and lines' counters exactly as the
  case engine computes them (commission given back where the policy says so);
- statuses by age: recent cases mostly pending or approved, older ones mostly
  closed, some rejected, cancelled (their amounts released) or disputed;
- the timeline: an `opened` event, one `status_changed` per transition (the
  dispute from one of the case's vendors), `acknowledged` events for the
  liabilities accepted, staff notes on 5% of cases (a third internal) and notes addressed to one
  vendor on 2%;
- cases spread over the two years before the load, in id order.

No payments, ledger or notifications: the pages measured do not read them
beyond an empty balance and badge. Every CHECK constraint applies to every
row. The staff dashboard's summary triggers (refunds/triggers.py) are disabled during
the COPY and `portal_refundday` is rebuilt from the loaded rows afterwards;
a consistency check re-derives the counters and that summary from the rows.
Then VACUUM (ANALYZE).

Then, in this process with Django's test client (config.settings.local,
DEBUG off), logged in as an owner of the measured vendor, it times GETs of
the portal's case list (default; status filter; search by case ID; search by
SKU; sorted by amount; a deep page), case pages of random cases of the vendor,
and the vendor dashboard; and, logged in as a staff user, the staff dashboard
(30 days; 90 days by reason; 365 days by SKU). Requests are interleaved in
--rounds rounds. For each page: p50 / p95 / p99 wall ms, SQL statements per
request, and a raw baseline: the very SQL the page sent (captured once per URL
with CaptureQueriesContext) replayed through a raw psycopg2 cursor, in the same
rounds, with the ratio page / raw. Target: p95 under 150 ms.

The database is `splitledger_portalbench` on 127.0.0.1:5432 unless
--database-url or DATABASE_URL says otherwise (its name must contain
"bench"). It is created if missing, reused otherwise, dropped and created by
--recreate; nothing else is touched. Exit status 1 if the consistency check
fails, 2 if a target is missed. See docs/bench_portal.md.
"""

from bench.portal.cli import main

__all__ = ["main"]
