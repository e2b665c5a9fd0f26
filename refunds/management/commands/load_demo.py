"""`manage.py load_demo`: demo vendors, orders and refund cases (see refunds.demo)."""

from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from lib.cli import iso_date, positive_int
from refunds import demo, outbox


class Command(BaseCommand):
    help = (
        "Load deterministic demo data: vendors, channels, orders and refund cases in every "
        "status. Refuses to run on a database that already has orders unless --flush is given."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--orders", type=positive_int, default=200, help="Orders to create.")
        parser.add_argument(
            "--seed",
            type=int,
            default=1,
            help="Same seed, same data (dated relative to --today: loaded another day, the "
            "same data shifted by the days between).",
        )
        parser.add_argument(
            "--today",
            type=iso_date,
            help="Date the data as if loaded on this day (YYYY-MM-DD; default today, UTC): "
            "orders over the year before it, nothing on or after it.",
        )
        parser.add_argument(
            "--flush",
            "--reset",
            action="store_true",
            dest="flush",
            help=f"Delete earlier demo data (orders numbered {demo.ORDER_PREFIX}…) first.",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Load only into a database with no orders; otherwise say so and change "
            "nothing (logins included). What scripts/dev.sh runs on every start.",
        )
        parser.add_argument(
            "--admin",
            action="store_true",
            help="Create or update the staff superuser `admin` and vendor portal users, "
            "each with a fresh random password, and print the logins.",
        )
        parser.add_argument(
            "--batch-size", type=positive_int, default=2000, help="Orders per insert batch."
        )
        parser.add_argument(
            "--no-ledger",
            action="store_true",
            help="Do not post the demo data to the ledger (faster for large benchmark loads).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and options["flush"]:
            raise CommandError("--if-empty and --flush contradict each other: choose one.")
        if options["if_empty"] and (existing := demo.existing_orders()):
            self.stdout.write(
                f"The database already has {existing:,} orders: no demo data loaded, "
                "logins unchanged (`python manage.py changepassword admin` sets a new "
                "staff password)."
            )
            return
        if options["flush"]:
            try:
                deleted = demo.flush_demo()
            except (DatabaseError, demo.DemoError) as error:
                raise CommandError(f"Could not delete the earlier demo data: {error}") from error
            self.stdout.write(f"Deleted {deleted:,} demo orders and their refund cases.")
        elif existing := demo.existing_orders():
            raise CommandError(
                f"The database already has {existing:,} orders. Run with --flush to delete "
                f"earlier demo data ({demo.ORDER_PREFIX}… orders and their cases) first; "
                "other orders are kept."
            )

        try:
            summary = demo.load_demo(
                orders=options["orders"],
                seed=options["seed"],
                batch_size=options["batch_size"],
                progress=self.stdout.write,
                today=options["today"],
            )
        except demo.DemoError as error:
            raise CommandError(str(error)) from error
        self._report(summary)
        if not options["no_ledger"]:
            self._post_to_ledger()
        if options["admin"]:
            self._logins()

    def _post_to_ledger(self) -> None:
        queued = demo.queue_ledger_backlog()
        posted = outbox.drain("ledger")
        self.stdout.write(f"Posted the demo data to the ledger ({posted:,} of {queued:,} events).")

    def _report(self, summary: demo.DemoSummary) -> None:
        rows = ", ".join(f"{count:,} {name}" for name, count in summary.rows.items())
        statuses = ", ".join(f"{status} {n:,}" for status, n in sorted(summary.statuses.items()))
        currencies = ", ".join(f"{c} {n:,}" for c, n in sorted(summary.currencies.items()))
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded demo data (seed {summary.seed}) in {summary.seconds:.1f} s "
                f"({summary.orders_per_second:,.0f} orders/s)."
            )
        )
        last_day = (summary.end - timedelta(days=1)).date()
        first_day = (summary.end - timedelta(days=demo.ORDER_DAYS)).date()
        self.stdout.write(f"Dated {first_day} to {last_day} (UTC), nothing later.")
        self.stdout.write(f"Rows: {rows}.")
        self.stdout.write(f"Cases by status: {statuses}.")
        self.stdout.write(f"Orders by currency: {currencies}.")

    def _logins(self) -> None:
        for login in demo.create_vendor_logins():
            self.stdout.write(
                f"Vendor portal login: {login.username} / {login.password}  ({login.detail})"
            )
        admin = demo.ensure_admin()
        self.stdout.write(self.style.SUCCESS(f"Staff login: {admin.username} / {admin.password}"))
