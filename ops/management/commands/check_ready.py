"""`python manage.py check_ready`: the /readyz report, from inside a container.

Exits 0 when ready and 1 otherwise, so it serves as a compose healthcheck for
services that serve no HTTP (beat). `--json` prints the whole report.
"""

import json
import sys

from django.core.management.base import BaseCommand

from ops.health import readiness


class Command(BaseCommand):
    help = "Check the database, broker, migrations and outbox; exit 1 when not ready."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the whole report")

    def handle(self, *args, **options):
        report = readiness()
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, default=str))
        else:
            for name, check in report["checks"].items():
                figures = ", ".join(f"{k}={v}" for k, v in check.items() if k != "status")
                self.stdout.write(
                    f"{name}: {check['status']}" + (f" ({figures})" if figures else "")
                )
            self.stdout.write(report["status"])
        if report["status"] != "ready":
            sys.exit(1)
