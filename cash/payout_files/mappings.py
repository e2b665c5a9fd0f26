"""Which column of a payout CSV holds what: the built-in mappings, and the
shape a saved mapping (cash.models.PayoutMapping) shares with them.

A column is named by its header text, compared without case, spaces,
underscores or hyphens; `a|b` names alternatives (the first the header has).
A built-in mapping lists the fields that files may leave out (`optional`); a
saved mapping's named columns must all be in the header.

Amounts are signed as the provider's balance sees them: a charge adds, a
refund, fee, chargeback, reserve held or payout takes away; `fee` is what the
provider kept on a row (positive), `net = gross - fee`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..models import RowType, UnknownTypes

# The mapping's column fields, in the order a refusal lists them.
COLUMN_FIELDS = (
    "id_column",
    "type_column",
    "date_column",
    "available_on_column",
    "gross_column",
    "fee_column",
    "fee_tax_column",
    "net_column",
    "currency_column",
    "reference_column",
    "charge_reference_column",
    "order_column",
    "line_column",
    "description_column",
    "payout_id_column",
    "payout_date_column",
    "payout_amount_column",
)


@dataclass(frozen=True)
class ColumnMapping:
    """A built-in mapping; the same attributes as cash.models.PayoutMapping."""

    name: str
    gross_column: str
    payout_id_column: str
    delimiter: str = ","
    encoding: str = "utf-8"
    skip_rows: int = 0
    date_format: str = "%Y-%m-%d"
    decimal_comma: bool = False
    id_column: str = ""
    type_column: str = ""
    type_values: str = ""
    unknown_types: str = UnknownTypes.REFUSE
    date_column: str = ""
    available_on_column: str = ""
    fee_column: str = ""
    fee_tax_column: str = ""
    net_column: str = ""
    unsigned_amounts: bool = False
    fees_negative: bool = False
    currency_column: str = ""
    currency: str = ""
    reference_column: str = ""
    charge_reference_column: str = ""
    order_column: str = ""
    line_column: str = ""
    description_column: str = ""
    payout_date_column: str = ""
    payout_amount_column: str = ""
    # Column fields a file may leave out (a saved mapping's are all required).
    optional: frozenset[str] = field(default_factory=frozenset)


# Stripe's itemized payout reconciliation report (payout_reconciliation.
# itemized.5; the balance-transaction columns are the same in the balance
# change reports): one row per balance transaction an automatic payout
# settled, amounts in major units, refunds negative, the fee on each charge.
# Reporting categories not listed here are new or rare (other_adjustment,
# partial_capture_reversal, transfer, ...): adjustments for staff to explain.
STRIPE = ColumnMapping(
    name="Stripe itemized payout reconciliation",
    id_column="balance_transaction_id",
    type_column="reporting_category",
    type_values="""
charge = charge
refund = refund, refund_failure
chargeback = dispute, dispute_reversal
fee = fee, network_cost
reserve = risk_reserved_funds, connect_reserved_funds
payout = payout, payout_reversal
""",
    unknown_types=UnknownTypes.ADJUSTMENT,
    date_column="created_utc|created",
    available_on_column="available_on_utc|available_on",
    gross_column="gross",
    fee_column="fee",
    net_column="net",
    currency_column="currency",
    reference_column="source_id",
    charge_reference_column="charge_id",
    description_column="description",
    payout_id_column="automatic_payout_id",
    payout_date_column="automatic_payout_effective_at_utc|automatic_payout_effective_at",
    optional=frozenset({"available_on_column", "charge_reference_column", "description_column"}),
)

# A marketplace's per-line payout file (Eshopbox-style): one row per order
# line and event, the fees and the tax on them per row, the payout it went
# into. Headers as docs/payout-reports.md lists them.
MARKETPLACE = ColumnMapping(
    name="Marketplace per-line payout",
    id_column="transaction_id|transaction id",
    type_column="type|transaction_type",
    type_values="""
charge = sale, order, shipment, forward
refund = return, customer_return, cancellation
fee = commission, shipping_fee, fees
chargeback = dispute
reserve = hold, release, reserve_release
""",
    date_column="date|transaction_date",
    gross_column="amount",
    fee_column="fees|fee",
    fee_tax_column="tax_on_fees|fee_tax",
    net_column="net|net_amount",
    currency_column="currency",
    reference_column="reference|gateway_reference",
    order_column="order_number|order_id|order",
    line_column="line|line_id|sku",
    description_column="description",
    payout_id_column="payout_id",
    payout_date_column="payout_date",
    payout_amount_column="payout_amount",
    optional=frozenset(
        {
            "id_column",
            "date_column",
            "fee_column",
            "fee_tax_column",
            "net_column",
            "currency_column",
            "reference_column",
            "line_column",
            "description_column",
            "payout_amount_column",
        }
    ),
)

BUILT_IN = {"stripe": STRIPE, "marketplace": MARKETPLACE}


class TypeValuesError(ValueError):
    pass


def read_type_values(text: str) -> dict[str, str]:
    """`charge = sale, order` lines as {their word: our type}; each type's own
    name maps to it. Words compare without case or surrounding spaces."""
    words = {value: value for value in RowType.values}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        ours, sep, theirs = line.partition("=")
        ours = ours.strip().lower()
        if not sep or ours not in RowType.values:
            raise TypeValuesError(
                f"line {number}: write `type = their words`, the type one of "
                f"{', '.join(RowType.values)} ({raw.strip()!r})."
            )
        for word in theirs.split(","):
            word = word.strip().lower()
            if not word:
                continue
            if words.get(word, ours) != ours:
                raise TypeValuesError(
                    f"line {number}: {word!r} is already a {words[word]}, not a {ours}."
                )
            words[word] = ours
    return words
