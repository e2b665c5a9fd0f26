#!/usr/bin/env bash
# Set up and serve Splitledger on embedded defaults: a SQLite file, tasks run
# in process, demo data loaded, a staff login printed. Needs Python 3.11+.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  echo "==> Creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
echo "==> Installing requirements"
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r requirements.txt

# Credit note and statement PDFs embed Debian's Unicode fonts (ledger/fonts.py).
source scripts/debian_packages.sh
ensure_debian_packages 0 "${PDF_FONT_PACKAGES[@]}"

# Embedded defaults: no DATABASE_URL, no broker.
unset DATABASE_URL CELERY_BROKER_URL
export DJANGO_SETTINGS_MODULE=config.settings.local

# The ledger never deletes what it posted, so fresh demo data means a fresh
# database file. KEEP_DATA=1 keeps the file (and whatever you did in it).
if [ "${KEEP_DATA:-0}" = 1 ] && [ -f db.sqlite3 ]; then
  echo "==> Keeping db.sqlite3 (KEEP_DATA=1)"
  .venv/bin/python manage.py migrate --noinput -v0
else
  rm -f db.sqlite3
  echo "==> Migrating a new SQLite database"
  .venv/bin/python manage.py migrate --noinput -v0
  echo "==> Loading demo data and posting it to the ledger"
  .venv/bin/python manage.py load_demo --admin
  echo "==> Making the vendors' settlement statements"
  .venv/bin/python manage.py generate_statements --all-posted | tail -n 1
fi
echo "==> Serving on http://127.0.0.1:${PORT:-8000}/admin/"
exec .venv/bin/python manage.py runserver "127.0.0.1:${PORT:-8000}"
