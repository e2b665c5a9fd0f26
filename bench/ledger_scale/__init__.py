"""Benchmark: balance reads, trial balances and a statement CSV on a ledger of
100 million entries, each against a raw baseline of the same read.

    .venv/bin/python -m bench.ledger_scale [--entries 100000000] [--recreate] [...]

Fills its own database's ledger by COPY (bench/ledger_scale/fill.py): balanced
five-entry journals (sales, refunds, payouts) over `--days` days (730) ending
with last month, across `--vendors` vendors' payables and receivables (2,000)
and the platform's accounts, one vendor holding about `--statement-entries`
(100,000) payable entries in the last month; the ledger's USER triggers are
off during each COPY only (each chunk is checked set-wise instead) and the
balances and daily totals are rebuilt from the entries at the end. Writes the
entries' `date` when ledger_entry has one (partitioned by month: the missing
monthly partitions are made). Then measures, median of `--rounds`:

- `ledger.selectors.account_balance` p50/p99 against the raw SELECT by key
  (bench.ledger (c)'s code). Target: p99 under 2 ms.
- `ledger.selectors.trial_balance` today and at two past month ends against
  the raw SQL it sends, and once the old way (every entry up to the date,
  summed), which must agree. Target: under 1 s.
- a vendor's settlement statement CSV of about 100,000 entries through the
  portal's view against COPY TO of the same query (bench.statements' code).
  Target: under 2 s.

It uses its own database (default `splitledger_scalebench` on 127.0.0.1:5432;
`--database-url`, whose name must contain "bench"), creates and migrates it if
missing and keeps it: a later run measures the ledger already filled (one that
holds other entries is refused: `--recreate`). See docs/benchmarks.md.
"""

from bench.ledger_scale.cli import main

__all__ = ["main"]
