"""`manage.py issue_invoices`: issue the documents that posted journals call for
and that do not exist yet (see ledger.invoices.issue_missing_documents).

The ledger's consumer issues invoices, commission documents and credit notes
in the transaction that posts their journals; this backfills data posted
before invoices existed. Idempotent: a second run issues nothing.
"""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from ledger.invoices import issue_missing_documents


class Command(BaseCommand):
    help = (
        "Issue the invoices, commission documents and credit notes of orders and refund "
        "cases already posted to the ledger that have none yet (data from before invoices)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--chunk-size", type=int, default=500, help="Orders or cases per transaction."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        done = issue_missing_documents(max(1, options["chunk_size"]))
        self.stdout.write(
            f"Issued {done.invoices} invoices and commission documents, "
            f"{done.credit_notes} credit notes."
        )
