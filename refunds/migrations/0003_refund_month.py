# The staff dashboard's monthly sums (refunds.models.RefundMonth), filled by a periodic
# fold off the write path. (The portal SKU search's index: 0004, built concurrently.)

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('refunds', '0002_partition_events_and_outbox'),
    ]

    operations = [
        migrations.CreateModel(
            name='RefundMonthFold',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.DateField(unique=True)),
                ('through', models.DateField()),
                ('folded_at', models.DateTimeField()),
            ],
        ),
        migrations.CreateModel(
            name='RefundMonth',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(max_length=8)),
                ('currency', models.CharField(max_length=3)),
                ('month', models.DateField()),
                ('key', models.CharField(blank=True, max_length=64)),
                ('amount', models.DecimalField(decimal_places=3, default=0, max_digits=24)),
                ('refunded', models.DecimalField(decimal_places=3, default=0, max_digits=24)),
                ('count', models.BigIntegerField(default=0)),
            ],
            options={
                'indexes': [models.Index(fields=['kind', 'currency', 'month', '-amount', 'key'], name='refund_month_ranked_idx')],
                'constraints': [models.UniqueConstraint(fields=('kind', 'currency', 'month', 'key'), name='refund_month_unique')],
            },
        ),
    ]
