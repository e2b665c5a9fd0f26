"""Double-entry ledger: accounts, journals, entries and maintained balances.

Entries are never updated or deleted, and a journal's entries balance per
currency; on PostgreSQL triggers enforce both (ledger/triggers.py), not only this
code. Corrections are new journals that reverse or adjust. Account balances are
maintained in the posting transaction, so reading one is a primary-key lookup
however many entries exist; so are each account's totals per day (AccountDay),
which a trial balance at a past date sums.
"""

from lib.fields import amount_field, rate_field

from .accounts import (
    SINGLE_ROLES,
    Account,
    AccountBalance,
    AccountDay,
    AccountKind,
    AccountRole,
)
from .credit_notes import (
    ChannelMapping,
    CreditNote,
    CreditNoteLine,
    CreditNoteRefund,
    CreditNoteSeries,
    CreditNoteSettings,
    IssuerProfile,
)
from .detached import (
    CarriedDebit,
    DetachedCaseJournals,
    DetachedCaseLeg,
    DetachedDigest,
    DetachedJournalMonth,
    DetachedMonth,
    DetachedSource,
    DetachedTotal,
)
from .invoices import (
    COMMISSION_KINDS,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceLineKind,
    InvoiceSeries,
)
from .journals import Entry, EntryLabel, Journal, JournalKey, JournalKind, default_label
from .payouts import Payout
from .periods import AccountingPeriod, PeriodAction, PeriodEvent, PeriodStatus
from .rates import ExchangeRate
from .settlements import SettlementStatement
from .tax import TaxCode

__all__ = [
    "COMMISSION_KINDS",
    "SINGLE_ROLES",
    "Account",
    "AccountBalance",
    "AccountDay",
    "AccountKind",
    "AccountRole",
    "AccountingPeriod",
    "CarriedDebit",
    "ChannelMapping",
    "CreditNote",
    "CreditNoteLine",
    "CreditNoteRefund",
    "CreditNoteSeries",
    "CreditNoteSettings",
    "DetachedCaseJournals",
    "DetachedCaseLeg",
    "DetachedDigest",
    "DetachedJournalMonth",
    "DetachedMonth",
    "DetachedSource",
    "DetachedTotal",
    "Entry",
    "EntryLabel",
    "ExchangeRate",
    "Invoice",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceLineKind",
    "InvoiceSeries",
    "IssuerProfile",
    "Journal",
    "JournalKey",
    "JournalKind",
    "Payout",
    "PeriodAction",
    "PeriodEvent",
    "PeriodStatus",
    "SettlementStatement",
    "TaxCode",
    "amount_field",
    "default_label",
    "rate_field",
]
