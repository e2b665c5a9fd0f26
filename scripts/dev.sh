#!/usr/bin/env bash
# Set up and serve Splitledger on embedded defaults: a SQLite file, tasks run
# in process, demo data on a new database, a staff login printed. Needs Python
# 3.11+. Run again, it keeps the database and all you did in it; --fresh
# deletes it and loads new demo data (dated up to today).
#
#   bash scripts/dev.sh [--fresh] [--database FILE] [--orders N]   (PORT=8000)
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/venv.sh
ensure_venv requirements.txt

# Credit note and statement PDFs embed Debian's Unicode fonts (ledger/fonts.py).
source scripts/debian_packages.sh
ensure_debian_packages 0 "${PDF_FONT_PACKAGES[@]}"

# Sourced: the environment it sets (database, PORT, PORTAL_BASE_URL) is the server's.
source scripts/dev_setup.sh "$@"

echo "==> Serving on http://127.0.0.1:$PORT/admin/ (staff) and http://127.0.0.1:$PORT/portal/ (vendors)"
exec .venv/bin/python manage.py runserver "127.0.0.1:$PORT"
