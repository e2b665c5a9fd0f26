"""The cash side: bank accounts, imported statements and their lines, the open
items they are matched with, allocations and suggestions."""

from .accounts import BankAccount, CsvMapping
from .matching import (
    Allocation,
    MatchMethod,
    OpenItem,
    ReconciliationRun,
    Suggestion,
    SuggestionItem,
    SuggestionStatus,
)
from .statements import (
    KEY_RECIPE,
    BankStatement,
    BankStatementLine,
    KeySource,
    LineStatus,
    StatementFormat,
)

__all__ = [
    "KEY_RECIPE",
    "Allocation",
    "BankAccount",
    "BankStatement",
    "BankStatementLine",
    "CsvMapping",
    "KeySource",
    "LineStatus",
    "MatchMethod",
    "OpenItem",
    "ReconciliationRun",
    "StatementFormat",
    "Suggestion",
    "SuggestionItem",
    "SuggestionStatus",
]
