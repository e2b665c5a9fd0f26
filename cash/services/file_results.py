"""What importing one file did, for bank statements (cash.services.imports)
and payout reports (cash.services.payout_reports) alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

Outcome = TypeVar("Outcome")


@dataclass
class FileResult(Generic[Outcome]):
    """The file's format and hash, whether it was imported before (then nothing
    was added), and one outcome per statement or payout in it."""

    format: str
    file_sha256: str
    already_imported: bool = False
    outcomes: list[Outcome] = field(default_factory=list)

    def total(self, count: str) -> int:
        """The sum of the outcomes' `count` (new_lines, known_rows, ...)."""
        return sum(getattr(outcome, count) for outcome in self.outcomes)
