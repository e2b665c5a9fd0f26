# Benchmarks need PostgreSQL at 127.0.0.1:5432 (user postgres) and write only to
# their own database, splitledger_bench; see docs/benchmarks.md.
# Options go through BENCH_ARGS, e.g. make bench BENCH_ARGS="--cases 500".

PYTHON ?= .venv/bin/python

BENCHES = cases ledger ledger_scale statements api portal reconciliation

.PHONY: bench $(addprefix bench-,$(BENCHES)) drill-faults drill-soak drill-compose

bench: bench-cases

# bench-cases, bench-ledger, ...: python -m bench.<name>
$(addprefix bench-,$(BENCHES)): bench-%:
	$(PYTHON) -m bench.$* $(BENCH_ARGS)

# Drills: a private PostgreSQL cluster, Redis, gunicorn, Celery worker and beat
# each (bench/drills/stack.py); docs/drills.md. Options through DRILL_ARGS.
drill-faults:
	$(PYTHON) -m bench.drills.faults $(DRILL_ARGS)

drill-soak:
	$(PYTHON) -m bench.drills.soak $(DRILL_ARGS)

# docker-compose.yml's services run by hand (no Docker daemon needed): each
# command and healthcheck as the containers would run them; docs/drills.md.
drill-compose:
	$(PYTHON) -m bench.drills.compose_by_hand $(DRILL_ARGS)
