"""manage.py import_exchange_rates FILE: dated rates to the reporting currency from CSV."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledger.reports import import_rates_csv, reporting_currency
from lib.errors import DomainError


class Command(BaseCommand):
    help = (
        "Import exchange rates from a CSV file with the header date,currency,rate "
        "(1 unit of currency = rate units of settings.REPORTING_CURRENCY)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args, **options) -> None:
        path: Path = options["file"]
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"{path}: {error}") from None
        try:
            result = import_rates_csv(text)
        except DomainError as error:
            raise CommandError(f"{path}: {error.field}: {error.message}") from None
        self.stdout.write(
            f"{path.name}: {result.created} rates added, {result.updated} updated "
            f"(to {reporting_currency()})."
        )
