#!/usr/bin/env bash
# Install everything and run the full test suite against PostgreSQL and Redis.
# Addresses come from DATABASE_URL / CELERY_BROKER_URL, or the usual local ones.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/refunds -x).
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/venv.sh
ensure_venv requirements-dev.txt

# The browser tests (tests/browser) drive Debian's chromium through Playwright;
# Playwright never downloads a browser of its own. The PDF tests read PDFs back
# with poppler-utils (pdftotext, pdftoppm), and the PDFs embed Debian's fonts.
source scripts/debian_packages.sh
ensure_debian_packages 1 \
  /usr/bin/chromium=chromium \
  /usr/bin/pdftotext=poppler-utils \
  /usr/bin/pdftoppm=poppler-utils \
  "${PDF_FONT_PACKAGES[@]}"

export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/splitledger}
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}
export DJANGO_SETTINGS_MODULE=config.settings.test

echo "==> Checking PostgreSQL and Redis"
if ! .venv/bin/python scripts/check_services.py; then
  cat >&2 <<'MSG'

The test suite needs PostgreSQL and Redis. Start them, or point DATABASE_URL and
CELERY_BROKER_URL at running ones. On Debian/Ubuntu:
  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
or with Docker:  docker compose up -d db redis
MSG
  exit 2
fi

echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> lint-imports (the layer contract) and mypy (lib and the service modules)"
.venv/bin/lint-imports
.venv/bin/mypy
echo "==> pytest"
exec .venv/bin/pytest "$@"
