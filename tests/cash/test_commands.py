"""The reconcile command (import_bank_statement's are in test_import_statements)."""

from io import StringIO

import pytest
from django.core.management import call_command

from .statement_files import Entry
from .test_matching import bank, pay

pytestmark = [pytest.mark.postgres]


@pytest.mark.django_db
def test_the_command_prints_matched_suggested_and_unmatched(account, acme, bolt):
    pay(acme, "250.00", "PO-2026-0001")
    pay(acme, "75.00")
    pay(bolt, "75.00")
    bank(
        Entry("-250.00", remittance="PO-2026-0001"),
        Entry("-75.00"),
        Entry("-75.00"),
        Entry("-3.00", remittance="bank fee"),
    )
    out = StringIO()
    call_command("reconcile", stdout=out)
    assert "matched 1 lines (reference 1, amount 0), suggested 2, unmatched 1" in out.getvalue()
    assert "lines now: matched 1, suggested 2, unmatched 1" in out.getvalue()
