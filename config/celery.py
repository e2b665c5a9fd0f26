import os

from celery import Celery

from ops.task_signals import connect_signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("splitledger")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Request IDs travel with tasks; task run times and worker logs (ops.task_signals).
connect_signals()
