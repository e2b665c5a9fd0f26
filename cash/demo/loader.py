"""The cash side of the demo: the files (see the package docstring), imported
through the services the commands use, then reconciled."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from time import monotonic

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from ledger.models import Account, Journal, JournalKind, Payout, SettlementStatement
from ledger.posting import PostedBy, record_payout
from ledger.settlements.compute import generate_due_statements, period_containing
from lib.errors import DomainError
from refunds.models import Payment, PaymentMethod, RefundCase, VendorLiability
from vendors.models import Vendor

from ..models import (
    BankAccount,
    BankStatement,
    BankStatementLine,
    LineStatus,
    MatchMethod,
    OpenItem,
    PayoutProvider,
    PayoutReport,
)
from ..services.imports import import_statement_file
from ..services.payout_reports import import_payout_report
from ..services.periods import month_end, month_start, run_period
from ..services.trace import case_trace
from .files import (
    BankEntry,
    BankStatementFile,
    StripePayout,
    StripeTxn,
    camt053,
    stripe_payout_csv,
)

CURRENCY = "EUR"
CENT = Decimal("0.01")
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

BANK_NAME = "Splitledger EUR main account"
BANK = "Spreebank Berlin"
IBAN = "DE89370400440532013000"
BIC = "SPREDEBBXXX"
OWNER = "Splitledger GmbH"
STRIPE = ("stripe", "Stripe", "Stripe Technology Europe Ltd", "IE29AIBK93115212345678")
# The deliberate exceptions (README, "Demo data: the cash side").
BANK_FEE = Decimal("-12.90")
TRANSFER_CHARGE = Decimal("3.50")
ADVANCE = Decimal("250.00")
DASHBOARD_REFUND = Decimal("-24.90")
EXTRA_MONTHS = 3  # months before the last complete one the window may reach back for a showcase
TRACE_PATH = "/admin/cash/reconciliationperiod/trace/{pk}/"


class CashDemoError(DomainError):
    pass


@dataclass
class CashDemoSummary:
    directory: Path
    start: date
    end: date  # the last day covered
    files: list[Path] = field(default_factory=list)
    provider_payouts: int = 0
    vendor_payouts: int = 0
    bank_lines: int = 0
    matched_lines: int = 0
    engine: str = ""
    showcase: RefundCase | None = None
    exceptions: list[str] = field(default_factory=list)
    seconds: float = 0.0


def trace_path(case: RefundCase) -> str:
    return TRACE_PATH.format(pk=case.pk)


def default_directory() -> Path:
    return Path(settings.MEDIA_ROOT) / "demo_files"


def already_loaded() -> bool:
    return BankStatement.objects.exists() or PayoutReport.objects.exists()


def _token(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(ALNUM, k=length))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _monday_on_or_after(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7)


def _payout_day(vendor: Vendor, period_end: date) -> date:
    return period_end + timedelta(days=vendor.payout_delay_days)


def _iban_for(code: str) -> str:
    """A made-up German IBAN per vendor, stable (not a real account)."""
    number = sum((i + 1) * ord(c) for i, c in enumerate(code)) % 10**10
    return f"DE{(number % 89) + 10:02d}10010010{number:010d}"


# ---------------------------------------------------------------- the plan


@dataclass
class _VendorPay:
    vendor: Vendor
    paid_on: date
    amount: Decimal
    reference: str
    period: str
    advance: bool = False
    payout: Payout | None = None


def _refund_journal_days() -> dict[int, date]:
    rows = (
        Journal.objects.filter(kind=JournalKind.REFUND, currency=CURRENCY, case__isnull=False)
        .values("case_id")
        .annotate(day=Min("date"))
    )
    return {row["case_id"]: row["day"] for row in rows}


def _card_cases(days: dict[int, date]) -> list[RefundCase]:
    """Completed card refunds (Stripe's re_ references) in EUR, by case ID."""
    return list(
        RefundCase.objects.filter(
            pk__in=list(days), currency=CURRENCY, gateway_reference__startswith="re_"
        )
        .select_related("order")
        .order_by("case_id")
    )


def _traceable(
    case: RefundCase, day: date, start: date, last: date, plan: list[_VendorPay]
) -> bool:
    """Whether the window [start, last] can carry the case to the bank: its
    refund in a Stripe payout arriving in it, and each vendor bearing a part
    paid in it after the period that deducted the refund."""
    if not start <= _monday_on_or_after(day + timedelta(days=1)) <= last:
        return False
    bearing = list(
        VendorLiability.objects.filter(case=case, vendor_share__gt=0).select_related("vendor")
    )
    if not bearing:
        return False
    for liability in bearing:
        vendor = liability.vendor
        end = period_containing(day, vendor.payout_frequency).end
        if not any(p.vendor.pk == vendor.pk and p.paid_on >= end for p in plan):
            return False
    return True


def _window(today: date) -> tuple[date, date, date, list[RefundCase]]:
    """(first day, last day, the last complete month, candidate showcases).

    The last complete month and the current month to date; earlier months
    too (up to EXTRA_MONTHS) while no card refund could be traced end to end."""
    last = today - timedelta(days=1)
    month = month_start(month_start(today) - timedelta(days=1))
    start = month
    days = _refund_journal_days()
    cases = _card_cases(days)
    for _ in range(EXTRA_MONTHS + 1):
        plan = _vendor_plan(start, last, set(), last)
        candidates = [c for c in cases if _traceable(c, days[c.pk], start, last, plan)]
        if candidates:
            return start, last, month, candidates
        start = month_start(start - timedelta(days=1))
    return month, last, month, []


def _vendor_plan(
    start: date, last: date, advanced: set[int], advance_day: date
) -> list[_VendorPay]:
    """Each EUR vendor paid its statement's closing (less what it was paid since)
    on the period's end plus its payout delay, for payout days in the window;
    the vendors of `advanced` also an advance of one amount on `advance_day`
    (the ambiguity). By day."""
    statements: dict[int, list[SettlementStatement]] = {}
    for statement in SettlementStatement.objects.filter(currency=CURRENCY).order_by(
        "vendor_id", "period_end"
    ):
        statements.setdefault(statement.vendor_id, []).append(statement)
    plan: list[_VendorPay] = []
    for vendor in Vendor.objects.filter(pk__in=list(statements)).order_by("code"):
        paid = Decimal(0)
        pending: list[_VendorPay] = []
        if vendor.pk in advanced:
            pending.append(
                _VendorPay(
                    vendor,
                    advance_day,
                    ADVANCE,
                    f"SL-ADV-{vendor.code}-{advance_day:%Y%m%d}",
                    "",
                    advance=True,
                )
            )
        for statement in statements[vendor.pk]:
            day = _payout_day(vendor, statement.period_end)
            if start <= day <= last:
                pending.append(
                    _VendorPay(
                        vendor,
                        day,
                        statement.closing,
                        f"SL-{vendor.code}-{statement.period_end:%Y%m%d}",
                        f"{statement.period_end:%d.%m.%Y}",
                    )
                )
        for pay in sorted(pending, key=lambda p: (p.paid_on, p.advance)):
            if not pay.advance:
                pay.amount = pay.amount - paid  # the closing less what was paid since
            if pay.amount > 0:
                plan.append(pay)
                paid += pay.amount
    plan.sort(key=lambda p: (p.paid_on, p.vendor.code, p.reference))
    return plan


def _exceptional(
    start: date, last: date, month: date, showcase_vendors: set[int]
) -> tuple[list[_VendorPay], tuple[int, ...], int | None]:
    """The plan with the deliberate exceptions, kept off the showcase's vendors:
    two other vendors advanced one amount on one day of the month, and the
    first payout of the month to a third debited with the bank's charge.
    Returns the plan, the indexes of the advances and of the charged payout."""
    base = _vendor_plan(start, last, set(), last)
    others = sorted(
        {p.vendor.pk: p.vendor.code for p in base if p.vendor.pk not in showcase_vendors}.items(),
        key=lambda pair: pair[1],
    )
    advanced = {pk for pk, _ in others[:2]} if len(others) >= 3 else set()
    plan = _vendor_plan(start, last, advanced, min(month + timedelta(days=16), last))
    advances = tuple(i for i, p in enumerate(plan) if p.advance)
    short = next(
        (
            i
            for i, p in enumerate(plan)
            if not p.advance
            and month <= p.paid_on <= month_end(month)
            and p.vendor.pk not in showcase_vendors
            and p.vendor.pk not in advanced
        ),
        None,
    )
    return plan, advances, short


def _txn_id(rng: random.Random) -> str:
    return "txn_3" + _token(rng, 24)


def _refund(
    txn_id: str, created: datetime, amount: Decimal, refund_id: str, charge_id: str, text: str
) -> StripeTxn:
    """A refund's balance transaction: negative, and Stripe keeps no fee on it."""
    return StripeTxn(txn_id, "refund", created, amount, Decimal("0.00"), refund_id, charge_id, text)


def _stripe_plan(
    start: date, last: date, month: date, rng: random.Random, days: dict[int, date]
) -> list[StripePayout]:
    """Weekly Stripe payouts (Mondays in the window), each of the card charges
    and refunds of the week before; one refund made in Stripe's dashboard
    (no case) in the first payout of a week wholly in the month."""
    payouts = []
    arrival = _monday_on_or_after(start)
    dashboard_done = False
    refunds = _card_cases(days)
    while arrival <= last:
        since = datetime.combine(arrival - timedelta(days=7), time.min, UTC)
        until = datetime.combine(arrival, time.min, UTC)
        txns: list[StripeTxn] = []
        charges = (
            Payment.objects.filter(
                method=PaymentMethod.CARD,
                reference__startswith="ch_",
                order__currency=CURRENCY,
                captured_at__gte=since,
                captured_at__lt=until,
            )
            .select_related("order__channel")
            .order_by("captured_at", "id")
        )
        for payment in charges:
            rate = (
                Decimal("0.025")
                if payment.order.channel.subsource == "uk-store"
                else Decimal("0.015")
            )
            fee = _cents(payment.amount * rate + Decimal("0.25"))
            txns.append(
                StripeTxn(
                    _txn_id(rng),
                    "charge",
                    payment.captured_at,
                    _cents(payment.amount),
                    fee,
                    payment.reference,
                    payment.reference,
                    f"Order {payment.order.number}",
                    rng.choice(("visa", "mastercard", "visa", "amex")),
                )
            )
        for case in refunds:
            day = days[case.pk]
            if not since.date() <= day < until.date():
                continue
            charge = (
                Payment.objects.filter(order_id=case.order_id, reference__startswith="ch_")
                .values_list("reference", flat=True)
                .first()
            ) or ""
            created = (case.completed_at or since).astimezone(UTC)
            if created.date() != day:
                created = datetime.combine(day, time(12), UTC)
            txns.append(
                _refund(
                    _txn_id(rng),
                    created,
                    -_cents(case.total_refund_amount),
                    case.gateway_reference,
                    charge,
                    f"Refund {case.case_id}",
                )
            )
        if txns and not dashboard_done and month <= since.date() and arrival <= month_end(month):
            dashboard_done = True
            created = until - timedelta(days=3, hours=9)
            txns.append(
                _refund(
                    _txn_id(rng),
                    created,
                    DASHBOARD_REFUND,
                    "re_3" + _token(rng, 23),
                    "ch_3" + _token(rng, 23),
                    "Refund made in the Stripe Dashboard",
                )
            )
        payout_id = "po_1" + _token(rng, 23)
        if txns:
            txns.sort(key=lambda t: (t.created, t.txn_id))
            payouts.append(StripePayout(payout_id, arrival, CURRENCY, tuple(txns)))
        arrival += timedelta(days=7)
    return payouts


# ---------------------------------------------------------------- setting up


def _bank_account() -> BankAccount:
    ledger_bank = Account.objects.filter(role="bank").order_by("code").first()
    if ledger_bank is None:
        raise CashDemoError("account", "The chart has no bank account (role bank).")
    account, _ = BankAccount.objects.get_or_create(
        iban=IBAN,
        defaults={
            "name": BANK_NAME,
            "bank": BANK,
            "currency": CURRENCY,
            "ledger_account": ledger_bank,
        },
    )
    return account


def _stripe(account: BankAccount) -> PayoutProvider:
    code, name, _, _ = STRIPE
    provider, _ = PayoutProvider.objects.get_or_create(
        code=code,
        defaults={"name": name, "payment_method": PaymentMethod.CARD, "bank_account": account},
    )
    return provider


def _write(directory: Path, name: str, data: bytes, files: list[Path]) -> Path:
    path = directory / name
    path.write_bytes(data)
    files.append(path)
    return path


# ---------------------------------------------------------------- the bank


def _bank_entries(
    plan: list[_VendorPay],
    payouts: list[StripePayout],
    advances: tuple[int, ...],
    short: int | None,
    month: date,
    last: date,
) -> tuple[list[BankEntry], dict[str, tuple[str, int]]]:
    """Every entry the bank books, and the item each should match (by bank ref)."""
    entries: list[tuple[date, int, BankEntry]] = []
    expect: dict[str, tuple[str, int]] = {}
    _, _, stripe_party, stripe_iban = STRIPE
    for number, payout in enumerate(payouts, start=1):
        ref = f"{payout.arrival:%Y%m%d}C{number:05d}"
        entries.append(
            (
                payout.arrival,
                0,
                BankEntry(
                    payout.arrival,
                    payout.amount,
                    ref,
                    stripe_party,
                    stripe_iban,
                    f"STRIPE {payout.payout_id} SPLITLEDGER",
                    end_to_end=payout.payout_id,
                    family=("PMNT", "RCDT", "ESCT")
                    if payout.amount > 0
                    else ("PMNT", "RDDT", "ESDD"),
                ),
            )
        )
        expect[ref] = ("provider_payout", number)  # resolved to the report later
    for index, pay in enumerate(plan):
        assert pay.payout is not None
        ref = f"{pay.paid_on:%Y%m%d}D{pay.payout.pk:05d}"
        amount = -pay.amount
        remittance = f"{pay.reference} PAYOUT-{pay.payout.pk} Abrechnung bis {pay.period}"
        end_to_end = pay.reference
        if index in advances:
            # The bank's batch export dropped the references: a name, an amount.
            remittance, end_to_end = "SEPA Sammelueberweisung Vorschuss", "NOTPROVIDED"
        elif index == short:
            amount -= TRANSFER_CHARGE
            remittance += " inkl. Entgelt Eilueberweisung 3,50 EUR"
        entries.append(
            (
                pay.paid_on,
                1,
                BankEntry(
                    pay.paid_on,
                    amount,
                    ref,
                    pay.vendor.name,
                    _iban_for(pay.vendor.code),
                    remittance,
                    end_to_end=end_to_end,
                    family=("PMNT", "ICDT", "ESCT"),
                ),
            )
        )
        if index not in advances and index != short:
            expect[ref] = ("vendor_payout", pay.payout.pk)
    fee_day = min(month_end(month), last)
    entries.append(
        (
            fee_day,
            2,
            BankEntry(
                fee_day,
                BANK_FEE,
                f"{fee_day:%Y%m%d}F00001",
                "",
                "",
                "Entgelt Kontofuehrung und Buchungsposten",
                family=("ACMT", "MDOP", "CHRG"),
            ),
        )
    )
    entries.sort(key=lambda e: (e[0], e[1], e[2].bank_ref))
    return [e for _, _, e in entries], expect


def _statement_files(
    entries: list[BankEntry], start: date, last: date, opening: Decimal, created: datetime
) -> list[BankStatementFile]:
    files = []
    month = month_start(start)
    sequence = 1
    while month <= last:
        end = min(month_end(month), last)
        own = tuple(e for e in entries if month <= e.booked <= end)
        statement = BankStatementFile(
            f"STMT-{IBAN[-6:]}-{month:%Y-%m}",
            sequence,
            created,
            IBAN,
            BIC,
            OWNER,
            CURRENCY,
            month,
            end,
            opening,
            own,
        )
        files.append(statement)
        opening = statement.closing
        sequence += 1
        month = month_end(month) + timedelta(days=1)
    return files


# ---------------------------------------------------------------- SQLite


def _sqlite_import(account: BankAccount, data: bytes, file_name: str) -> int:
    """What import_statement_file does, for the SQLite development database
    (which it refuses: it loads with COPY): the same parser, natural keys and
    reference keys, stored with the ORM. Returns the lines added."""
    import hashlib

    from lib.money import exponent

    from ..statements import detect_format, parse
    from ..statements.keys import assign_keys, reference_keys

    fmt = detect_format(data)
    added = 0
    with transaction.atomic():
        for position, parsed in enumerate(parse(data, fmt, currency=account.currency), start=1):
            keys = assign_keys(str(account.pk), parsed.lines)
            statement = BankStatement.objects.create(
                account=account,
                format=fmt,
                file_name=file_name,
                file_sha256=hashlib.sha256(data).hexdigest(),
                position=position,
                statement_ref=parsed.statement_ref[:140],
                currency=parsed.currency,
                opening_balance=parsed.opening_balance,
                closing_balance=parsed.closing_balance,
                opening_date=parsed.opening_date,
                closing_date=parsed.closing_date,
                lines_total=parsed.lines_total,
                line_count=len(parsed.lines),
                new_lines=len(parsed.lines),
                known_lines=0,
            )
            scale = exponent(parsed.currency)
            BankStatementLine.objects.bulk_create(
                BankStatementLine(
                    account=account,
                    statement=statement,
                    booking_date=line.booking_date,
                    value_date=line.value_date,
                    amount=line.amount,
                    currency=line.currency,
                    amount_minor=int(line.amount.scaleb(scale)),
                    counterparty=line.counterparty,
                    counterparty_account=line.counterparty_account,
                    remittance=line.remittance,
                    bank_reference=line.bank_reference,
                    entry_reference=line.entry_reference,
                    end_to_end_id=line.end_to_end_id,
                    transaction_code=line.transaction_code,
                    natural_key=key,
                    key_source=source,
                    key_conflict=conflict,
                    reference_keys=reference_keys(line.end_to_end_id, line.remittance),
                    status=LineStatus.UNMATCHED,
                    allocated_minor=0,
                )
                for line, (key, source, conflict) in zip(parsed.lines, keys, strict=True)
            )
            added += len(parsed.lines)
    return added


def _sqlite_known_matches(account: BankAccount, expect: dict[str, tuple[str, int]]) -> int:
    """On SQLite the matching engine does not run (temporary tables, advisory
    locks, set-wise SQL: PostgreSQL only) and no trigger keeps the tallies, so
    the demo records the matches it knows the files hold (the lines whose
    reference names their payout) as the reference tier would, tallies
    included. The deliberate exceptions stay unmatched for staff."""
    from ..models import Allocation
    from ..services.sources import SOURCES

    matched = 0
    with transaction.atomic():
        for ref, (kind, source_id) in expect.items():
            line = BankStatementLine.objects.get(account=account, bank_reference=ref)
            item = OpenItem.objects.create(
                kind=kind,
                source_id=source_id,
                ledger_account_id=account.ledger_account_id,
                currency=line.currency,
                amount=line.amount,
                amount_minor=line.amount_minor,
                remaining_minor=0,
                item_date=line.booking_date,
                reference=line.end_to_end_id[:140],
                counterparty=line.counterparty,
                reference_keys=line.reference_keys,
            )
            Allocation.objects.create(
                line=line,
                item=item,
                amount_minor=abs(line.amount_minor),
                method=MatchMethod.REFERENCE,
            )
            BankStatementLine.objects.filter(pk=line.pk).update(
                allocated_minor=abs(line.amount_minor), status=LineStatus.MATCHED
            )
            matched += 1
    assert set(SOURCES) >= {"vendor_payout", "provider_payout"}
    return matched


# ---------------------------------------------------------------- the showcase


def showcase_case(candidates: Iterable[RefundCase] | None = None) -> RefundCase | None:
    """The first card refund (by case ID) whose trace has no gap."""
    if candidates is None:
        candidates = _card_cases(_refund_journal_days())
    for case in candidates:
        if case_trace(case).complete:
            return case
    return None


# ---------------------------------------------------------------- the load


def load_cash_demo(
    *,
    today: date | None = None,
    seed: int = 1,
    directory: Path | None = None,
    user: object = None,
) -> CashDemoSummary:
    """Write the demo's payout reports and bank statements, import them through
    the import services, and reconcile (see the package docstring)."""
    started = monotonic()
    if already_loaded():
        raise CashDemoError(
            "database", "The database already has bank statements or payout reports."
        )
    today = today or timezone.localdate()
    directory = directory or default_directory()
    directory.mkdir(parents=True, exist_ok=True)
    for old in [*directory.glob("stripe-payout-*.csv"), *directory.glob("camt053-*.xml")]:
        old.unlink()
    # The settlement statements the payouts pay (made already by dev_setup; idempotent).
    generate_due_statements(today, cutoff=timezone.now())
    start, last, month, candidates = _window(today)
    summary = CashDemoSummary(directory=directory, start=start, end=last)
    rng = random.Random(seed * 1_000_003 + 7)
    showcase_vendors = {
        liability.vendor_id
        for liability in VendorLiability.objects.filter(case__in=candidates[:1], vendor_share__gt=0)
    }
    plan, advances, short = _exceptional(start, last, month, showcase_vendors)
    days = _refund_journal_days()
    payouts = _stripe_plan(start, last, month, rng, days)
    account = _bank_account()
    provider = _stripe(account)
    by = PostedBy("demo")
    for pay in plan:
        pay.payout = record_payout(
            vendor=pay.vendor,
            amount=pay.amount,
            currency=CURRENCY,
            paid_on=pay.paid_on,
            reference=pay.reference,
            advance=True,  # each pays its statement; what a later refund holds back is not asked
            posted_by=by,
        )
    summary.vendor_payouts = len(plan)
    reports: dict[int, int] = {}
    for number, payout in enumerate(payouts, start=1):
        data = stripe_payout_csv(payout)
        path = _write(directory, payout.file_name, data, summary.files)
        result = import_payout_report(data=data, provider=provider, file_name=path.name, user=user)
        report = result.outcomes[0].report
        assert report is not None
        reports[number] = report.pk
    summary.provider_payouts = len(payouts)
    opening = _ledger_balance_before(account, start)
    entries, expect = _bank_entries(plan, payouts, advances, short, month, last)
    expect = {
        ref: (kind, reports[source] if kind == "provider_payout" else source)
        for ref, (kind, source) in expect.items()
    }
    created = datetime.combine(today, time(6), UTC)
    postgres = connection.vendor == "postgresql"
    for statement in _statement_files(entries, start, last, opening, created):
        data = camt053(statement)
        path = _write(directory, statement.file_name, data, summary.files)
        if postgres:
            outcome = import_statement_file(data=data, file_name=path.name, user=user)
            summary.bank_lines += sum(o.new_lines for o in outcome.outcomes)
        else:
            summary.bank_lines += _sqlite_import(account, data, path.name)
    if postgres:
        summary.engine = "the matching engine (reconciliation periods)"
        m = month_start(start)
        while m <= last:
            run_period(account=account, month=m, user=user)
            m = month_end(m) + timedelta(days=1)
    else:
        summary.engine = "the known matches (SQLite: the matching engine needs PostgreSQL)"
        _sqlite_known_matches(account, expect)
    summary.matched_lines = BankStatementLine.objects.filter(
        account=account, status=LineStatus.MATCHED
    ).count()
    summary.exceptions = _exceptions(plan, advances, short, month)
    summary.showcase = showcase_case(candidates)
    summary.seconds = monotonic() - started
    return summary


def _ledger_balance_before(account: BankAccount, day: date) -> Decimal:
    from ..services.periods import ledger_balance_at

    return ledger_balance_at(account, day - timedelta(days=1))


def _exceptions(
    plan: list[_VendorPay], advances: tuple[int, ...], short: int | None, month: date
) -> list[str]:
    found = [
        f"bank fee {BANK_FEE} {CURRENCY} at the end of {month:%Y-%m}: a bank line with no open item",
        f"Stripe refund {DASHBOARD_REFUND} {CURRENCY} made in the dashboard: no case "
        "(payout exception, no_match)",
    ]
    if advances:
        names = " and ".join(plan[i].vendor.code for i in advances)
        found.append(
            f"advances of {ADVANCE} {CURRENCY} to {names} on {plan[advances[0]].paid_on}: "
            "two bank lines without reference (the engine suggests each for both payouts)"
        )
    if short is not None:
        pay = plan[short]
        found.append(
            f"payout {pay.reference} to {pay.vendor.code} on {pay.paid_on}: the bank debited "
            f"{TRANSFER_CHARGE} {CURRENCY} more (its charge): a suggestion, and a difference "
            "to write off"
        )
    return found
