"""Every invariant check in a fixed order, and running them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connection

from ..detached import attached_months_held
from . import books, counters, documents, sources
from .sql import DEFAULT_LIMIT, Finding

# ---------------------------------------------------------------- all of them


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    run: Callable[[int], list[Finding]]
    # Why the check cannot run on other databases; "" if it runs everywhere.
    postgres_only: str = ""

    def skipped_here(self) -> str:
        """Why the check is skipped on this database, or "" if it runs."""
        return self.postgres_only if connection.vendor != "postgresql" else ""


POSTGRES_ONLY = {
    "entries_keyed": "reads PostgreSQL's catalog of the entries' monthly partitions",
    "refund_journals_match_completion": (
        "reads the breakdown snapshotted at completion with PostgreSQL's jsonb functions"
    ),
}

CHECKS: tuple[Check, ...] = tuple(
    Check(
        name,
        (function.__doc__ or "").split("\n")[0].strip(),
        function,
        POSTGRES_ONLY.get(name, ""),
    )
    for name, function in (
        ("journals_balance", books.journals_balance),
        ("balances_match_entries", books.balances_match_entries),
        ("days_match_entries", books.days_match_entries),
        ("days_add_up_to_balances", books.days_add_up_to_balances),
        ("detached_months", books.detached_months),
        ("trial_balance", books.trial_balance_nets_to_zero),
        ("journals_in_open_periods", books.journals_in_open_periods),
        ("outbox_backlog", books.outbox_backlog),
        ("entries_keyed", books.entries_keyed),
        ("sales_posted", sources.sales_posted),
        ("payouts_posted", sources.payouts_posted),
        ("refunds_posted", sources.refunds_posted),
        ("refund_journals_match_completion", sources.refund_journals_match_completion),
        ("case_postings_match_liabilities", sources.case_postings_match_liabilities),
        ("vendor_payables", counters.vendor_payables),
        ("refund_counters", counters.refund_counters),
        ("case_breakdowns", counters.case_breakdowns),
        ("output_tax_matches_documents", documents.output_tax_matches_documents),
    )
)


def run_checks(limit: int = DEFAULT_LIMIT) -> list[tuple[Check, list[Finding] | None]]:
    """Every check with its findings, in a fixed order; None for a check this
    database cannot run (see Check.skipped_here). In one transaction in which
    no month is detached (ledger.detached.attached_months_held): every check
    sees the same detached months, and the entries after them."""
    with attached_months_held(DEFAULT_DB_ALIAS):
        return [(check, None if check.skipped_here() else check.run(limit)) for check in CHECKS]


def check_invariants(limit: int = DEFAULT_LIMIT) -> list[Finding]:
    """All findings of all checks that run here; empty when the books agree
    with their sources."""
    return [finding for _, findings in run_checks(limit) for finding in findings or []]
