"""`manage.py partitions`: the monthly partitions of the tables in
settings.PARTITIONED_TABLES: the case events, the outbox and the ledger's
entries and journals (refunds.partitions; PostgreSQL only)."""

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from lib.cli import positive_int
from refunds import partitions


class Command(BaseCommand):
    help = (
        "create-ahead: make the missing monthly partitions of refunds_caseevent, "
        "refunds_outboxmessage, ledger_entry and ledger_journal up to --months ahead (a month with rows in "
        "DEFAULT is refused, the others are made, then the command fails naming it). detach: "
        "detach (not drop) the months that nothing points at, no outbox message is left in "
        "(ledger entries: closed months, in order, once no read needs them: ledger.partitions "
        "says why one stays), keeping the current month "
        "and the --older-than minus 1 before it (1: every month before the current one). "
        "--dry-run says what would be done."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ahead = sub.add_parser("create-ahead")
        ahead.add_argument("--months", type=positive_int, default=settings.PARTITION_MONTHS_AHEAD)
        ahead.add_argument("--dry-run", action="store_true")
        old = sub.add_parser("detach")
        old.add_argument(
            "--older-than",
            type=positive_int,
            default=12,
            help="N: keep the current month and the N-1 before it; detach the earlier ones.",
        )
        old.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if not all(partitions.is_partitioned(t) for t in partitions.partitioned_tables()):
            raise CommandError("The tables are not partitioned here (PostgreSQL only).")
        dry_run = options["dry_run"]
        verb = "would" if dry_run else "did"
        try:
            if options["action"] == "create-ahead":
                made = partitions.create_ahead(options["months"], dry_run=dry_run)
                for name in made:
                    self.stdout.write(f"{verb} create {name}")
                if not made:
                    self.stdout.write("nothing to create")
                return
            verdicts = partitions.detach(options["older_than"], dry_run=dry_run)
        except partitions.PartitionError as error:
            for name in error.made:  # create-ahead made these before failing
                self.stdout.write(f"{verb} create {name}")
            raise CommandError(error.message) from error
        for v in verdicts:
            if v.detachable:
                self.stdout.write(f"{verb} detach {v.month.name}")
            else:
                self.stdout.write(f"kept {v.month.name}: {v.reason}")
        if not verdicts:
            self.stdout.write("nothing old enough to detach")
