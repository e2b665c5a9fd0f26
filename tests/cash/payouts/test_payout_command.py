"""`manage.py import_payout_report`: new and already imported rows, refusals."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cash.models import PayoutProvider, PayoutReport

from .files import Txn, stripe_report

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def run(*args: str) -> str:
    out = StringIO()
    call_command("import_payout_report", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_new_and_already_imported_rows(stripe, tmp_path):
    path = tmp_path / "payouts.csv"
    path.write_bytes(
        stripe_report(
            [
                Txn("charge", "15.00", "0.50", source_id="ch_x"),
                Txn("fee", "-1.00"),
                Txn("charge", "20.00", "0.60", source_id="ch_y", payout="po_2"),
            ]
        )
    )
    first = run(str(path))
    (report, _) = PayoutReport.objects.order_by("position")
    assert first.splitlines() == [
        f"payout po_1QxYz (13.50 EUR on 2026-11-05): 2 new rows, 1 exceptions (report {report.pk})",
        f"payout po_2 (19.40 EUR on 2026-11-05): 1 new rows, 1 exceptions (report {report.pk + 1})",
        "Stripe, stripe: 3 new rows, 0 already imported, 2 exceptions to resolve",
    ]
    second = run(str(path), "--provider", "stripe")
    assert second.splitlines()[0] == "payouts.csv: this file was imported before; nothing added."
    assert second.splitlines()[-1] == (
        "Stripe, stripe: 0 new rows, 3 already imported, 0 exceptions to resolve"
    )


def test_the_command_says_why_a_file_is_refused(stripe, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(stripe_report([Txn("charge", "15.00", "0.50", net="14.00")]))
    with pytest.raises(CommandError, match=r"bad\.csv: row 2: net 14\.00 is not"):
        run(str(path))
    with pytest.raises(CommandError, match="No such file"):
        run(str(tmp_path / "missing.csv"))
    PayoutProvider.objects.create(code="other", name="Other", payment_method="paypal")
    with pytest.raises(CommandError, match="--provider: name the provider"):
        run(str(path))
    with pytest.raises(CommandError, match="--provider: no payout provider 'nope'"):
        run(str(path), "--provider", "nope")
    with pytest.raises(CommandError, match="--mapping: no saved payout mapping 'x'"):
        run(str(path), "--provider", "stripe", "--mapping", "x")
