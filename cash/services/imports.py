"""Importing a bank statement file: parse, check, then load with COPY.

`import_statement_file` is what the management command (and later the API and
admin) call. The whole file is parsed and checked before anything is written;
a refusal names where and why and leaves nothing behind. Imports of one
account take turns (a transaction-level advisory lock), so what is found known
holds until the commit; the unique (account_id, natural_key) constraint
refuses a duplicate whatever happens.

A line already imported, from this file or an overlapping one, is known and
never added twice. A sample of the file's natural keys is looked up first:
when none is known (a new statement, nearly always), the lines go straight
into cash_bankstatementline with one COPY, under a savepoint. Otherwise, or
when that COPY meets a known line the sample missed, the keys go into a
temporary table (COPY) and are counted against the account's lines, and only
the new lines are COPYed."""

from __future__ import annotations

import gc
import hashlib
import itertools
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction

from lib.money import display_money, exponent

from ..errors import require_postgres
from ..models import BankAccount, BankStatement, CsvMapping
from ..statements import ParsedStatement, StatementFileError, detect_format, parse
from ..statements.keys import assign_keys, reference_keys
from ..triggers import LINE_FACTS
from .file_results import FileResult
from .matching import run_settings

COPY_BATCH = 20_000  # rows handed to COPY per read

# What COPY writes: the new line, unmatched, on its statement.
LINE_COLUMNS = ("statement_id", "status", "allocated_minor", *LINE_FACTS)

# The file's natural keys (with what a re-import compares), private to the
# transaction: what the known-lines count joins with.
KEY_TABLE = """
CREATE TEMP TABLE IF NOT EXISTS cash_import_key (
    natural_key varchar(200) NOT NULL,
    booking_date date NOT NULL,
    amount numeric(18, 3) NOT NULL
) ON COMMIT DROP
"""


@dataclass
class StatementOutcome:
    where: str
    account: BankAccount
    statement: BankStatement | None  # None: the same statement was imported before
    line_count: int
    new_lines: int
    known_lines: int
    changed_lines: int = 0
    key_conflicts: int = 0


@dataclass
class ImportResult(FileResult[StatementOutcome]):
    timings: dict[str, float] = field(default_factory=dict)  # seconds: parse, load

    @property
    def new_lines(self) -> int:
        return self.total("new_lines")

    @property
    def known_lines(self) -> int:
        return self.total("known_lines")


# ---------------------------------------------------------------- deciding


def find_account(identifier: str) -> BankAccount | None:
    """A bank account by its name, IBAN or account number (spaces and case ignored)."""
    wanted = "".join(identifier.split()).upper()
    for account in BankAccount.objects.filter(name=identifier):
        return account
    return (
        BankAccount.objects.filter(iban=wanted).first()
        or BankAccount.objects.filter(account_number=wanted).first()
    )


def _named_account(parsed: ParsedStatement) -> BankAccount | None:
    candidates = {x for x in (parsed.iban, parsed.account_number) if x}
    # MT940's :25: is often "bank code/account number".
    candidates |= {x.rsplit("/", 1)[-1] for x in candidates if "/" in x}
    if not candidates:
        return None
    return (
        BankAccount.objects.filter(iban__in=candidates).first()
        or BankAccount.objects.filter(account_number__in=candidates).first()
    )


def _resolve_account(parsed: ParsedStatement, override: BankAccount | None) -> BankAccount:
    named = _named_account(parsed)
    said = parsed.iban or parsed.account_number
    if override is not None:
        if named is not None and named.pk != override.pk:
            raise StatementFileError(
                f"{parsed.where}: the file is for {named.name} ({said}), not {override.name}.",
                code="other_account",
                field="account",
            )
        return override
    if named is None:
        raise StatementFileError(
            f"{parsed.where}: no bank account has the IBAN or number {said or '(none given)'}; "
            "add it in the admin or name the account.",
            code="unknown_account",
            field="account",
        )
    return named


def _check(parsed: ParsedStatement, account: BankAccount) -> None:
    if parsed.currency != account.currency:
        raise StatementFileError(
            f"{parsed.where}: the statement is in {parsed.currency}, {account.name} in "
            f"{account.currency}.",
            code="currency_mismatch",
        )
    opening, closing = parsed.opening_balance, parsed.closing_balance
    if opening is not None and closing is not None:
        total = parsed.lines_total
        if opening + total != closing:
            c = parsed.currency
            raise StatementFileError(
                f"{parsed.where}: the opening balance {display_money(opening, c)} plus "
                f"{len(parsed.lines)} lines of {display_money(total, c)} makes "
                f"{display_money(opening + total, c)}, but the closing balance is "
                f"{display_money(closing, c)} (a difference of "
                f"{display_money(closing - opening - total, c)}); the file is refused.",
                code="balances_do_not_add_up",
            )


def _mapping_for(account: BankAccount | None, mapping: CsvMapping | None) -> CsvMapping:
    if mapping is not None:
        return mapping
    if account is None:
        # Only one account reads CSV: that is the one (its mapping follows).
        accounts = list(
            BankAccount.objects.exclude(csv_mapping=None).select_related("csv_mapping")[:2]
        )
        account = accounts[0] if len(accounts) == 1 else None
    if account is not None and account.csv_mapping is not None:
        return account.csv_mapping
    raise StatementFileError(
        "a CSV file needs a column mapping: name one, or give the account a default mapping.",
        code="no_mapping",
        field="mapping",
    )


# ---------------------------------------------------------------- writing

ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
# A row's text cells are joined with a separator no cell holds (checked per
# row), escaped in one pass, and the separator then turned into COPY's tab.
SEPARATOR = "\x1f"
TEXT_ROW = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", SEPARATOR: "\t"})
NULL = "\\N"


def _text_cells(cells: tuple[str, ...]) -> str:
    """Text cells as COPY reads them, tab-separated and escaped."""
    joined = SEPARATOR.join(cells)
    if joined.count(SEPARATOR) == len(cells) - 1:
        return joined.translate(TEXT_ROW)
    return "\t".join(cell.translate(ESCAPES) for cell in cells)


def _line_rows(
    statement_id: int,
    account_id: int,
    parsed: ParsedStatement,
    keys: list[tuple[str, str, bool]],
    known: set[str],
) -> Iterator[str]:
    """The statement's new lines as COPY text rows (LINE_COLUMNS), in file order."""
    scale = exponent(parsed.currency)
    head = f"{statement_id}\tunmatched\t0\t{account_id}\t"
    for line, (key, source, conflict) in zip(parsed.lines, keys, strict=True):
        if key in known:
            continue
        value_date = line.value_date.isoformat() if line.value_date else NULL
        yield (
            f"{head}{line.booking_date.isoformat()}\t"
            f"{value_date}\t"
            f"{line.amount}\t{line.currency}\t{int(line.amount.scaleb(scale))}\t"
            + _text_cells(
                (
                    line.counterparty,
                    line.counterparty_account,
                    line.remittance,
                    line.bank_reference,
                    line.entry_reference,
                    line.end_to_end_id,
                    line.transaction_code,
                    key,
                )
            )
            + f"\t{source}\t{'t' if conflict else 'f'}\t"
            + reference_keys(line.end_to_end_id, line.remittance)
            + "\n"
        )


class _CopySource:
    """A file-like object COPY reads from, made row by row as it reads: one
    COPY statement for the whole statement, without the whole text in memory."""

    def __init__(self, rows: Iterable[str], batch: int = COPY_BATCH) -> None:
        self.rows = iter(rows)
        self.batch = batch
        self.count = 0

    def read(self, size: int = -1) -> str:
        chunk = list(itertools.islice(self.rows, self.batch))
        self.count += len(chunk)
        return "".join(chunk)


def _copy(cursor: Any, table: str, columns: Sequence[str], rows: Iterable[str]) -> int:
    raw = cursor.cursor if hasattr(cursor, "cursor") else cursor
    source = _CopySource(rows)
    with connection.wrap_database_errors:  # Django's IntegrityError, as execute() raises
        raw.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", source)
    return source.count


def _statement_says(parsed: ParsedStatement) -> dict[str, Any]:
    """What a statement says of itself, as stored: a second file bringing the same
    statement says the same."""
    return {
        "statement_ref": parsed.statement_ref[:140],
        "opening_date": parsed.opening_date,
        "closing_date": parsed.closing_date,
        "opening_balance": parsed.opening_balance,
        "closing_balance": parsed.closing_balance,
        "line_count": len(parsed.lines),
    }


def _same_statement_exists(account: BankAccount, parsed: ParsedStatement) -> bool:
    return BankStatement.objects.filter(account=account, **_statement_says(parsed)).exists()


# Keys of a file probed in the account's lines before the careful check: a
# file whose probes are all new is written straight away (see _load).
PROBES = 256


def _probably_new(cursor: Any, account: BankAccount, keys: list[tuple[str, str, bool]]) -> bool:
    """Whether none of a sample of the file's keys (its first, its last and
    PROBES spread between) is among the account's lines: one index lookup each.
    A statement without lines takes the careful way (the same empty statement
    again adds nothing)."""
    if not keys:
        return False
    step = max(1, len(keys) // PROBES)
    sample = [key for key, _, _ in keys[::step]] + [keys[-1][0]]
    cursor.execute(
        "SELECT NOT EXISTS (SELECT 1 FROM cash_bankstatementline "
        "WHERE account_id = %s AND natural_key = ANY(%s))",
        [account.pk, sample],
    )
    return bool(cursor.fetchone()[0])


def _known_lines(
    cursor: Any, account: BankAccount, parsed: ParsedStatement, keys: list[tuple[str, str, bool]]
) -> tuple[int, int]:
    """How many of the file's lines the account has (and of those, how many
    with another amount or date): the keys COPYed to a temporary table and
    joined with the account's lines."""
    cursor.execute(KEY_TABLE)
    cursor.execute("TRUNCATE cash_import_key")
    _copy(
        cursor,
        "cash_import_key",
        ("natural_key", "booking_date", "amount"),
        (
            f"{key.translate(ESCAPES)}\t{line.booking_date.isoformat()}\t{line.amount}\n"
            for line, (key, _, _) in zip(parsed.lines, keys, strict=True)
        ),
    )
    cursor.execute("ANALYZE cash_import_key")
    cursor.execute(
        "SELECT count(*), count(*) FILTER (WHERE l.amount <> k.amount "
        "OR l.booking_date <> k.booking_date) "
        "FROM cash_import_key k JOIN cash_bankstatementline l "
        "ON l.account_id = %s AND l.natural_key = k.natural_key",
        [account.pk],
    )
    known, changed = cursor.fetchone()
    return int(known), int(changed)


def _load(
    *,
    parsed: ParsedStatement,
    account: BankAccount,
    position: int,
    fmt: str,
    sha256: str,
    file_name: str,
    mapping: CsvMapping | None,
    user: Any,
) -> StatementOutcome:
    count = len(parsed.lines)
    keys = assign_keys(str(account.pk), parsed.lines)
    outcome = StatementOutcome(
        where=parsed.where,
        account=account,
        statement=None,
        line_count=count,
        new_lines=0,
        known_lines=0,
        key_conflicts=sum(1 for _, _, conflict in keys if conflict),
    )

    def write(known_keys: set[str]) -> StatementOutcome:
        """The statement, and its new lines straight into the table in one
        COPY: no staging copy of the whole file, no per-row conflict check
        (the known ones are left out, under the lock); the unique (account,
        natural key) constraint still refuses a duplicate."""
        new = count - len(known_keys)
        statement = BankStatement.objects.create(
            account=account,
            format=fmt,
            csv_mapping=mapping if fmt == "csv" else None,
            file_name=file_name[:255],
            file_sha256=sha256,
            position=position,
            currency=parsed.currency,
            lines_total=parsed.lines_total,
            **_statement_says(parsed),
            new_lines=new,
            known_lines=count - new,
            key_conflicts=outcome.key_conflicts,
            imported_by=user if getattr(user, "pk", None) else None,
        )
        with connection.cursor() as cursor:
            _copy(
                cursor,
                "cash_bankstatementline",
                LINE_COLUMNS,
                _line_rows(statement.pk, account.pk, parsed, keys, known_keys),
            )
        outcome.statement, outcome.new_lines, outcome.known_lines = statement, new, count - new
        return outcome

    with connection.cursor() as cursor:
        run_settings(cursor)  # work_mem for the known-lines join, no JIT, asynchronous commit
        # One import per account at a time: what is found known below stays
        # true until this transaction commits.
        _lock_imports(cursor, [account.pk])
        if _probably_new(cursor, account, keys):
            # Nearly always a new statement: written at once. Should a line be
            # known after all (the sample missed it), the unique constraint
            # refuses the COPY, its savepoint undoes it, and the careful way
            # below counts and leaves out what is known.
            try:
                with transaction.atomic():
                    return write(set())
            except IntegrityError:
                outcome.statement = None
        known, outcome.changed_lines = _known_lines(cursor, account, parsed, keys)
        outcome.known_lines = known
        if known == count and _same_statement_exists(account, parsed):
            return outcome  # the same statement again, in another file: nothing to add
        known_keys: set[str] = set()
        if known:
            cursor.execute(
                "SELECT k.natural_key FROM cash_import_key k JOIN cash_bankstatementline l "
                "ON l.account_id = %s AND l.natural_key = k.natural_key",
                [account.pk],
            )
            known_keys = {row[0] for row in cursor.fetchall()}
    return write(known_keys)


def import_statement_file(
    *,
    data: bytes,
    file_name: str = "",
    fmt: str | None = None,
    account: BankAccount | None = None,
    mapping: CsvMapping | None = None,
    user: Any = None,
) -> ImportResult:
    """Import every statement in a file, or refuse the file whole.

    `fmt` overrides the detected format, `account` the account the file names
    (refused if the file names another known account), `mapping` the account's
    CSV mapping.
    """
    require_postgres()
    sha256 = hashlib.sha256(data).hexdigest()
    earlier = list(BankStatement.objects.filter(file_sha256=sha256).select_related("account"))
    if earlier:
        result = ImportResult(format=earlier[0].format, file_sha256=sha256, already_imported=True)
        result.outcomes = [
            StatementOutcome(
                where=f"statement {s.position}",
                account=s.account,
                statement=s,
                line_count=s.line_count,
                new_lines=0,
                known_lines=s.line_count,
            )
            for s in earlier
        ]
        return result
    fmt = fmt or detect_format(data)
    csv_mapping = _mapping_for(account, mapping) if fmt == "csv" else None
    if fmt == "csv" and account is None:
        users = list(BankAccount.objects.filter(csv_mapping=csv_mapping)[:2])
        if len(users) != 1:
            raise StatementFileError(
                "a CSV file does not say which account it is for: name the account.",
                code="unknown_account",
                field="account",
            )
        account = users[0]
    with _gc_paused():
        return _import(
            data=data,
            file_name=file_name,
            fmt=fmt,
            account=account,
            csv_mapping=csv_mapping,
            sha256=sha256,
            user=user,
        )


def _lock_imports(cursor: Any, account_ids: Sequence[int]) -> None:
    """One import per account at a time (a transaction-level advisory lock;
    taking it again in the same transaction is free)."""
    for account_id in account_ids:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"cash.import:{account_id}"]
        )


@contextmanager
def _gc_paused() -> Iterator[None]:
    """A million parsed lines are a million objects: Python's cycle collector
    walks them all again and again while they are made, though none forms a
    cycle (a quarter of the parse time of a million-line CSV, measured)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _import(
    *,
    data: bytes,
    file_name: str,
    fmt: str,
    account: BankAccount | None,
    csv_mapping: CsvMapping | None,
    sha256: str,
    user: Any,
) -> ImportResult:
    started = time.perf_counter()
    parsed_statements = parse(
        data, fmt, mapping=csv_mapping, currency=account.currency if account else ""
    )
    accounts = [_resolve_account(parsed, account) for parsed in parsed_statements]
    for parsed, target in zip(parsed_statements, accounts, strict=True):
        _check(parsed, target)
    result = ImportResult(format=fmt, file_sha256=sha256)
    result.timings["parse"] = time.perf_counter() - started
    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Every account of the file at once, in id order: two files naming
            # the same accounts in opposite order cannot deadlock.
            _lock_imports(cursor, sorted({a.pk for a in accounts}))
        for position, (parsed, target) in enumerate(
            zip(parsed_statements, accounts, strict=True), start=1
        ):
            result.outcomes.append(
                _load(
                    parsed=parsed,
                    account=target,
                    position=position,
                    fmt=fmt,
                    sha256=sha256,
                    file_name=file_name,
                    mapping=csv_mapping,
                    user=user,
                )
            )
    result.timings["load"] = time.perf_counter() - started
    return result
