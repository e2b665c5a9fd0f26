"""`manage.py import_bank_statement FILE [--format F] [--account A] [--mapping M]`"""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from cash.management.file_import import FileImportCommand, mapping_named
from cash.models import CsvMapping
from cash.services.imports import ImportResult, find_account, import_statement_file
from cash.statements import FORMATS


class Command(FileImportCommand):
    help = (
        "Import a bank statement file (CAMT.053, OFX, MT940 or CSV with a saved mapping). "
        "The format is read from the content and the account from the IBAN or number in the "
        "file; --format and --account override them. Prints how many lines were new and how "
        "many were already imported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--format", choices=FORMATS, help="instead of detecting it")
        parser.add_argument("--account", help="bank account name, IBAN or account number")
        parser.add_argument("--mapping", help="CSV mapping name (default: the account's)")

    def import_file(self, data: bytes, file_name: str, options: dict[str, Any]) -> ImportResult:
        account = None
        if options["account"]:
            account = find_account(options["account"])
            if account is None:
                raise CommandError(f"--account: no bank account {options['account']!r}")
        return import_statement_file(
            data=data,
            file_name=file_name,
            fmt=options["format"],
            account=account,
            mapping=mapping_named(CsvMapping, options["mapping"], "CSV mapping"),
        )

    def report(self, result: ImportResult) -> None:
        for outcome in result.outcomes:
            notes = []
            if outcome.statement is None:
                notes.append("the same statement was imported before from another file")
            if outcome.changed_lines:
                notes.append(
                    f"{outcome.changed_lines} already imported lines differ in this file "
                    "(kept as first imported)"
                )
            if outcome.key_conflicts:
                notes.append(f"{outcome.key_conflicts} lines share an id in the file (all kept)")
            tail = f" ({'; '.join(notes)})" if notes else ""
            self.stdout.write(
                f"{outcome.where} -> {outcome.account.name}: {outcome.new_lines} new, "
                f"{outcome.known_lines} already imported{tail}"
            )
        self.stdout.write(
            f"{result.format}: {result.new_lines} new lines, {result.known_lines} already imported"
        )
