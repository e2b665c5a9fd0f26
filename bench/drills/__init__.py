"""Drills: the fault run, the soak and compose by hand, programs run by hand (not in CI).

The fault run and the soak start a private stack (`stack.py`): a PostgreSQL cluster of their own
(initdb into a temporary directory, on a free port, so stopping it touches
nobody else's database), a redis-server, gunicorn serving the app with
production settings, a Celery worker and beat; then they drive it over HTTP.

    python -m bench.drills.faults [--quick]   # docs/drills.md, "Fault run"
    python -m bench.drills.soak [--minutes 10]  # docs/drills.md, "Soak"

`compose_by_hand` starts docker-compose.yml's services themselves, with their
own commands and healthchecks, where no Docker daemon runs:

    python -m bench.drills.compose_by_hand  # docs/drills.md, "Compose by hand"
"""
