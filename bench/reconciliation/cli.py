"""The run and the command line of bench.reconciliation."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import (
    add_database_arguments,
    check_database_url,
    load_average,
    open_database,
    print_table,
    server_facts,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/splitledger_reconbench"
TARGET_SECONDS = 60.0
TARGET_GIB = 2.0
TARGET_RECALL = 0.999
TARGET_DOUBLING = 2.3


def measure(n: int, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from django.db import connection

    from bench.reconciliation import baseline
    from bench.reconciliation.data import generate, write_csv
    from bench.reconciliation.load import evaluate, prepare, reset

    print(f"\n== n = {n:,}: generating and loading the payouts (not timed) ...", flush=True)
    started = time.perf_counter()
    from cash.services.sources import sync_open_items

    reset()
    world = generate(n, args.seed, scattered_ids=args.scattered_ids)
    prepare(world)
    path = folder / f"statement-{n}.csv"
    write_csv(world, path)
    # The open items exist before the file comes: beat's sync opens one for
    # each payout within minutes of it (cash.tasks.sync_open_items). Timed
    # here on its own; the run's catch-up sync then finds nothing new.
    opening = time.perf_counter()
    opened = sync_open_items()
    opening = time.perf_counter() - opening
    with connection.cursor() as cursor:
        # As autovacuum would between the payouts and the statement (it may be
        # off on a development server): visibility map and statistics.
        cursor.execute("VACUUM ANALYZE cash_bankstatementline")
        cursor.execute("VACUUM ANALYZE cash_openitem")
    connection.close()
    print(
        f"   {len(world.payouts):,} payouts, {len(world.lines):,} lines, "
        f"{path.stat().st_size / 1e6:.0f} MB CSV, set up in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    load_before = load_average(digits=2, sep=", ")
    child = subprocess.run(
        [sys.executable, "-m", "bench.reconciliation.pipeline", args.database_url, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    load_after = load_average(digits=2, sep=", ")
    if child.returncode != 0:
        raise SystemExit(f"the pipeline failed:\n{child.stderr[-4000:]}")
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    verdict = evaluate(world)
    base: dict[str, Any] = {}
    if not args.skip_baseline:
        with connection.cursor() as cursor:
            base = baseline.run(path, cursor.cursor)
    if not args.keep_files:
        path.unlink()
    return {
        "n": n,
        "lines": len(world.lines),
        "payouts": len(world.payouts),
        "figures": figures,
        "verdict": verdict,
        "baseline": base,
        "load": (load_before, load_after),
        "opened": opened,
        "opening": opening,
    }


def report(run: dict[str, Any]) -> bool:
    f, v, base = run["figures"], run["verdict"], run["baseline"]
    gib = f["peak_rss_kib"] / 2**20
    print(
        f"\n-- {run['lines']:,} lines x {run['payouts']:,} open items (load {run['load'][0]} -> {run['load'][1]})"
    )
    rows = [
        ["read file", f"{f['read']:.2f}"],
        ["parse + check (CSV, keys, balances)", f"{f['parse']:.2f}"],
        ["load (keys checked, one COPY into the table)", f"{f['load']:.2f}"],
        ["catch-up sync of open items (none new)", f"{f['sync']:.2f}"],
        ["matching core (scope, tiers, allocations)", f"{f['core']:.2f}"],
        ["suggestions written", f"{f['suggestions']:.2f}"],
        ["run's commit (deferred foreign keys)", f"{f['tiers'].get('commit', 0.0):.2f}"],
        ["end to end", f"{f['total']:.2f}"],
    ]
    print_table(["phase", "seconds"], rows, left=1)
    print(
        f"opening the {run['opened']:,} open items from the payouts (beat's sync, before the "
        f"file; not in the end to end): {run['opening']:.2f} s; end to end with it: "
        f"{f['total'] + run['opening']:.2f} s"
    )
    print("tiers: " + ", ".join(f"{k} {s:.2f} s" for k, s in f["tiers"].items()))
    print(
        f"peak memory: pipeline process {gib:.2f} GiB; its PostgreSQL backend "
        f"{(f['backend_peak_kib'] or 0) / 2**20:.2f} GiB"
    )
    print(
        f"lines: {f['matched']:,} matched, {f['suggested']:,} suggested, {f['unmatched']:,} left unmatched"
    )
    print(
        f"automatic pairs {v.auto_pairs:,}, correct {v.correct_auto:,}, wrong {len(v.wrong_auto)}; "
        f"precision {v.precision:.6f}, recall {v.recall:.6f}; missed pairs shown in a "
        f"suggestion {v.missed_with_suggestion:,}, not shown {v.missed_without_suggestion:,}"
    )
    print_table(
        ["kind", "true pairs", "matched"],
        [[k, f"{t:,}", f"{m:,}"] for k, (t, m) in v.by_kind.items()],
        left=1,
    )
    if v.wrong_auto:
        print("wrong matches (first 5): " + "; ".join(f"{k} -> {r}" for k, r in v.wrong_auto[:5]))
    if base:
        right = sum(1 for _ in base["pairs"])
        print(
            f"raw baseline (plain Python hash + sort-merge, same CSV and payouts, nothing written): "
            f"load {base['load']:.2f} s, match {base['match']:.2f} s, total {base['total']:.2f} s, "
            f"{right:,} pairs"
        )
        print(
            f"ratio end to end / baseline total: {f['total'] / base['total']:.1f}x; "
            f"matching core / baseline match: {f['core'] / base['match']:.1f}x"
        )
    met = (
        f["total"] <= TARGET_SECONDS
        and gib <= TARGET_GIB
        and not v.wrong_auto
        and v.recall >= TARGET_RECALL
    )
    print(
        f"targets (<= {TARGET_SECONDS:.0f} s, <= {TARGET_GIB:.0f} GiB, no wrong match, recall >= "
        f"{TARGET_RECALL}): {'met' if met else 'NOT met'}"
    )
    return met


def run(args: argparse.Namespace) -> int:
    open_database(
        args.database_url, "bench.reconciliation", recreate=args.recreate, quiet_static=True
    )
    facts = server_facts(args.database_url)
    print("server: " + ", ".join(f"{k} {v}" for k, v in facts.items()))
    sizes = [args.n, 2 * args.n] if args.double else [args.n]
    results = []
    with tempfile.TemporaryDirectory(prefix="reconbench-") as folder:
        for n in sizes:
            results.append(measure(n, args, Path(folder)))
            report(results[-1])
    met = all(
        r["figures"]["total"] <= TARGET_SECONDS * (r["n"] / args.n) for r in results[:1]
    ) and not any(r["verdict"].wrong_auto for r in results)
    if len(results) == 2:
        ratio = results[1]["figures"]["total"] / results[0]["figures"]["total"]
        print(f"\ndoubling n costs {ratio:.2f}x end to end (target <= {TARGET_DOUBLING})")
        met = met and ratio <= TARGET_DOUBLING
    return 0 if met else 2


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.reconciliation",
        description="Bank statement import and matching: n lines against n open items.",
    )
    parser.add_argument("--n", type=int, default=1_000_000, help="statement lines (and payouts)")
    parser.add_argument("--double", action="store_true", help="then run 2n too and give the ratio")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--scattered-ids",
        action="store_true",
        help="number payouts and bank ids in the order the world is made, not in time order",
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--keep-files", action="store_true", help="keep the generated CSV files")
    add_database_arguments(parser, DEFAULT_DATABASE_URL)
    args = parser.parse_args(argv)
    if args.n < 10_000:
        parser.error("--n must be at least 10000 (the mix needs that many lines)")
    check_database_url(parser, args.database_url, what="loads millions of rows")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return run(parse_args(sys.argv[1:] if argv is None else argv))
