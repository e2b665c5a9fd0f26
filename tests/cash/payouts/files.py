"""Payout report files written for the tests: Stripe's itemized payout
reconciliation CSV (the demo's writer, cash.demo.files.stripe_csv: the
documented columns, a selection in their order; values as Stripe writes them)
and the marketplace per-line CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

from cash.demo.files import stripe_csv


@dataclass
class Txn:
    """One balance transaction: amounts as Stripe signs them (refunds negative,
    the fee positive)."""

    category: str
    gross: str
    fee: str = "0.00"
    source_id: str = ""
    charge_id: str = ""
    txn: str = ""
    created: str = "2026-11-02 09:30:00"
    description: str = ""
    net: str | None = None
    payout: str | None = None  # another payout than the file's
    currency: str | None = None


def stripe_report(
    txns: list[Txn],
    *,
    payout: str = "po_1QxYz",
    effective: str = "2026-11-05 00:00:00",
    currency: str = "eur",
) -> bytes:
    return stripe_csv(
        _stripe_row(number, t, payout, effective, currency)
        for number, t in enumerate(txns, start=1)
    )


def _stripe_row(number: int, t: Txn, payout: str, effective: str, currency: str) -> dict[str, str]:
    net = t.net if t.net is not None else str(Decimal(t.gross) - Decimal(t.fee))
    return {
        "automatic_payout_id": t.payout or payout,
        "automatic_payout_effective_at": effective,
        "balance_transaction_id": t.txn or f"txn_{number:04d}",
        "created_utc": t.created,
        "created": t.created,
        "available_on_utc": "2026-11-04 00:00:00",
        "available_on": "2026-11-04 01:00:00",
        "currency": t.currency or currency,
        "gross": t.gross,
        "fee": t.fee,
        "net": net,
        "reporting_category": t.category,
        "source_id": t.source_id,
        "description": t.description,
        "customer_facing_amount": t.gross.lstrip("-"),
        "customer_facing_currency": t.currency or currency,
        "automatic_payout_effective_at_utc": effective,
        "customer_email": "jenny@example.com",
        "charge_id": t.charge_id or (t.source_id if t.category == "charge" else ""),
        "payment_intent_id": "",
        "order_id": "",
        "payment_method_type": "card",
        "card_brand": "visa",
        "statement_descriptor": "SPLITLEDGER",
        "dispute_reason": "fraudulent" if t.category == "dispute" else "",
    }


MARKETPLACE_COLUMNS = (
    "Order Number",
    "SKU",
    "Type",
    "Amount",
    "Fees",
    "Tax on Fees",
    "Payout ID",
    "Payout Date",
    "Currency",
)


def marketplace_report(rows: list[tuple[str, ...]], columns=MARKETPLACE_COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue().encode()
