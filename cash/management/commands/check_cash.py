"""Check the cash side's invariants: the open provider receivables equal the
gateway clearing balance per payment method and currency. The ledger cannot
import cash (layer contract), so this runs beside `check_ledger`, not in it.
Exits non-zero on a difference."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cash.services.receivables import clearing_differences


class Command(BaseCommand):
    help = "Check that open provider receivables equal the gateway clearing balances."

    def handle(self, *args: Any, **options: Any) -> None:
        problems = clearing_differences()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} difference(s) between receivables and clearing.")
        self.stdout.write("Receivables agree with gateway clearing.")
