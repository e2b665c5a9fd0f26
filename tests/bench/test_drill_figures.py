"""The drills' arithmetic (bench/drills/figures.py): the drills themselves are
programs run by hand (docs/drills.md), not tests."""

from bench.drills.faults import Fault, parse_args, plan
from bench.drills.figures import (
    Recorder,
    account,
    backoff_seconds,
    memory_rows,
    should_retry,
)
from bench.drills.seed import order_body


def test_account_counts_lost_and_duplicated_per_operation():
    tally = account("case", ["A", "B", "C", "D"], {"A": 1, "B": 0, "C": 2, "X": 5})
    assert tally.expected == 4
    assert tally.found == 2  # A and C
    assert tally.lost == ["B", "D"]
    assert tally.duplicated == {"C": 2}


def test_account_of_a_clean_run():
    tally = account("order", ["A", "B"], {"A": 1, "B": 1})
    assert (tally.found, tally.lost, tally.duplicated) == (2, [], {})


def test_retry_on_transport_errors_5xx_429_and_retryable_409_only():
    assert should_retry(None, None)
    assert should_retry(503, "5")
    assert should_retry(500, None)
    assert should_retry(429, "1")
    assert should_retry(409, "1")
    assert not should_retry(409, None)  # a conflict that retrying will not change
    assert not should_retry(400, None)
    assert not should_retry(201, None)


def test_backoff_follows_retry_after_and_doubles_up_to_the_cap():
    assert backoff_seconds(1, "3") == 3
    assert backoff_seconds(1, "600") == 5
    assert backoff_seconds(1, None) == 0.1
    assert backoff_seconds(3, None) == 0.4
    assert backoff_seconds(30, "soon") == 5


def test_recorder_percentiles_errors_and_resets_per_endpoint():
    recorder = Recorder()
    for ms in range(1, 101):
        recorder.record("GET /x", ms * 1_000_000, 200, True)
    recorder.record("GET /y", 5_000_000, 500, False, "boom")
    recorder.reset("GET /y")
    rows = {row[0]: row for row in recorder.rows()}
    assert rows["GET /x"] == ("GET /x", "100", "50.0", "99.0", "100.0", "0", "0")
    assert rows["GET /y"] == ("GET /y", "1", "5.0", "5.0", "5.0", "1", "1")
    assert recorder.total_errors == 1
    assert recorder.total_resets == 1
    assert recorder.error_samples == ["GET /y: 500 boom"]


def test_memory_rows_per_role_at_start_and_end():
    rows = memory_rows({"web": [1024, 2048]}, {"web": [3072], "db": [512]})
    assert rows == [("web", "2", "3", "2", "1", "3", "3"), ("db", "0", "-", "-", "1", "0", "0")]


def test_faults_are_interleaved_and_spread_over_the_run():
    args = parse_args(["--pg-stops", "2", "--redis-outages", "1", "--celery-kills", "0"])
    args.celery_restarts, args.web_kills = 0, 1
    faults = plan(args)
    assert [f.kind for f in faults] == ["postgres", "redis", "gunicorn", "postgres"]
    assert all(isinstance(f, Fault) and 0.05 < f.at < 0.85 for f in faults)
    assert [f.at for f in faults] == sorted(f.at for f in faults)


def test_quick_keeps_what_is_given_explicitly():
    args = parse_args(["--quick", "--posts", "400"])
    assert (args.posts, args.threads, args.redis_down) == (400, 4, 5.0)


def test_an_order_body_pays_exactly_its_total():
    from decimal import Decimal

    body = order_body("N-1", 2, ["V00", "V01"])
    lines = body["lines"]
    net = sum(Decimal(line["unit_price"]) * line["quantity"] for line in lines)
    tax = sum(
        (Decimal(line["unit_price"]) * line["quantity"] * Decimal(line["tax_rate"])).quantize(
            Decimal("0.01")
        )
        for line in lines
    )
    assert Decimal(body["payment"]["amount"]) == net + tax + Decimal(body["shipping_amount"])
    assert [line["vendor"] for line in lines] == ["V00", "V01"]
