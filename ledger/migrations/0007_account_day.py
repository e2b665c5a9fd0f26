# Each account's debit and credit totals per currency and day (ledger.AccountDay),
# maintained by posting from now on and filled here from the entries posted so
# far: one GROUP BY over ledger_entry joined to its journals (on 100 million
# entries, minutes; the rows it writes are accounts x days, a few million).

import django.db.models.deletion
from django.db import migrations, models

from lib.migration_helpers import amount_field, currency_field, id_field

BACKFILL = """
INSERT INTO ledger_accountday (account_id, currency, date, debit, credit)
SELECT e.account_id, e.currency, j.date, sum(e.debit), sum(e.credit)
FROM ledger_entry e JOIN ledger_journal j ON j.id = e.journal_id
GROUP BY e.account_id, e.currency, j.date
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0006_partition_entries")]

    operations = [
        migrations.CreateModel(
            name="AccountDay",
            fields=[
                ("id", id_field()),
                ("currency", currency_field()),
                ("date", models.DateField()),
                ("debit", amount_field()),
                ("credit", amount_field()),
                (
                    "account",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="days",
                        to="ledger.account",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["currency", "date"], name="account_day_currency_date")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("account", "currency", "date"),
                        name="account_day_account_currency_date",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("debit__gte", 0), ("credit__gte", 0)),
                        name="account_day_totals_gte_0",
                    ),
                ],
            },
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop, elidable=False),
    ]
