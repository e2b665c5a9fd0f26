"""A case creation's body checked by hand (refunds.api.serializers.case_request)
gives exactly what RefundCaseCreateSerializer gives: the same validated data
for the bodies it takes, and the serializer's own answer for everything else."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import ValidationError

from refunds.api.serializers import (
    RefundCaseCreateSerializer,
    _fast_case_request,
    case_request,
)

LINE = {"order_line": 7, "quantity": 1, "reason": "damaged"}

# Bodies the hand check takes: what the serializer gives must be the same.
TAKEN = [
    {"order": "ORD-1", "lines": [LINE]},
    {"order": "  ORD-1 ", "lines": [{**LINE, "reason": " damaged  "}], "note": "  why  "},
    {"order": "ORD-1", "lines": [LINE], "note": ""},
    {"order": "ORD-1", "lines": [LINE], "note": "   "},
    {"order": "o" * 64, "lines": [{**LINE, "reason": "r" * 40}], "note": "n" * 5000},
    {"order": "ORD-1", "lines": [{"order_line": 7, "amount": "12.50", "reason": "late"}]},
    {"order": "ORD-1", "lines": [{"order_line": 7, "reason": "late"}]},
    {"order": "ORD-1", "lines": [{**LINE, "quantity": None, "amount": None}]},
    {"order": "ORD-1", "lines": [{**LINE, "quantity": 1_000_000_000}]},
    {"order": "ORD-1", "lines": [{**LINE, "order_line": 2**63 - 1}]},
    {"order": "ORD-1", "lines": [LINE] * 500},
    {"order": "ORD-1", "lines": [LINE], "shipping_amount": "5", "shipping_reason": "damaged"},
    {"order": "ORD-1", "lines": [LINE], "shipping_amount": None, "shipping_reason": None},
    {"order": "ORD-1", "lines": [LINE], "shipping_amount": "0.125"},
]

# Bodies it leaves to the serializer: valid ones it does not try to read (the
# serializer takes them) and invalid ones (the serializer refuses them).
LEFT = [
    None,
    [],
    "ORD-1",
    {"order": "ORD-1"},
    {"order": "ORD-1", "lines": []},
    {"order": "ORD-1", "lines": [LINE] * 501},
    {"order": "ORD-1", "lines": LINE},
    {"order": "ORD-1", "lines": [LINE], "other": 1},
    {"order": "ORD-1", "lines": [{**LINE, "other": 1}]},
    {"order": "ORD-1", "lines": [None]},
    {"order": "ORD-1", "lines": [[7, 1, "damaged"]]},
    {"order": "", "lines": [LINE]},
    {"order": "   ", "lines": [LINE]},
    {"order": "o" * 65, "lines": [LINE]},
    {"order": 12, "lines": [LINE]},
    {"order": None, "lines": [LINE]},
    {"order": "ORD\x00", "lines": [LINE]},
    {"order": "ORD\t1", "lines": [LINE]},
    {"order": "Bestellung-ü", "lines": [LINE]},
    {"order": "ORD-\ud800", "lines": [LINE]},
    {"order": "ORD-1", "lines": [{**LINE, "order_line": 0}]},
    {"order": "ORD-1", "lines": [{**LINE, "order_line": -3}]},
    {"order": "ORD-1", "lines": [{**LINE, "order_line": 7.0}]},
    {"order": "ORD-1", "lines": [{**LINE, "order_line": 7.5}]},
    {"order": "ORD-1", "lines": [{**LINE, "order_line": "7"}]},
    {"order": "ORD-1", "lines": [{**LINE, "order_line": True}]},
    {"order": "ORD-1", "lines": [{**LINE, "order_line": 2**63}]},
    {"order": "ORD-1", "lines": [{**LINE, "order_line": None}]},
    {"order": "ORD-1", "lines": [{"quantity": 1, "reason": "damaged"}]},
    {"order": "ORD-1", "lines": [{"order_line": 7, "quantity": 1}]},
    {"order": "ORD-1", "lines": [{**LINE, "quantity": 0}]},
    {"order": "ORD-1", "lines": [{**LINE, "quantity": 1_000_000_001}]},
    {"order": "ORD-1", "lines": [{**LINE, "quantity": 2.0}]},
    {"order": "ORD-1", "lines": [{**LINE, "quantity": False}]},
    {"order": "ORD-1", "lines": [{**LINE, "reason": ""}]},
    {"order": "ORD-1", "lines": [{**LINE, "reason": "r" * 41}]},
    {"order": "ORD-1", "lines": [{**LINE, "reason": None}]},
    {"order": "ORD-1", "lines": [{**LINE, "amount": 12.5}]},
    {"order": "ORD-1", "lines": [{**LINE, "amount": ""}]},
    {"order": "ORD-1", "lines": [{**LINE, "amount": " 12.50"}]},
    {"order": "ORD-1", "lines": [{**LINE, "amount": "12.5000"}]},
    {"order": "ORD-1", "lines": [{**LINE, "amount": "١٢"}]},
    {"order": "ORD-1", "lines": [LINE], "shipping_amount": 5},
    {"order": "ORD-1", "lines": [LINE], "shipping_amount": ""},
    {"order": "ORD-1", "lines": [LINE], "shipping_reason": ""},
    {"order": "ORD-1", "lines": [LINE], "shipping_reason": "   "},
    {"order": "ORD-1", "lines": [LINE], "shipping_reason": 3},
    {"order": "ORD-1", "lines": [LINE], "note": None},
    {"order": "ORD-1", "lines": [LINE], "note": "line one\nline two"},
    {"order": "ORD-1", "lines": [LINE], "note": "n" * 5001},
    {"order": "ORD-1", "lines": [LINE], "note": "été"},
]


def serializer_answer(data) -> tuple[str, object]:
    serializer = RefundCaseCreateSerializer(data=data)
    if serializer.is_valid():
        return "valid", serializer.validated_data
    return "invalid", serializer.errors


def plain(value):
    """Nested dicts and lists as plain ones (DRF may use its own dict types)."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


@pytest.mark.parametrize("data", TAKEN)
def test_a_usual_body_is_read_by_hand_as_the_serializer_reads_it(data):
    fast = _fast_case_request(data)
    assert fast is not None
    kind, expected = serializer_answer(data)
    assert kind == "valid", expected
    assert plain(fast) == plain(expected)
    assert case_request(data) == fast


@pytest.mark.parametrize("data", LEFT)
def test_any_other_body_is_left_to_the_serializer(data):
    assert _fast_case_request(data) is None
    kind, expected = serializer_answer(data)
    if kind == "valid":
        assert plain(case_request(data)) == plain(expected)
    else:
        with pytest.raises(ValidationError) as refused:
            case_request(data)
        assert refused.value.detail == expected


def test_the_hand_check_knows_every_field_of_the_serializer():
    # A field added to the serializer must be added to the hand check too: a
    # body with it is left to the serializer until then.
    body = {"order": "ORD-1", "lines": [LINE], "shipping_amount": "1", "shipping_reason": "x"}
    fields = set(RefundCaseCreateSerializer().fields)
    assert fields == {*body, "note"}
    line_fields = set(RefundCaseCreateSerializer().fields["lines"].child.fields)
    assert line_fields == {"order_line", "quantity", "amount", "reason"}
