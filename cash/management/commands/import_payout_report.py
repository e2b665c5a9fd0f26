"""`manage.py import_payout_report FILE [--provider P] [--format F] [--mapping M]`"""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from cash.management.file_import import FileImportCommand, mapping_named
from cash.models import PayoutMapping, PayoutProvider
from cash.payout_files import FORMATS
from cash.services.payout_reports import PayoutImportResult, import_payout_report
from lib.money import display_money


def find_provider(name: str | None) -> PayoutProvider:
    if name:
        provider = (
            PayoutProvider.objects.filter(code=name).first()
            or PayoutProvider.objects.filter(name__iexact=name).first()
        )
        if provider is None:
            raise CommandError(f"--provider: no payout provider {name!r}")
        return provider
    providers = list(PayoutProvider.objects.all()[:2])
    if len(providers) != 1:
        raise CommandError("--provider: name the provider whose payouts the file reports")
    return providers[0]


class Command(FileImportCommand):
    help = (
        "Import a payment provider's payout report (Stripe's itemized payout reconciliation "
        "CSV, a marketplace per-line payout CSV, or a CSV with a saved mapping): rows matched "
        "to payments and refund cases, each payout posted once. The format is read from the "
        "header; --format overrides it. Prints how many rows were new and how many were "
        "already imported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--provider", help="provider code or name (default: the only one)")
        parser.add_argument("--format", choices=FORMATS, help="instead of reading the header")
        parser.add_argument("--mapping", help="saved mapping name (format custom)")
        parser.add_argument("--currency", help="the rows' currency, if the file has no column")
        parser.add_argument(
            "--payout-amount", help="the payout's amount, checked against its rows (one payout)"
        )

    def import_file(
        self, data: bytes, file_name: str, options: dict[str, Any]
    ) -> PayoutImportResult:
        self.provider = find_provider(options["provider"])
        return import_payout_report(
            data=data,
            provider=self.provider,
            file_name=file_name,
            fmt=options["format"] or "",
            mapping=mapping_named(PayoutMapping, options["mapping"], "saved payout mapping"),
            currency=options["currency"] or "",
            payout_amount=options["payout_amount"],
        )

    def report(self, result: PayoutImportResult) -> None:
        for outcome in result.outcomes:
            report = outcome.report
            if outcome.new:
                amount = display_money(report.payout_amount, report.currency)
                self.stdout.write(
                    f"payout {outcome.payout_id} ({amount} on {report.arrival_date}): "
                    f"{outcome.new_rows} new rows, {outcome.exceptions} exceptions "
                    f"(report {report.pk})"
                )
            else:
                self.stdout.write(
                    f"payout {outcome.payout_id}: {outcome.known_rows} rows already imported "
                    f"(report {report.pk})"
                )
        self.stdout.write(
            f"{self.provider.name}, {result.format}: {result.new_rows} new rows, "
            f"{result.known_rows} already imported, {result.exceptions} exceptions to resolve"
        )
