"""Benchmark: posting journals, draining the outbox and reading balances, against raw SQL.

    .venv/bin/python -m bench.ledger [--only a,b,c] [--reuse] [--recreate] [...]

Three parts, each beside a raw psycopg2 baseline that writes (or reads) the same
rows in the same run, on its own connection, interleaved with the measured side:

(a) post: journals of five entries (Dr gateway clearing; Cr two vendor payables,
    commission income, output tax) posted one per transaction with
    `ledger.posting.post_one`, against hand-written transactions: INSERT journal
    RETURNING id, INSERT the five entries (one statement), the balance upsert
    posting uses, COMMIT. The ledger's deferred triggers run at both COMMITs.
    Target: ratio >= 0.5.
(b) drain: a backlog of 100,000 `order.paid` outbox messages for the ledger
    consumer, drained by `refunds.outbox.drain("ledger")` in batches of 500,
    1000 and 2000, against execute_values writing the same journals, entries
    and balance upserts and deleting the same number of outbox rows, batch by
    batch (a baseline that writes only: no claim, no reads). Target: ratio >= 0.3.
(c) read: `ledger.selectors.account_balance` with ledger_entry holding at least
    10,000,000 rows, against a raw SELECT of the balance row by its key, and the
    sum of the account's entries for context. Target: under 1 ms.

It uses its own database (default `splitledger_ledgerbench` on 127.0.0.1:5432,
user postgres; `--database-url` or DATABASE_URL to change it, but the name must
contain "bench"), creates it if missing and migrates it; `--recreate` drops and
creates it first. Nothing is deleted otherwise: the 10 million entries of (c)
stay for the next run, which only tops them up (or, with --reuse, uses the
table as it is). See docs/bench_ledger.md.
"""

from bench.ledger.cli import main

__all__ = ["main"]
