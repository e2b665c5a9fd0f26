"""Where open items come from: a small registry of sources.

An open item is something booked on the ledger side that a bank line should
settle. Each source is one SELECT over its own tables giving, per row, the
columns below; `sync_open_items` copies rows it has not seen yet into
cash_openitem with one INSERT ... SELECT per source, so matching works on one
table with one shape whatever the source.

Columns a source's SELECT returns (in this order):
  source_id          bigint   the row's id in the source table
  ledger_account_id  bigint   the ledger account (role bank) the item is posted to
  currency           text
  amount             numeric  signed as the bank line will show it: money out negative
  item_date          date     the bank line comes on or after this day
  reference          text     what the payer writes in the remittance (normalised to join)
  counterparty       text
  id_reference       text     a second reference the remittance may carry, e.g. PAYOUT-17

Vendor payouts (a bank debit), here. The payout-report import adds provider
payouts (a bank credit) by calling `register(OpenItemSource(...))` from this
app's ready() or a module it imports; nothing here needs to change.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction

from lib.money import CURRENCY_EXPONENTS


@dataclass(frozen=True)
class OpenItemSource:
    kind: str  # cash_openitem.kind; at most 30 characters
    label: str
    select: str  # the SELECT described above, with no parameters


SOURCES: dict[str, OpenItemSource] = {}


def register(source: OpenItemSource) -> None:
    if len(source.kind) > 30:
        raise ValueError(f"open item kind {source.kind!r} is longer than 30 characters")
    SOURCES[source.kind] = source


def minor_units_sql(amount: str, currency: str) -> str:
    """SQL for `amount` in minor units of `currency` (both SQL expressions)."""
    odd = {code: exp for code, exp in CURRENCY_EXPONENTS.items() if exp != 2}
    cases = " ".join(f"WHEN '{code}' THEN {10**exp}" for code, exp in sorted(odd.items()))
    return f"round({amount} * CASE {currency} {cases} ELSE 100 END)::bigint"


def normalised_sql(text: str) -> str:
    """SQL doing what cash.statements.keys.normalise_reference does: upper case,
    letters and digits only (at most 60 characters)."""
    return f"left(regexp_replace(upper(coalesce({text}, '')), '[^A-Z0-9]', '', 'g'), 60)"


def kept_sql(normalised: str) -> str:
    """A normalised reference kept as a key: at least 4 long and holding a digit."""
    return f"CASE WHEN length({normalised}) >= 4 AND {normalised} ~ '[0-9]' THEN {normalised} END"


# The ledger has one account with role bank (ledger.models.SINGLE_ROLES); every
# vendor payout is credited to it (ledger.posting.payout_journal).
VENDOR_PAYOUTS = OpenItemSource(
    kind="vendor_payout",
    label="Vendor payout (bank debit)",
    select="""
SELECT p.id, (SELECT id FROM ledger_account WHERE role = 'bank' ORDER BY id LIMIT 1),
       p.currency, -p.amount, p.paid_on, p.reference, v.name, 'PAYOUT-' || p.id
  FROM ledger_payout p JOIN vendors_vendor v ON v.id = p.vendor_id
""",
)

register(VENDOR_PAYOUTS)

# Open items of kind "write_off" are made by cash.services.writeoffs when a
# write-off on a statement line is approved (and allocated to that line at
# once); they have no source here, so no sync makes or matches them.
WRITE_OFF_KIND = "write_off"


SYNC_LOCK = 0x6F70656E  # "open": one sync at a time (beat and a run's catch-up)


def sync_open_items(*, wait: bool = True) -> int:
    """Copy every source's rows not yet seen into cash_openitem; how many were new.

    Run every few minutes from beat (cash.tasks.sync_open_items), so items are
    open soon after their payout is recorded, and at the start of every
    reconciliation run, which then only catches up what came since. Two syncs
    take turns (a transaction-level advisory lock), so the second finds the
    first's items and adds nothing. Inside a run the lock is held until the
    run commits; a sync that must not wait for that (beat's: `wait=False`)
    adds nothing and returns 0 when the lock is taken, and the next one or the
    run itself catches up."""
    added = 0
    with transaction.atomic(), connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SYNC_LOCK])
        else:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SYNC_LOCK])
            if not cursor.fetchone()[0]:
                return 0
        for source in SOURCES.values():
            cursor.execute(
                f"""
INSERT INTO cash_openitem (kind, source_id, ledger_account_id, currency, amount, amount_minor,
                           remaining_minor, item_date, reference, counterparty,
                           reference_keys, created_at)
SELECT %s, s.source_id, s.ledger_account_id, s.currency, s.amount, n.minor, abs(n.minor),
       s.item_date, left(coalesce(s.reference, ''), 140), left(coalesce(s.counterparty, ''), 140),
       concat_ws(' ', {kept_sql("n.r1")}, {kept_sql("n.r2")}), now()
  FROM ({source.select}) AS s (source_id, ledger_account_id, currency, amount, item_date,
                               reference, counterparty, id_reference)
 CROSS JOIN LATERAL (SELECT {minor_units_sql("s.amount", "s.currency")} AS minor,
                            {normalised_sql("s.reference")} AS r1,
                            {normalised_sql("s.id_reference")} AS r2
                     OFFSET 0) AS n  -- evaluated once per row, not once per use
 WHERE s.amount <> 0 AND s.ledger_account_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM cash_openitem o WHERE o.kind = %s AND o.source_id = s.source_id)
ON CONFLICT (kind, source_id) DO NOTHING
""",
                [source.kind, source.kind],
            )
            added += cursor.rowcount
    return added
