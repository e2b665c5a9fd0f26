"""manage.py fold_refund_months [--recent N]: the periodic fold, by hand."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from refunds.services.refund_months import fold_refund_months


class Command(BaseCommand):
    help = "Add up RefundDay's rows of the days before today into RefundMonth (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--recent", type=int, default=None, help="only the N last months (default: all)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        months = fold_refund_months(recent=options["recent"])
        seconds = time.perf_counter() - started
        self.stdout.write(f"folded {len(months)} month(s) in {seconds:.1f} s")
