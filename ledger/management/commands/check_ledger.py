"""`manage.py check_ledger`: check every ledger invariant (see ledger.invariants).

Prints one line per check, and under a failed check its findings; exits with
status 1 if there are any. Runs on PostgreSQL and on SQLite (the dev database),
where the checks that need PostgreSQL are listed as skipped, with the reason.
"""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from ledger.invariants import DEFAULT_LIMIT, LEDGER_CONSUMER, run_checks
from refunds.outbox import drain


class Command(BaseCommand):
    help = (
        "Check the ledger's invariants: journals balance, balances equal their entries, and orders, "
        "refund cases, payouts and vendor payables agree with the books. Exit status 1 "
        "if anything is found."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--limit",
            type=int,
            default=DEFAULT_LIMIT,
            help=f"Findings shown per check; the rest are counted (default {DEFAULT_LIMIT}).",
        )
        parser.add_argument(
            "--drain",
            action="store_true",
            help="Post the ledger's outbox backlog first, so that the checks see no lag.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["drain"]:
            posted = drain(LEDGER_CONSUMER)
            self.stdout.write(f"Drained {posted} ledger outbox messages.")
        results = run_checks(max(1, options["limit"]))
        for check, findings in results:
            if findings is None:
                self.stdout.write(
                    self.style.WARNING(
                        f"skip {check.name}: PostgreSQL only, not run on "
                        f"{connection.vendor} ({check.skipped_here()})"
                    )
                )
                continue
            if not findings:
                self.stdout.write(self.style.SUCCESS(f"ok   {check.name}: {check.description}"))
                continue
            self.stdout.write(self.style.ERROR(f"FAIL {check.name}: {check.description}"))
            for finding in findings:
                self.stdout.write(f"     {finding.subject}: {finding.detail}")
        ran = [(check, findings) for check, findings in results if findings is not None]
        skipped = len(results) - len(ran)
        failed = [check.name for check, findings in ran if findings]
        if failed:
            raise CommandError(
                f"{len(failed)} of {len(ran)} ledger checks failed: {', '.join(failed)}.",
                returncode=1,
            )
        if skipped:
            self.stdout.write(
                self.style.SUCCESS(
                    f"All {len(ran)} ledger checks that run on {connection.vendor} passed; "
                    f"{skipped} skipped (PostgreSQL only, see above)."
                )
            )
            return
        self.stdout.write(self.style.SUCCESS(f"All {len(results)} ledger checks passed."))
