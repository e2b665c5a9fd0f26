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
from .payout_reports import (
    AmountSource,
    ExceptionReason,
    ExceptionStatus,
    MatchStatus,
    PayoutException,
    PayoutFormat,
    PayoutMapping,
    PayoutProvider,
    PayoutReport,
    PayoutReportRow,
    RowType,
    UnknownTypes,
)
from .receivables import (
    Receivable,
    ReceivableAllocation,
    ReceivableKind,
    ReceivableStatus,
    ReceivableTag,
)
from .reconciliation import (
    PeriodReopening,
    ReconciliationPeriod,
    WriteOffRequest,
    WriteOffStatus,
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
    "AmountSource",
    "BankAccount",
    "BankStatement",
    "BankStatementLine",
    "CsvMapping",
    "ExceptionReason",
    "ExceptionStatus",
    "KeySource",
    "LineStatus",
    "MatchMethod",
    "MatchStatus",
    "OpenItem",
    "PayoutException",
    "PayoutFormat",
    "PayoutMapping",
    "PayoutProvider",
    "PayoutReport",
    "PayoutReportRow",
    "PeriodReopening",
    "Receivable",
    "ReceivableAllocation",
    "ReceivableKind",
    "ReceivableStatus",
    "ReceivableTag",
    "ReconciliationPeriod",
    "ReconciliationRun",
    "RowType",
    "StatementFormat",
    "Suggestion",
    "SuggestionItem",
    "SuggestionStatus",
    "UnknownTypes",
    "WriteOffRequest",
    "WriteOffStatus",
]
