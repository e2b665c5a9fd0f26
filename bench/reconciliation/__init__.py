"""Benchmark: bank statement import and matching, n lines against n open items.

    make bench-reconciliation BENCH_ARGS="--n 1000000 [--double]"
    .venv/bin/python -m bench.reconciliation --n 1000000

Generates `--n` vendor payouts and a bank statement CSV of as many lines with
known answers (bench/reconciliation/data.py: reference lines, same-amount
same-day twins with and without references, amount-only lines, batch debits
for several payouts, bank fees, payouts not yet paid; ids in time order as a
ledger and a bank assign them, or with `--scattered-ids` in the order the
world is made), loads the payouts by COPY and opens their open items as beat's
sync does (not in the end to end; timed and printed on their own), then times
in a child process the whole pipeline a production import and run would do:
read and parse the file, check it, load it (a sample of keys probed, then one
COPY into the table), the run's catch-up sync, match in tiers and write
allocations and suggestions. It prints each phase, the
matching core, peak memory of the process and of its PostgreSQL backend,
precision and recall against the known answers, and a raw baseline: the same
matching in plain Python (a dict of references and a sort-merge on amount and
date, nothing written) with the ratio. `--double` runs 2n after n and prints
the ratio of the two.

Its own database, `splitledger_reconbench` (`--database-url`; the name must
contain "bench"); it empties the cash tables and payouts before each size.
"""
