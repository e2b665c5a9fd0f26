"""`manage.py reconcile [--account A ...]`"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cash.services.imports import find_account
from cash.services.matching import line_counts, reconcile
from lib.errors import DomainError


class Command(BaseCommand):
    help = (
        "Match bank statement lines with open items (vendor payouts, ...) over every bank "
        "account, or the ones named; prints matched, suggested and unmatched counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--account", action="append", default=[], help="name, IBAN or number; repeatable"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ids = []
        for name in options["account"]:
            account = find_account(name)
            if account is None:
                raise CommandError(f"--account: no bank account {name!r}")
            ids.append(account.pk)
        try:
            result = reconcile(account_ids=ids or None)
        except DomainError as error:
            raise CommandError(error.message) from None
        tiers = ", ".join(f"{tier} {count}" for tier, count in result.matched_by_tier.items())
        self.stdout.write(
            f"run {result.run.pk}: {result.items_added} new open items; matched {result.matched} "
            f"lines ({tiers}), suggested {result.suggested}, unmatched {result.unmatched}"
        )
        counts = line_counts(ids or None)
        self.stdout.write(
            "lines now: "
            + ", ".join(f"{s} {counts.get(s, 0)}" for s in ("matched", "suggested", "unmatched"))
        )
