"""`manage.py audit_ledger`: the old name of check_ledger, kept for a release.

Deprecated: runs check_ledger (same options, output and exit status) after a
note on stderr.
"""

from typing import Any

from .check_ledger import Command as CheckLedger


class Command(CheckLedger):
    help = "Deprecated alias of check_ledger (removed in the next release). " + CheckLedger.help

    def handle(self, *args: Any, **options: Any) -> None:
        self.stderr.write(
            "audit_ledger is deprecated and will be removed in the next release: "
            "use `manage.py check_ledger`."
        )
        super().handle(*args, **options)
