"""What the cash side's import commands share: the file named on the command
line read, a saved mapping found by name, the service's refusal as the
command's error, and a file imported before said so."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Model

from lib.errors import DomainError


class FileImportCommand(BaseCommand):
    """`manage.py <command> FILE ...`: `import_file` imports the bytes (its
    result has `already_imported`), `report` prints the result."""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def import_file(self, data: bytes, file_name: str, options: dict[str, Any]) -> Any:
        raise NotImplementedError

    def report(self, result: Any) -> None:
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror}") from None
        try:
            result = self.import_file(data, path.name, options)
        except DomainError as error:
            raise CommandError(f"{path.name}: {error.message}") from None
        if result.already_imported:
            self.stdout.write(f"{path.name}: this file was imported before; nothing added.")
        self.report(result)


def mapping_named(model: type[Model], name: str | None, what: str) -> Any:
    """The saved mapping `--mapping` names (None when it names none)."""
    if not name:
        return None
    mapping = model._default_manager.filter(name=name).first()
    if mapping is None:
        raise CommandError(f"--mapping: no {what} {name!r}")
    return mapping
