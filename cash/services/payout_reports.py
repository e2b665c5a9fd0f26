"""Importing a provider's payout report, and resolving its exceptions.

`import_payout_report` is what the management command, the API and the admin
call. The file is read and checked whole before anything is written (a bad
row refuses it with its row number and why); then, in one transaction under
the provider's row lock (two imports of one provider take turns):

1. payouts already imported (same provider and payout id) are skipped, their
   rows counted as already imported; a file that brings a known payout with
   rows it did not have, or a row (natural key) another payout already has, is
   refused: a payout is imported once, whole;
2. each new payout's rows are matched (cash.services.payout_matching);
3. the report, its rows and its exceptions are written, and its journal is
   posted (cash.services.payout_posting) under the report's posting key, so it
   posts exactly once.

A file imported before (same bytes, same provider) adds nothing and is not
read again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from ledger.posting import PostedBy, post_one
from lib.errors import DomainError
from lib.parsing import parse_currency, parse_text

from ..models import (
    ExceptionStatus,
    MatchStatus,
    PayoutException,
    PayoutFormat,
    PayoutMapping,
    PayoutProvider,
    PayoutReport,
    PayoutReportRow,
)
from ..payout_files import (
    ParsedPayout,
    PayoutFileError,
    detect_format,
    mapping_for,
    read_payout_file,
)
from .file_results import FileResult
from .payout_matching import RowMatch, match_rows
from .payout_posting import bank_ledger_account, payout_legs, payout_report_journal


class PayoutReportError(DomainError):
    """A refusal about payout reports that is not about the file's content."""


@dataclass
class PayoutOutcome:
    payout_id: str
    report: PayoutReport
    new: bool  # False: imported before (from this file or another)
    row_count: int
    exceptions: int

    @property
    def new_rows(self) -> int:
        return self.row_count if self.new else 0

    @property
    def known_rows(self) -> int:
        return 0 if self.new else self.row_count


@dataclass
class PayoutImportResult(FileResult[PayoutOutcome]):
    @property
    def new_rows(self) -> int:
        return self.total("new_rows")

    @property
    def known_rows(self) -> int:
        return self.total("known_rows")

    @property
    def exceptions(self) -> int:
        return sum(o.exceptions for o in self.outcomes if o.new)


# ---------------------------------------------------------------- deciding


def _format(data: bytes, provider: PayoutProvider, fmt: str, mapping: PayoutMapping | None) -> str:
    if fmt:
        if fmt not in PayoutFormat.values:
            raise PayoutFileError(
                f"unknown format {fmt!r}; one of {', '.join(PayoutFormat.values)}.",
                field="format",
            )
        return fmt
    if mapping is not None:
        return PayoutFormat.CUSTOM
    detected = detect_format(data)
    if detected:
        return detected
    if provider.format:
        return provider.format
    if provider.mapping_id is not None:
        return PayoutFormat.CUSTOM
    raise PayoutFileError(
        "the header is neither Stripe's nor the marketplace format: name the format, or a "
        "saved mapping.",
        code="unknown_format",
        field="format",
    )


def _known_rows(provider: PayoutProvider, payouts: list[ParsedPayout]) -> dict[str, str]:
    """natural key -> payout id, for the file's keys already stored for the provider."""
    keys = [row.natural_key for payout in payouts for row in payout.rows]
    found: dict[str, str] = {}
    for start in range(0, len(keys), 5000):
        found.update(
            PayoutReportRow.objects.filter(
                provider=provider, natural_key__in=keys[start : start + 5000]
            ).values_list("natural_key", "payout_id")
        )
    return found


def _check_known(payout: ParsedPayout, stored: PayoutReport, known: dict[str, str]) -> None:
    for row in payout.rows:
        if known.get(row.natural_key) != payout.payout_id:
            raise PayoutFileError(
                f"{row.where}: payout {payout.payout_id} was imported before (report "
                f"{stored.pk}, {stored.row_count} rows, from {stored.file_name or 'a file'}) "
                "without this row; a payout is imported once, whole.",
                code="payout_differs",
            )


def _check_new(payout: ParsedPayout, known: dict[str, str]) -> None:
    for row in payout.rows:
        other = known.get(row.natural_key)
        if other is not None:
            raise PayoutFileError(
                f"{row.where}: this row ({row.natural_key}) was imported before with payout "
                f"{other}; here it is in payout {payout.payout_id}.",
                code="row_in_other_payout",
            )


# ---------------------------------------------------------------- writing


def _write(
    *,
    provider: PayoutProvider,
    payout: ParsedPayout,
    matches: list[RowMatch],
    position: int,
    fmt: str,
    mapping: PayoutMapping | None,
    sha256: str,
    file_name: str,
    user: Any,
) -> PayoutReport:
    start, end = payout.period
    exceptions = [m for m in matches if m.status == MatchStatus.EXCEPTION]
    report = PayoutReport.objects.create(
        provider=provider,
        format=fmt,
        mapping=mapping if fmt == PayoutFormat.CUSTOM else None,
        file_name=file_name[:255],
        file_sha256=sha256,
        position=position,
        payout_id=payout.payout_id,
        currency=payout.currency,
        payout_amount=payout.amount,
        amount_source=payout.amount_source,
        arrival_date=payout.arrival_date,
        period_start=start,
        period_end=end,
        rows_net=payout.rows_net,
        row_count=len(payout.rows),
        exception_count=len(exceptions),
        bank_ledger_account_id=bank_ledger_account(provider, payout.currency),
        imported_by=user if getattr(user, "pk", None) else None,
    )
    rows = PayoutReportRow.objects.bulk_create(
        [
            PayoutReportRow(
                provider=provider,
                report=report,
                row_number=row.row_number,
                type=row.type,
                provider_type=row.provider_type,
                transaction_date=row.transaction_date or payout.arrival_date,
                available_on=row.available_on,
                currency=row.currency,
                gross=row.gross,
                fee=row.fee,
                fee_tax=row.fee_tax,
                net=row.net,
                gateway_reference=row.gateway_reference,
                charge_reference=row.charge_reference,
                order_number=row.order_number,
                line_reference=row.line_reference,
                payout_id=row.payout_id,
                description=row.description,
                natural_key=row.natural_key,
                match_status=match.status,
                payment_id=match.payment_id,
                order_id=match.order_id,
                refund_case_id=match.case_id,
            )
            for row, match in zip(payout.rows, matches, strict=True)
        ],
        batch_size=1000,
    )
    PayoutException.objects.bulk_create(
        [
            PayoutException(row=row, reason=match.reason, detail=match.detail)
            for row, match in zip(rows, matches, strict=True)
            if match.status == MatchStatus.EXCEPTION
        ],
        batch_size=1000,
    )
    draft = payout_report_journal(report, payout_legs(payout.rows))
    if draft is not None:
        # Who imported the report posts its journal.
        journal = post_one(
            draft,
            posted_by=PostedBy.user(user if getattr(user, "pk", None) else None, "payout-report"),
        )
        if journal is not None:
            PayoutReport.objects.filter(pk=report.pk, journal=None).update(
                journal=journal, journal_date=journal.date
            )
            report.journal, report.journal_date = journal, journal.date
    return report


def import_payout_report(
    *,
    data: bytes,
    provider: PayoutProvider,
    file_name: str = "",
    fmt: str = "",
    mapping: PayoutMapping | None = None,
    currency: str = "",
    payout_amount: Decimal | str | None = None,
    user: Any = None,
) -> PayoutImportResult:
    """Import every payout of a provider's report file, or refuse the file whole.

    `fmt` overrides the format read from the header (`custom` with `mapping`,
    else the provider's mapping); `currency` is the rows' currency when the
    file has no currency column (default: the provider's bank account's);
    `payout_amount`, for a file of one payout, is checked against its rows.
    """
    sha256 = hashlib.sha256(data).hexdigest()
    earlier = list(
        PayoutReport.objects.filter(provider=provider, file_sha256=sha256).order_by("position")
    )
    if earlier:
        return PayoutImportResult(
            format=earlier[0].format,
            file_sha256=sha256,
            already_imported=True,
            outcomes=[
                PayoutOutcome(r.payout_id, r, False, r.row_count, r.exception_count)
                for r in earlier
            ],
        )
    fmt = _format(data, provider, fmt, mapping)
    column_mapping = mapping_for(fmt, mapping or provider.mapping)
    if currency:
        currency = parse_currency(currency, "currency")
    elif provider.bank_account_id is not None:
        assert provider.bank_account is not None
        currency = provider.bank_account.currency
    given = None
    if payout_amount is not None and payout_amount != "":
        given = _signed_amount(payout_amount)
    payouts = read_payout_file(data, column_mapping, currency=currency, given_amount=given)
    result = PayoutImportResult(format=fmt, file_sha256=sha256)
    with transaction.atomic():
        PayoutProvider.objects.select_for_update().filter(pk=provider.pk).first()
        stored = {
            r.payout_id: r
            for r in PayoutReport.objects.filter(
                provider=provider, payout_id__in=[p.payout_id for p in payouts]
            )
        }
        known = _known_rows(provider, payouts)
        for payout in payouts:
            if payout.payout_id in stored:
                _check_known(payout, stored[payout.payout_id], known)
            else:
                _check_new(payout, known)
        fresh = [p for p in payouts if p.payout_id not in stored]
        matches = match_rows(provider, [row for p in fresh for row in p.rows])
        offset = 0
        for position, payout in enumerate(payouts, start=1):
            if payout.payout_id in stored:
                report = stored[payout.payout_id]
                result.outcomes.append(
                    PayoutOutcome(payout.payout_id, report, False, len(payout.rows), 0)
                )
                continue
            own = matches[offset : offset + len(payout.rows)]
            offset += len(payout.rows)
            report = _write(
                provider=provider,
                payout=payout,
                matches=own,
                position=position,
                fmt=fmt,
                mapping=mapping or provider.mapping,
                sha256=sha256,
                file_name=file_name,
                user=user,
            )
            result.outcomes.append(
                PayoutOutcome(
                    payout.payout_id, report, True, len(payout.rows), report.exception_count
                )
            )
    return result


def _signed_amount(value: Decimal | str) -> Decimal:
    """A payout amount as given: a decimal, negative when the provider debited
    the bank (its minor units are checked against the payout's currency)."""
    text = str(value).strip()
    try:
        if isinstance(value, float) or not text.isascii() or "_" in text:
            raise InvalidOperation
        amount = Decimal(text)
    except InvalidOperation:
        raise PayoutReportError(
            "payout_amount", f"{value!r} is not an amount, e.g. 1234.56 or -12.00."
        ) from None
    if not amount.is_finite() or abs(amount) >= Decimal("1e15"):
        raise PayoutReportError("payout_amount", f"{value!r} is not an amount we can store.")
    return amount


# ---------------------------------------------------------------- exceptions


def resolve_payout_exception(
    *, exception: PayoutException | int, note: str, user: Any
) -> PayoutException:
    """Staff explain an exception: resolved once, by someone, with a note."""
    text = parse_text(note, "note", required=True, max_length=2000)
    pk = exception.pk if isinstance(exception, PayoutException) else exception
    with transaction.atomic():
        locked = PayoutException.objects.select_for_update().filter(pk=pk).first()
        if locked is None:
            raise PayoutReportError("exception", f"No payout exception {pk}.", code="not_found")
        if locked.status != ExceptionStatus.OPEN:
            assert locked.resolved_at is not None
            at = timezone.localtime(locked.resolved_at)
            raise PayoutReportError(
                "exception",
                f"Exception {pk} was resolved at {at:%Y-%m-%d %H:%M} by {locked.resolved_by}.",
                code="invalid_transition",
            )
        locked.status = ExceptionStatus.RESOLVED
        locked.note = text
        locked.resolved_at = timezone.now()
        locked.resolved_by = user
        locked.save(update_fields=["status", "note", "resolved_at", "resolved_by"])
    return locked
