#!/usr/bin/env bash
# The setup half of scripts/dev.sh, without serving: embedded defaults (a
# SQLite file, tasks in process), migrations, and demo data on a new database.
# An existing database is kept, with everything done in it; --fresh starts a
# new one. Needs .venv (scripts/dev.sh makes it). scripts/dev.sh sources this
# file, so the environment it sets is the server's too.
#
#   bash scripts/dev_setup.sh [--fresh] [--database FILE] [--orders N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FRESH=0
DATABASE_FILE=db.sqlite3
DEMO_ORDERS=200
while [ $# -gt 0 ]; do
  case "$1" in
    --fresh) FRESH=1 ;;
    --database) DATABASE_FILE=${2:?--database needs a file}; shift ;;
    --orders) DEMO_ORDERS=${2:?--orders needs a number}; shift ;;
    -h|--help)
      echo "usage: $0 [--fresh] [--database FILE] [--orders N]"
      echo "  --fresh          delete the database file and load new demo data"
      echo "  --database FILE  the SQLite file (default db.sqlite3)"
      echo "  --orders N       demo orders on a new database (default 200)"
      exit 0 ;;
    *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

# .env (see .env.example), as the settings read it: the environment wins.
if [ -f .env ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    line=${line#export }
    case "$line" in ''|'#'*) continue ;; esac
    key=${line%%=*}
    value=${line#*=}
    [[ $key =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]] && value=${BASH_REMATCH[1]}
    [ -n "${!key+set}" ] || export "$key=$value"
  done < .env
fi

# Embedded defaults, whatever .env says: the SQLite file, no broker.
case "$DATABASE_FILE" in /*) ;; *) DATABASE_FILE="$PWD/$DATABASE_FILE" ;; esac
export DATABASE_URL="sqlite:///$DATABASE_FILE"
export CELERY_BROKER_URL=
export DJANGO_SETTINGS_MODULE=config.settings.local
export PORT=${PORT:-8000}
# Webhook receivers you try locally listen on 127.0.0.1 (docs/webhooks.md).
export WEBHOOK_ALLOW_PRIVATE_TARGETS=${WEBHOOK_ALLOW_PRIVATE_TARGETS:-true}
# Links in notifications and e-mails point at the server this script starts.
export PORTAL_BASE_URL=${PORTAL_BASE_URL:-http://127.0.0.1:$PORT}
MANAGE=(.venv/bin/python manage.py)

if [ "$FRESH" = 1 ] && [ -f "$DATABASE_FILE" ]; then
  echo "==> --fresh: deleting $DATABASE_FILE"
  rm -f "$DATABASE_FILE"
fi
NEW_DATABASE=0
if [ -f "$DATABASE_FILE" ]; then
  echo "==> Keeping $DATABASE_FILE and everything in it (--fresh starts a new one)"
else
  echo "==> Creating a new SQLite database: $DATABASE_FILE"
  NEW_DATABASE=1
fi
# The demo's payout reports and bank statements, beside the database file.
DEMO_FILES="$(dirname "$DATABASE_FILE")/demo_files"
"${MANAGE[@]}" migrate --noinput -v0
# Loads only into a database with no orders: a kept one stays as it is.
"${MANAGE[@]}" load_demo --admin --if-empty --orders "$DEMO_ORDERS"
# A database kept from before invoices existed: its posted orders and cases get them.
"${MANAGE[@]}" issue_invoices | tail -n 1
echo "==> Making the settlement statements that are due"
"${MANAGE[@]}" generate_statements --all-posted | tail -n 1
if [ "$NEW_DATABASE" = 1 ]; then
  echo "==> Importing the demo's payout reports and bank statements (files in $DEMO_FILES)"
  "${MANAGE[@]}" load_cash_demo --if-empty --dir "$DEMO_FILES"
else
  # A kept database keeps its cash side as it is: only the showcase is named.
  "${MANAGE[@]}" load_cash_demo --showcase-only
fi
