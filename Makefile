# Benchmarks need PostgreSQL at 127.0.0.1:5432 (user postgres) and write only to
# their own database, splitledger_bench; see docs/benchmarks.md.
# Options go through BENCH_ARGS, e.g. make bench BENCH_ARGS="--cases 500".

PYTHON ?= .venv/bin/python

.PHONY: bench bench-cases bench-ledger bench-statements bench-api bench-portal bench-reconciliation drill-faults drill-soak

bench: bench-cases

bench-cases:
	$(PYTHON) -m bench.cases $(BENCH_ARGS)

bench-ledger:
	$(PYTHON) -m bench.ledger $(BENCH_ARGS)

bench-statements:
	$(PYTHON) -m bench.statements $(BENCH_ARGS)

bench-api:
	$(PYTHON) -m bench.api $(BENCH_ARGS)

bench-portal:
	$(PYTHON) -m bench.portal $(BENCH_ARGS)

bench-reconciliation:
	$(PYTHON) -m bench.reconciliation $(BENCH_ARGS)

# Drills: a private PostgreSQL cluster, Redis, gunicorn, Celery worker and beat
# each (bench/drills/stack.py); docs/drills.md. Options through DRILL_ARGS.
drill-faults:
	$(PYTHON) -m bench.drills.faults $(DRILL_ARGS)

drill-soak:
	$(PYTHON) -m bench.drills.soak $(DRILL_ARGS)
