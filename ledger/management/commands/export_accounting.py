"""`manage.py export_accounting --format xero|xero-invoices|quickbooks|journal --from DATE --to DATE [--output FILE]`."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ledger.exports import FORMATS, export_filename, export_lines
from lib.cli import iso_date


class Command(BaseCommand):
    help = (
        "Export the platform's credit notes or invoices (Xero CSV import templates) or the "
        "ledger's journals (QuickBooks Online journal entries, or the generic journal CSV) for "
        "a date range, both ends included. Streams, so any range fits in memory."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--format", required=True, choices=sorted(FORMATS), dest="format")
        parser.add_argument("--from", required=True, type=iso_date, dest="date_from")
        parser.add_argument("--to", required=True, type=iso_date, dest="date_to")
        parser.add_argument(
            "--output",
            help="File to write (default: standard output). Use '.' for a name like "
            "xero-2026-11-01-2026-11-30.csv in the current directory.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name, date_from, date_to = options["format"], options["date_from"], options["date_to"]
        try:
            lines = export_lines(name, date_from, date_to)
        except ValueError as error:
            raise CommandError(str(error)) from None
        output = options.get("output")
        if not output:
            for line in lines:
                self.stdout.write(line, ending="")
            return
        if output == ".":
            output = export_filename(name, date_from, date_to)
        rows = -1  # the header is not a row
        # newline="": the csv writer already ends lines with \r\n.
        with open(output, "w", encoding="utf-8", newline="") as file:
            for line in lines:
                file.write(line)
                rows += 1
        self.stderr.write(f"Wrote {rows} rows to {output}")
