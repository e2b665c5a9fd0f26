"""`manage.py import_bank_statement FILE [--format F] [--account A] [--mapping M]`"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cash.models import CsvMapping
from cash.services.imports import find_account, import_statement_file
from cash.statements import FORMATS
from lib.errors import DomainError


class Command(BaseCommand):
    help = (
        "Import a bank statement file (CAMT.053, OFX, MT940 or CSV with a saved mapping). "
        "The format is read from the content and the account from the IBAN or number in the "
        "file; --format and --account override them. Prints how many lines were new and how "
        "many were already imported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=FORMATS, help="instead of detecting it")
        parser.add_argument("--account", help="bank account name, IBAN or account number")
        parser.add_argument("--mapping", help="CSV mapping name (default: the account's)")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror}") from None
        account = None
        if options["account"]:
            account = find_account(options["account"])
            if account is None:
                raise CommandError(f"--account: no bank account {options['account']!r}")
        mapping = None
        if options["mapping"]:
            mapping = CsvMapping.objects.filter(name=options["mapping"]).first()
            if mapping is None:
                raise CommandError(f"--mapping: no CSV mapping {options['mapping']!r}")
        try:
            result = import_statement_file(
                data=data,
                file_name=path.name,
                fmt=options["format"],
                account=account,
                mapping=mapping,
            )
        except DomainError as error:
            raise CommandError(f"{path.name}: {error.message}") from None
        if result.already_imported:
            self.stdout.write(f"{path.name}: this file was imported before; nothing added.")
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
