"""bench.ledger_scale.detach: what detaching the oldest month of a filled
ledger costs, and how long it holds ledger_entry locked.

On a ledger bench.ledger_scale filled (run that first: this one changes it),
each run takes the first month still attached to ledger_entry and does what a
controller and the daily task do before and at its detach:

1. closes its accounting period (ledger.closing.close_period, which
   reclassifies the payables' debit balances at its end);
2. generates every vendor's settlement statements that reach its end
   (ledger.settlements.generate_due_statements): a month is detached only
   once they exist (ledger.detached);
3. asks the month's rule unlocked (refunds.partitions.verdict: the daily
   totals against the entries, the journals' entry counts, the statements,
   then check_ledger's journals, sales and payouts checks), timed as a whole
   and in its parts. The filled ledger's sale and payout journals have no
   orders or payouts behind them, so check_ledger has findings and the rule
   refuses: the run says so, times the checks anyway, and marks the month
   verified as the unlocked pass does when they agree;
4. detaches it (refunds.partitions._detach: the rule records what the
   month held under a lock on the month, then the DETACH, in one
   transaction) while two more connections read ledger_entry and
   ledger_journal every few milliseconds: the longest such read is how long
   posting and reading each table waited, the figure that matters in
   production;
5. the same for the month's journals (their rule's check_ledger checks
   refuse them for the same reason, and the month is marked verified the
   same way).

The raw baseline, in the same run: one scan of the month's partition
(count and sums of its entries), the least any check of the month reads.
Each run detaches one more month: run it three times for three figures.

With --rolled-back N it instead times the oldest month's two DETACH
statements alone (the journals' with its hooks), N times, each in a
transaction rolled back: how long the DETACHes themselves hold their tables
with the keys the ledger has (say, before and after ledger 0013 on the same
ledger: this mode does not migrate), against the same scan.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import psycopg2

from bench.common import add_database_arguments, check_database_url, load_average, open_database

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/splitledger_big_scalebench"
PROCESS = "bench.ledger_scale.detach"


class Prober(threading.Thread):
    """Runs a small read of the table being detached from (one entry, or
    journal, of the last day) on its own connection every `every` seconds;
    records each read's latency."""

    def __init__(self, url: str, sql: str, params: list[Any], every: float) -> None:
        super().__init__(daemon=True)
        self.url, self.sql, self.params, self.every = url, sql, params, every
        self.latencies: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        conn = psycopg2.connect(self.url)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                while not self.stop.is_set():
                    started = time.perf_counter()
                    cur.execute(self.sql, self.params)
                    cur.fetchone()
                    self.latencies.append(time.perf_counter() - started)
                    self.stop.wait(self.every)
        finally:
            conn.close()


def timed(what: str, work: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = work()
    took = time.perf_counter() - started
    print(f"  {what}: {took:.2f} s", flush=True)
    return result, took


def scan_month(cursor: Any, name: str) -> float:
    """The raw baseline: one scan of the month's partition."""
    started = time.perf_counter()
    cursor.execute(f'SELECT count(*), sum(debit), sum(credit) FROM "{name}"')
    cursor.fetchone()
    return time.perf_counter() - started


# What the probers read while a month is detached: one row of the last day
# of each table (the parent, as every posting and report does).
PROBES = {
    "ledger_entry": "SELECT id FROM ledger_entry WHERE date = %s LIMIT 1",
    "ledger_journal": "SELECT id FROM ledger_journal WHERE date = %s LIMIT 1",
}


def detach_with_probe(url: str, month: Any, day: Any, every: float) -> dict:
    """Detach `month` while a reader of each table reads every `every` s."""
    from refunds.partitions import _detach

    probers = {table: Prober(url, sql, [day], every) for table, sql in PROBES.items()}
    for prober in probers.values():
        prober.start()
    time.sleep(0.5)
    started = time.perf_counter()
    verdict = _detach(month)
    took = time.perf_counter() - started
    time.sleep(0.5)
    for prober in probers.values():
        prober.stop.set()
        prober.join()
    waits = {}
    for table, prober in probers.items():
        reads = prober.latencies
        waits[table] = {
            "reads": len(reads),
            "max_ms": max(reads) * 1000 if reads else 0.0,
            "median_ms": statistics.median(reads) * 1000 if reads else 0.0,
            "slow": sum(1 for r in reads if r > 0.1),
        }
    return {"reason": verdict.reason, "took": took, "waits": waits}


def waits_line(probe: dict) -> str:
    return "; ".join(
        f"a reader of {table}: {w['reads']} reads, median {w['median_ms']:.1f} ms, "
        f"longest {w['max_ms']:.0f} ms"
        for table, w in probe["waits"].items()
    )


def entries_keys_line(cursor: Any, month: Any) -> str:
    """Where the entries month's key into the journals points (ledger 0013:
    its own journals month; before: the parents' one key)."""
    cursor.execute(
        "SELECT c.conname, c.confrelid::regclass::text, c.conparentid <> 0 FROM pg_constraint c "
        "WHERE c.contype = 'f' AND c.conrelid = to_regclass(%s) "
        "AND c.confrelid::regclass::text LIKE 'ledger_journal%%' ORDER BY 1",
        [month.name],
    )
    keys = [
        f"{name} -> {target}{' (copied from ledger_entry)' if inherited else ''}"
        for name, target, inherited in cursor.fetchall()
    ]
    return ", ".join(keys) or "none"


def rolled_back_detaches(month: Any) -> dict[str, float]:
    """The oldest month's two DETACHes alone, entries then journals, with
    the journals' hooks around the second (ledger.detached), in one
    transaction rolled back: how long each DETACH statement takes, which is
    how long it holds its table, whatever the records cost. Nothing changes."""
    from django.db import connection, transaction

    from ledger.detached import after_journals_detach, before_journals_detach
    from refunds.partitions import Month

    journals = Month("ledger_journal", month.start)
    took: dict[str, float] = {}
    with transaction.atomic(), connection.cursor() as cur:
        started = time.perf_counter()
        cur.execute(f'ALTER TABLE ledger_entry DETACH PARTITION "{month.name}"')
        took["entries DETACH"] = time.perf_counter() - started
        started = time.perf_counter()
        before_journals_detach(journals, cur)
        cur.execute(f'ALTER TABLE ledger_journal DETACH PARTITION "{journals.name}"')
        after_journals_detach(journals, cur)
        took["journals DETACH, with its hooks"] = time.perf_counter() - started
        transaction.set_rollback(True)
    return took


def run_rolled_back(month: Any, rounds: int) -> int:
    from django.db import connection

    with connection.cursor() as cur:
        keys = entries_keys_line(cur, month)
        baseline = min(scan_month(cur, month.name) for _ in range(3))
    print(f"  the entries month's keys: {keys}", flush=True)
    runs = []
    for n in range(rounds):
        took = rolled_back_detaches(month)
        runs.append(took)
        print(
            f"  run {n + 1}: " + ", ".join(f"{k} {v * 1000:,.0f} ms" for k, v in took.items()),
            flush=True,
        )
    print()
    print(f"=== rolled-back DETACHes (load average now {load_average()}) ===")
    print(f"keys: {keys}")
    print(f"raw baseline, one scan of the entries month: {baseline:.2f} s")
    for name in runs[0]:
        median = statistics.median(r[name] for r in runs)
        print(
            f"{name}: median {median * 1000:,.0f} ms of {rounds} ({median / baseline:.2f}x the scan)"
        )
    return 0


def run(args: argparse.Namespace) -> int:
    url = args.database_url
    # Rolled back, it measures the keys the ledger has: it does not migrate.
    open_database(url, "bench.ledger_scale.detach", recreate=False, migrate=not args.rolled_back)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from ledger import detached as ledger_detached
    from ledger.closing import close_period
    from ledger.models import (
        AccountingPeriod,
        CarriedDebit,
        DetachedCaseLeg,
        DetachedTotal,
        PeriodStatus,
    )
    from ledger.settlements import generate_due_statements
    from refunds.partitions import Month, monthly_partitions, verdict

    attached = monthly_partitions("ledger_entry")
    with connection.cursor() as cur:
        cur.execute("SELECT min(date), max(date) FROM ledger_entry")
        first, last = cur.fetchone()
    if first is None:
        print("ledger_entry is empty: fill it with bench.ledger_scale first.")
        return 2
    month = next((m for m in attached if m.end > first), None)
    if month is None or month.end > timezone.localdate().replace(day=1):
        print("no closed-able month left attached")
        return 2
    with connection.cursor() as cur:
        cur.execute(f'SELECT count(*) FROM "{month.name}"')
        entries = cur.fetchone()[0]
        cur.execute(
            "SELECT count(*) FROM ledger_journal WHERE date >= %s AND date < %s",
            [month.start, month.end],
        )
        journals = cur.fetchone()[0]
    print(
        f"bench.ledger_scale.detach, {timezone.now():%Y-%m-%d %H:%M} UTC, load average "
        f"{load_average()}; month {month.start:%Y-%m}: {entries:,} entries, {journals:,} "
        f"journals (ledger {first} to {last})",
        flush=True,
    )
    if args.rolled_back:
        return run_rolled_back(month, args.rolled_back)

    staff, _ = get_user_model().objects.get_or_create(
        username="bench-controller", defaults={"is_staff": True}
    )
    figures: dict[str, float] = {}
    period = AccountingPeriod.objects.filter(month=month.start).first()
    if period is None or period.status != PeriodStatus.CLOSED:
        _, figures["close"] = timed(
            f"close {month.start:%Y-%m}",
            lambda: close_period(
                month=month.start, user=staff, process=PROCESS, today=month.end + timedelta(1)
            ),
        )
    result, figures["statements"] = timed(
        "settlement statements reaching its end, every vendor",
        lambda: generate_due_statements(month.end + timedelta(days=7), cutoff=timezone.now()),
    )
    print(f"    {len(result.statements):,} statements made, {len(result.failures)} failures")

    found, figures["verdict"] = timed("the rule, unlocked (verdict)", lambda: verdict(month))
    print(f"    verdict: {found.reason or 'may go'}")
    with connection.cursor() as cur:
        _, figures["verify"] = timed(
            "  of which the entries, daily totals and statements (_verify without check_ledger)",
            lambda: ledger_detached._verify(month, cur, checks=False),
        )
        reason = ledger_detached._verify(month, cur, checks=False)
        if reason:
            print(f"    refused before check_ledger: {reason}")
            return 1
        baseline = min(scan_month(cur, month.name) for _ in range(3))
    if found.reason:
        print(
            "    (the filled ledger's sale and payout journals have no orders or payouts, so "
            "check_ledger's source checks refuse: the month is marked verified as the "
            "unlocked pass marks it when they agree)"
        )
        ledger_detached._VERIFIED[month.name] = ledger_detached._last_event(month.start)

    probe = detach_with_probe(url, month, last, args.probe_every)
    print(
        f"  entries month detach: {probe['took']:.2f} s ({probe['reason'] or 'detached'}); "
        f"{waits_line(probe)}",
        flush=True,
    )
    records = {
        "DetachedTotal": DetachedTotal.objects.filter(month=month.start).count(),
        "DetachedCaseLeg": DetachedCaseLeg.objects.filter(month=month.start).count(),
        "CarriedDebit": CarriedDebit.objects.filter(day=month.end - timedelta(days=1)).count(),
    }
    print("    records: " + ", ".join(f"{k} {v:,}" for k, v in records.items()))

    journals_month = Month("ledger_journal", month.start)
    jfound, figures["journals_verdict"] = timed(
        "journals month: the rule, unlocked", lambda: verdict(journals_month)
    )
    jprobe = None
    if jfound.reason.startswith("check_ledger finds"):
        # As for the entries: the filled ledger's journals have no sources.
        from ledger import detached_journals

        print(f"    verdict: {jfound.reason}\n    (marked verified, as for the entries)")
        detached_journals._VERIFIED[journals_month.name] = detached_journals._last_event(
            month.start
        )
    elif jfound.reason:
        print(f"    journals month stays: {jfound.reason}")
    if not jfound.reason or jfound.reason.startswith("check_ledger finds"):
        jprobe = detach_with_probe(url, journals_month, last, args.probe_every)
        print(
            f"  journals month detach: {jprobe['took']:.2f} s "
            f"({jprobe['reason'] or 'detached'}); {waits_line(jprobe)}"
        )

    print()
    print(f"=== bench.ledger_scale.detach summary (load average now {load_average()}) ===")
    print(f"month {month.start:%Y-%m}: {entries:,} entries, {journals:,} journals")
    print(f"raw baseline, one scan of its partition: {baseline:.2f} s")
    for name, value in figures.items():
        print(f"{name}: {value:.2f} s ({value / baseline:.1f}x the scan)")
    print(
        f"entries detach: {probe['took']:.2f} s in all ({probe['took'] / baseline:.1f}x the "
        f"scan); the longest waits (how long each table was locked): {waits_line(probe)}"
    )
    if jprobe is not None:
        print(
            f"journals detach: {jprobe['took']:.2f} s in all; the longest waits: "
            f"{waits_line(jprobe)}"
        )
    return 0 if not probe["reason"] else 1


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ledger_scale.detach", description=__doc__
    )
    add_database_arguments(parser, DEFAULT_DATABASE_URL)
    parser.add_argument(
        "--probe-every", type=float, default=0.01, help="seconds between the probe's reads"
    )
    parser.add_argument(
        "--rolled-back",
        type=int,
        default=0,
        metavar="N",
        help="instead: time the oldest month's two DETACH statements alone, N times, each "
        "in a transaction rolled back (no close, statements or records; nothing changes, "
        "and the database is not migrated: the keys as they are)",
    )
    args = parser.parse_args(argv)
    check_database_url(parser, args.database_url, what="closes and detaches its oldest month")
    if args.recreate:
        parser.error("--recreate is refused: this benchmark needs a filled ledger")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
