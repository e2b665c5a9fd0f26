FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# Keep each database connection for 60 s (checked before reuse) rather than
# opening one per request; see config/settings/base.py.
ENV DATABASE_CONN_MAX_AGE=60 DATABASE_CONN_HEALTH_CHECKS=false
WORKDIR /app
# Unicode fonts the credit note and statement PDFs embed (ledger/fonts.py).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-core fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
# The processes run as an unprivileged user that cannot change the code; the
# only place it writes is the media directory (attachments, a volume in
# docker-compose.yml, which takes this directory's owner when first created).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --shell /usr/sbin/nologin app \
    && mkdir -p /data/media \
    && chown app:app /data/media
ENV MEDIA_ROOT=/data/media
COPY . .
RUN DJANGO_SETTINGS_MODULE=config.settings.local python manage.py collectstatic --noinput -v0
USER app
EXPOSE 8000
# gthread: each worker serves several requests at once in threads, so one
# request's database waits overlap another's Python; connections are kept alive.
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", \
     "--worker-class", "gthread", "--threads", "4"]
