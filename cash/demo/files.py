"""The demo's source files, written as the providers and the bank write them:
Stripe's itemized payout reconciliation CSV (one file per payout) and a
CAMT.053 bank statement (one file per month). Pure functions of their rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from xml.sax.saxutils import escape

# Stripe's itemized payout reconciliation report (payout_reconciliation.itemized.5):
# the columns the import reads and a few more, in the documented order.
STRIPE_COLUMNS = (
    "automatic_payout_id",
    "automatic_payout_effective_at",
    "balance_transaction_id",
    "created_utc",
    "created",
    "available_on_utc",
    "available_on",
    "currency",
    "gross",
    "fee",
    "net",
    "reporting_category",
    "source_id",
    "description",
    "customer_facing_amount",
    "customer_facing_currency",
    "regulatory_tag",
    "automatic_payout_effective_at_utc",
    "customer_email",
    "charge_id",
    "payment_intent_id",
    "order_id",
    "payment_method_type",
    "card_brand",
    "statement_descriptor",
    "dispute_reason",
)


def stripe_csv(rows: Iterable[Mapping[str, str]]) -> bytes:
    """The report with a row of each mapping from column to value, in the
    documented column order; a column a row does not name is left empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(STRIPE_COLUMNS)
    writer.writerows([row.get(column, "") for column in STRIPE_COLUMNS] for row in rows)
    return out.getvalue().encode()


@dataclass(frozen=True)
class StripeTxn:
    """One balance transaction, signed as Stripe signs it (refunds negative, fee positive)."""

    txn_id: str
    category: str  # charge, refund
    created: datetime
    gross: Decimal
    fee: Decimal
    source_id: str
    charge_id: str
    description: str
    card_brand: str = "visa"

    @property
    def net(self) -> Decimal:
        return self.gross - self.fee


@dataclass(frozen=True)
class StripePayout:
    payout_id: str
    arrival: date
    currency: str  # upper case; the file writes it lower case, as Stripe does
    txns: tuple[StripeTxn, ...]

    @property
    def amount(self) -> Decimal:
        return sum((t.net for t in self.txns), Decimal(0))

    @property
    def file_name(self) -> str:
        return f"stripe-payout-{self.arrival.isoformat()}-{self.payout_id}.csv"


def stripe_payout_csv(payout: StripePayout) -> bytes:
    return stripe_csv(_stripe_row(payout, t) for t in payout.txns)


def _stripe_row(payout: StripePayout, t: StripeTxn) -> dict[str, str]:
    effective = f"{payout.arrival.isoformat()} 00:00:00"
    currency = payout.currency.lower()
    created = t.created.strftime("%Y-%m-%d %H:%M:%S")
    available = f"{payout.arrival.isoformat()} 00:00:00"
    return {
        "automatic_payout_id": payout.payout_id,
        "automatic_payout_effective_at": effective,
        "balance_transaction_id": t.txn_id,
        "created_utc": created,
        "created": created,
        "available_on_utc": available,
        "available_on": available,
        "currency": currency,
        "gross": f"{t.gross:.2f}",
        "fee": f"{t.fee:.2f}",
        "net": f"{t.net:.2f}",
        "reporting_category": t.category,
        "source_id": t.source_id,
        "description": t.description,
        "customer_facing_amount": f"{abs(t.gross):.2f}",
        "customer_facing_currency": currency,
        "automatic_payout_effective_at_utc": effective,
        "charge_id": t.charge_id,
        "payment_method_type": "card",
        "card_brand": t.card_brand,
        "statement_descriptor": "SPLITLEDGER",
    }


@dataclass(frozen=True)
class BankEntry:
    """One booked entry of a CAMT.053 statement (amount signed: debits negative)."""

    booked: date
    amount: Decimal
    bank_ref: str  # AcctSvcrRef: the bank's own id of the entry
    party: str
    party_iban: str
    remittance: str
    end_to_end: str = "NOTPROVIDED"
    family: tuple[str, str, str] = ("PMNT", "RCDT", "ESCT")  # domain, family, sub-family


@dataclass(frozen=True)
class BankStatementFile:
    statement_id: str
    sequence: int
    created: datetime
    iban: str
    bic: str
    owner: str
    currency: str
    opening_date: date
    closing_date: date
    opening: Decimal
    entries: tuple[BankEntry, ...]

    @property
    def closing(self) -> Decimal:
        return self.opening + sum((e.amount for e in self.entries), Decimal(0))

    @property
    def file_name(self) -> str:
        return f"camt053-{self.iban}-{self.opening_date:%Y-%m}.xml"


def _balance(code: str, amount: Decimal, day: date, currency: str) -> str:
    sign = "DBIT" if amount < 0 else "CRDT"
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
        f'<Amt Ccy="{currency}">{abs(amount):.2f}</Amt><CdtDbtInd>{sign}</CdtDbtInd>'
        f"<Dt><Dt>{day.isoformat()}</Dt></Dt></Bal>"
    )


def _entry(e: BankEntry, currency: str) -> str:
    debit = e.amount < 0
    sign = "DBIT" if debit else "CRDT"
    role = "Cdtr" if debit else "Dbtr"
    domain, family, sub = e.family
    return (
        f'<Ntry><Amt Ccy="{currency}">{abs(e.amount):.2f}</Amt><CdtDbtInd>{sign}</CdtDbtInd>'
        f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{e.booked.isoformat()}</Dt></BookgDt>"
        f"<ValDt><Dt>{e.booked.isoformat()}</Dt></ValDt>"
        f"<AcctSvcrRef>{escape(e.bank_ref)}</AcctSvcrRef>"
        f"<BkTxCd><Domn><Cd>{domain}</Cd><Fmly><Cd>{family}</Cd><SubFmlyCd>{sub}</SubFmlyCd>"
        "</Fmly></Domn></BkTxCd>"
        "<NtryDtls><TxDtls>"
        f"<Refs><AcctSvcrRef>{escape(e.bank_ref)}</AcctSvcrRef>"
        f"<EndToEndId>{escape(e.end_to_end)}</EndToEndId></Refs>"
        f'<Amt Ccy="{currency}">{abs(e.amount):.2f}</Amt><CdtDbtInd>{sign}</CdtDbtInd>'
        + (
            f"<RltdPties><{role}><Pty><Nm>{escape(e.party)}</Nm></Pty></{role}>"
            f"<{role}Acct><Id><IBAN>{e.party_iban}</IBAN></Id></{role}Acct></RltdPties>"
            if e.party
            else ""
        )
        + f"<RmtInf><Ustrd>{escape(e.remittance)}</Ustrd></RmtInf>"
        "</TxDtls></NtryDtls></Ntry>"
    )


def camt053(statement: BankStatementFile) -> bytes:
    s = statement
    created = s.created.strftime("%Y-%m-%dT%H:%M:%S")
    body = "".join(_entry(e, s.currency) for e in s.entries)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">'
        f"<BkToCstmrStmt><GrpHdr><MsgId>{s.statement_id}-MSG</MsgId>"
        f"<CreDtTm>{created}</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{s.statement_id}</Id><ElctrncSeqNb>{s.sequence}</ElctrncSeqNb>"
        f"<CreDtTm>{created}</CreDtTm>"
        f"<FrToDt><FrDtTm>{s.opening_date.isoformat()}T00:00:00</FrDtTm>"
        f"<ToDtTm>{s.closing_date.isoformat()}T23:59:59</ToDtTm></FrToDt>"
        f"<Acct><Id><IBAN>{s.iban}</IBAN></Id><Ccy>{s.currency}</Ccy>"
        f"<Ownr><Nm>{escape(s.owner)}</Nm></Ownr>"
        f"<Svcr><FinInstnId><BICFI>{s.bic}</BICFI></FinInstnId></Svcr></Acct>"
        f"{_balance('OPBD', s.opening, s.opening_date, s.currency)}"
        f"{_balance('CLBD', s.closing, s.closing_date, s.currency)}"
        f"{body}</Stmt></BkToCstmrStmt></Document>\n"
    ).encode()
