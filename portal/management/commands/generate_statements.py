"""`manage.py generate_statements`: make the settlement statements that are due, now,
and tell vendors in their inbox (and by email, if they chose it)."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from lib.cli import iso_date
from lib.money import format_amount
from vendors.models import Vendor

from ...settlement_notifications import make_due_statements


class Command(BaseCommand):
    help = (
        "Make every settlement statement whose period (week or month, by the vendor's payout "
        "frequency) ended before --date (default today). Idempotent: statements already made "
        "are kept as they are. Each vendor is told of its newest statement, once."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--date", type=iso_date, help="As if run on this day (YYYY-MM-DD).")
        parser.add_argument(
            "--vendor", action="append", default=[], help="Only this vendor code (repeatable)."
        )
        parser.add_argument(
            "--all-posted",
            action="store_true",
            help="Take every entry posted until now. By default entries of the last "
            "few minutes wait for the next run, in case a transaction that posted "
            "earlier is still committing; this is for data loaded just now (the demo).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        vendor_ids = None
        if options["vendor"]:
            found = dict(
                Vendor.objects.filter(code__in=options["vendor"]).values_list("code", "id")
            )
            missing = sorted(set(options["vendor"]) - set(found))
            if missing:
                raise CommandError(f"No vendor with code {', '.join(missing)}.")
            vendor_ids = list(found.values())
        today = options["date"] or timezone.localdate()
        cutoff = timezone.now() if options["all_posted"] else None
        result, notified = make_due_statements(today, vendor_ids=vendor_ids, cutoff=cutoff)
        for statement in result.statements:
            self.stdout.write(
                f"{statement.vendor.code} {statement.currency} "
                f"{statement.period_start}–{statement.period_end}: closing {format_amount(statement.closing, statement.currency)}"
            )
        self.stdout.write(
            f"{len(result.statements)} statements made (periods ended before {today}); "
            f"{len(notified)} vendors notified."
        )
        for vendor_id, currency, error in result.failures:
            self.stderr.write(f"vendor {vendor_id} {currency}: {error}")
        if result.failures:
            raise CommandError(f"{len(result.failures)} vendor/currency pairs failed; see above.")
