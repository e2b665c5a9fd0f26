"""bench.reconciliation on a small world: the pipeline's answers are right.

Correctness only (the benchmark itself measures time): nothing matched
wrongly, every line with evidence matched, the same-amount same-day twins
without references shown to a person and never matched, fees left alone.
"""

import pytest
from django.db import connection

from bench.reconciliation import baseline, pipeline
from bench.reconciliation.data import generate, write_csv
from bench.reconciliation.load import evaluate, prepare

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_the_benchmark_pipeline_matches_its_known_answers(tmp_path):
    world = generate(3000, seed=7)
    assert len(world.lines) == len(world.payouts) == 3000
    prepare(world)
    path = tmp_path / "statement.csv"
    write_csv(world, path)

    figures = pipeline.run(path)
    verdict = evaluate(world)

    assert figures["new_lines"] == 3000
    assert verdict.wrong_auto == []
    kinds = verdict.by_kind
    for kind in ("ref", "ref_twin", "batch"):
        assert kinds[kind][1] == kinds[kind][0], kind
    assert kinds["noref_twin"] == (2, 0)
    assert kinds["noref"][1] >= kinds["noref"][0] - 1  # one may meet a same-amount payout
    assert verdict.missed_without_suggestion == 0
    assert kinds["fee"] == (0, 0)  # fees pay no payout: no true pair, none matched

    with connection.cursor() as cursor:
        raw = baseline.run(path, cursor.cursor)
    truth = {line.bank_id: {world.payout_ids[i] for i in line.payouts} for line in world.lines}
    assert all(payout in truth[bank_id] for bank_id, payout in raw["pairs"].items())
