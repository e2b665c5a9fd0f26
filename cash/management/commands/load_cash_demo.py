"""`manage.py load_cash_demo`: the demo's payout reports and bank statements,
imported and reconciled (see cash.demo)."""

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from lib.cli import iso_date

from ... import demo


class Command(BaseCommand):
    help = (
        "After load_demo (and generate_statements): write a month of Stripe payout reports "
        "and CAMT.053 bank statements from the demo's ledger, import them through the "
        "import services and reconcile, leaving a few deliberate exceptions."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same ids.")
        parser.add_argument(
            "--today", type=iso_date, help="As if loaded on this day (YYYY-MM-DD; default today)."
        )
        parser.add_argument(
            "--dir",
            type=Path,
            help="Where to write the files (default MEDIA_ROOT/demo_files).",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Load only when no bank statement or payout report exists; otherwise "
            "say so (and name the showcase case) and change nothing.",
        )

        parser.add_argument(
            "--showcase-only",
            action="store_true",
            help="Load nothing; name the demo case traced to the bank without a gap, if any.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["showcase_only"]:
            self._showcase(demo.showcase_case())
            return
        if demo.already_loaded():
            if not options["if_empty"]:
                raise CommandError(
                    "The database already has bank statements or payout reports: "
                    "start from a new database."
                )
            self.stdout.write("The cash demo is already loaded: nothing imported.")
            self._showcase(demo.showcase_case())
            return
        try:
            summary = demo.load_cash_demo(
                today=options["today"], seed=options["seed"], directory=options["dir"]
            )
        except demo.CashDemoError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Cash demo {summary.start} to {summary.end} in {summary.seconds:.1f} s: "
                f"{summary.provider_payouts} Stripe payouts, {summary.vendor_payouts} vendor "
                f"payouts, {summary.bank_lines} bank lines ({summary.matched_lines} matched "
                f"by {summary.engine})."
            )
        )
        self.stdout.write(f"Files (re-import them as they are): {summary.directory}")
        for exception in summary.exceptions:
            self.stdout.write(f"  deliberate exception: {exception}")
        self._showcase(summary.showcase)

    def _showcase(self, case: Any) -> None:
        if case is None:
            self.stdout.write("No demo case is traced to the bank without a gap.")
            return
        base = getattr(settings, "PORTAL_BASE_URL", "").rstrip("/")
        self.stdout.write(
            self.style.SUCCESS(
                f"Showcase case {case.case_id}, traced to the bank: {base}{demo.trace_path(case)}"
            )
        )
