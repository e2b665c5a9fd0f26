"""The API's models, moved from `integrations`: state only, the tables stay
(`integrations_apitoken`, `integrations_idempotencyrecord`)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        # The tables exist already: integrations made them.
        ("integrations", "0002_idempotency_scope_is_the_principal"),
        # A fresh database grants the Finance group its view permissions under
        # the old label first; integrations 0003 then moves them here.
        ("vendors", "0003_finance_group"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='ApiToken',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(blank=True, help_text='What the key is for.', max_length=100)),
                        ('prefix', models.CharField(editable=False, help_text='First characters, to recognise a key.', max_length=12)),
                        ('key_hash', models.CharField(editable=False, max_length=64, unique=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('expires_at', models.DateTimeField(blank=True, null=True)),
                        ('last_used_at', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('revoked_at', models.DateTimeField(blank=True, null=True)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'integrations_apitoken',
                        'verbose_name': 'API key',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='IdempotencyRecord',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('scope', models.CharField(help_text='Who sent the key: user:<id>/key:<API key id>, or user:<id>/session.', max_length=64)),
                        ('key', models.CharField(max_length=255)),
                        ('method', models.CharField(max_length=10)),
                        ('path', models.CharField(max_length=500)),
                        ('fingerprint', models.CharField(help_text='Hash of method, path and body.', max_length=64)),
                        ('status_code', models.PositiveSmallIntegerField(null=True)),
                        ('content_type', models.CharField(blank=True, max_length=100)),
                        ('body', models.BinaryField(blank=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'db_table': 'integrations_idempotencyrecord',
                        'indexes': [models.Index(fields=['created_at'], name='idempotency_created_idx')],
                        'constraints': [models.UniqueConstraint(fields=('scope', 'key'), name='idempotency_scope_key')],
                    },
                ),
            ],
        ),
    ]
