"""Property-based test of the API against its own OpenAPI schema (Schemathesis).

The schema is loaded live from /api/schema/ through the WSGI application, and
each operation in it becomes a test: it is called with generated requests
(valid ones, and invalid ones that must be refused) as finance staff, on a
database holding orders with lines, cases in several states (one with a
shipping line, an owner, a note and an attachment), journals and a credit
note. Every check Schemathesis has runs on every answer (`--checks all`): no
server error; status codes, content types, headers and bodies as documented;
every request the schema calls invalid refused (negative_data_rejection) and
every one it calls valid accepted (positive_data_acceptance: 2xx, or a 401,
403, 404, 409 or 429 the data's state explains); methods the schema does not
list answered 405 with Allow; missing headers; auth. Beside the generated
requests, one valid request per operation whose answer carries the objects
that matter (test_a_valid_request_gets_the_documented_answer) must get the
documented status and body: the same checks, deterministic.

The application runs in-process, in this thread and on this database
connection, so it sees the data without a commit; the data is written once
for the module, and each generated request runs in a savepoint rolled back
after it, so every request sees the same data (a transactional test per
operation would spend seconds flushing tables).

Two phases: coverage (boundary and invalid values of every field, each
parameter missing, methods not listed: deterministic by construction) and
fuzzing, at most MAX_EXAMPLES requests per operation from a fixed seed
(derandomized), no shrinking, no deadline: two or three minutes. Half of the
path parameters are taken from identifiers that exist, so detail endpoints and
actions reach their real answers rather than only 404s. Every input rule of a
single value is in the schema, and both checks that compare the schema's idea
of valid input with the server's (positive_data_acceptance,
negative_data_rejection) hold on every operation. The rules JSON Schema cannot
state (across fields, or of a file's content), which the schema states in
words, are kept by the generated valid requests through a hook (map_case): a
valid order's amounts have no more decimals than its currency allows; a date
range starts before it ends, and an export's spans at most ten years; an
uploaded bank statement is one, in the format named.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any, NoReturn

import pytest
import schemathesis
from django.core import signals
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import override_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core import NOT_SET
from schemathesis.errors import FailureGroup
from schemathesis.openapi.checks import JsonSchemaError
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.tokens import create_token
from ledger.api.exports import EXPORT_MAX_DAYS
from ledger.models import Account, CreditNote, Journal
from lib.api_fields import AMOUNT_PATTERN
from lib.money import minor_unit
from refunds import outbox
from refunds.models import Order
from refunds.services import cases as case_services
from refunds.services.cases import LineRequest
from tests.cash.statement_files import Entry, camt
from tests.factories import StaffFactory, VendorFactory, main_eur_bank_account, make_order

MAX_EXAMPLES = 20
BANK_IBAN = "DE89370400440532013000"

schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json",
    get_wsgi_application(),
    config=schemathesis.Config.from_dict(
        {
            "seed": 20261122,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "no-shrink": True,
                "database": "none",
            },
            "phases": {
                # Boundary and invalid values of every field, missing parameters,
                # methods the schema does not list: ~2,400 requests, a minute or two.
                "coverage": {"enabled": True},
                # Learning from responses (case IDs, timestamps, error messages differ
                # from run to run) would make the generated requests differ too.
                "fuzzing": {
                    "extra-data-sources": {"responses": False},
                    "error-feedback": {"enabled": False},
                },
            },
            # Nor may values found in whichever modules the run has imported.
            "analysis": {"constants": {"enabled": False}},
        }
    ),
)

# How often each check passed and failed over the run, printed at the end of the module.
CHECK_TOTALS: Counter[tuple[str, str]] = Counter()


@schema.hook
def after_validate(context, case, response, results) -> None:
    for result in results:
        CHECK_TOTALS[(result.name, result.status.name.lower())] += 1


# Identifiers that exist, by collection (the path's first segment), and by name for
# the requests of test_a_valid_request_gets_the_documented_answer; see _build_data.
EXISTING: dict[str, list[Any]] = {}
NAMED: dict[str, Any] = {}


def _collection(path: str) -> str:
    return path.removeprefix("/api/v1/").split("/", 1)[0]


@schema.hook
def flatmap_path_parameters(context, path_parameters: dict[str, Any]):
    """Keep the generated parameters, or (as often) swap in an identifier that exists."""
    existing = EXISTING.get(_collection(context.operation.path))
    if not existing or not path_parameters or len(path_parameters) != 1:
        return st.just(path_parameters)
    (name,) = path_parameters
    return st.one_of(
        st.just(path_parameters), st.sampled_from(existing).map(lambda value: {name: value})
    )


def _in_minor_units(value: Any, currency: str) -> Any:
    if isinstance(value, str) and re.fullmatch(AMOUNT_PATTERN, value):
        return str(Decimal(value).quantize(minor_unit(currency), rounding=ROUND_DOWN))
    return value


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _keep_the_range(query: Any, longest: int | None) -> None:
    """date_from on or before date_to, at most `longest` days apart."""
    if not isinstance(query, dict):
        return
    first, last = _date(query.get("date_from")), _date(query.get("date_to"))
    if first is None or last is None:
        return
    first, last = min(first, last), max(first, last)
    if longest is not None and (last - first).days > longest:
        last = first + timedelta(days=longest)
    query["date_from"], query["date_to"] = first.isoformat(), last.isoformat()


@schema.hook
def map_case(context, case):
    """Rules across fields, or of a file's content, that the schema states in
    words but cannot as JSON Schema; the generated valid requests keep them,
    invalid ones are left as generated:

    - a valid order's amounts have no more decimals than its currency allows
      (5.123 EUR is refused, 400);
    - a date range starts on or before its end, and an export's spans at most
      EXPORT_MAX_DAYS (ten years);
    - an uploaded bank statement is a statement (a CAMT.053 file, of the bank
      account the data holds), in the format the request names.
    """
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return case
    path, body = context.operation.path, case.body
    if path.startswith("/api/v1/exports/"):
        _keep_the_range(case.query, EXPORT_MAX_DAYS)
    elif path == "/api/v1/reports/tax/":
        _keep_the_range(case.query, None)
    elif path == "/api/v1/bank-statements/" and isinstance(body, dict) and "file" in body:
        body["file"] = camt([Entry("-78.23", e2e="E2E-1")], iban=BANK_IBAN)
        if body.get("format") not in (None, "", "camt053"):
            body["format"] = "camt053"
    elif (
        path == "/api/v1/orders/"
        and isinstance(body, dict)
        and isinstance(body.get("currency"), str)
    ):
        currency = body["currency"]
        if "shipping_amount" in body:
            body["shipping_amount"] = _in_minor_units(body["shipping_amount"], currency)
        if isinstance(body.get("payment"), dict) and "amount" in body["payment"]:
            body["payment"]["amount"] = _in_minor_units(body["payment"]["amount"], currency)
        for line in body.get("lines") or []:
            if isinstance(line, dict) and "unit_price" in line:
                line["unit_price"] = _in_minor_units(line["unit_price"], currency)
    return case


def _build_data() -> str:
    """Orders, cases in several states, journals and a credit note; returns a staff key.

    Reads nothing but what it writes, so the generated requests (derandomized) are
    the same from run to run.
    """
    staff = StaffFactory(username="fuzz-staff")
    acme = VendorFactory(code="ACME", name="Acme Mugs")
    bolt = VendorFactory(code="BOLT", name="Bolt Tees")
    orders = [
        make_order(
            number=f"ORD-F{index}",
            shipping="10.00",
            lines=[(acme, "MUG-01", 5, "20.00", "0.10"), (bolt, "TEE-01", 5, "50.00", "0.10")],
        )
        for index in range(3)
    ]

    def open_case(order: Order):
        lines = [LineRequest(line.pk, "damaged", quantity=1) for line in order.lines.all()]
        return case_services.open_case(order=order, lines=lines, actor=staff)

    pending, approved, completed, disputed = (open_case(orders[i % 3]) for i in range(4))
    case_services.approve_case(case=approved, actor=staff)
    case_services.approve_case(case=completed, actor=staff)
    case_services.complete_case(case=completed, actor=staff, gateway_reference="re_1")
    case_services.dispute_case(case=disputed, vendor=acme, message="No", actor=None)
    # A shipping line (no vendor, no order line), an owner, a staff note, an attachment.
    shipped = case_services.open_case(
        order=orders[1], lines=[], shipping_amount="10.00", shipping_reason="late_delivery"
    )
    case_services.assign_owner(case=shipped, owner=staff, actor=staff)
    case_services.add_note(case=shipped, text="Called the customer", actor=staff)
    proof = SimpleUploadedFile("proof.png", b"\x89PNG\r\n\x1a\npng-bytes", content_type="image/png")
    case_services.add_attachment(case=shipped, file=proof, actor=staff)
    outbox.drain("ledger")
    assert CreditNote.objects.exists()
    # The bank account the uploaded statements are for (map_case).
    main_eur_bank_account(BANK_IBAN)
    EXISTING.update(
        {
            "refund-cases": [c.case_id for c in (pending, approved, completed, disputed, shipped)],
            "orders": [o.number for o in orders],
            "vendors": ["ACME", "BOLT"],
            "credit-notes": list(CreditNote.objects.values_list("number", flat=True)),
            "journals": list(Journal.objects.order_by("pk").values_list("pk", flat=True)[:5]),
            "accounts": list(Account.objects.order_by("code").values_list("code", flat=True)[:5]),
        }
    )
    NAMED.update(
        {
            "pending": pending.case_id,
            "approved": approved.case_id,
            "disputed": disputed.case_id,
            "shipped": shipped.case_id,
            "order": orders[0].number,
            "acme_line": orders[0].lines.get(vendor=acme).pk,
            "journal": Journal.objects.filter(case__isnull=True).values_list("pk", flat=True)[0],
            "credit_note": EXISTING["credit-notes"][0],
        }
    )
    _, key = create_token(user=staff)
    return key


@pytest.fixture(scope="module", autouse=True)
def _report_check_totals(request):
    yield
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is None or capture is None or not CHECK_TOTALS:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_sep("-", "schemathesis: responses checked, per check")
        for name in sorted({name for name, _ in CHECK_TOTALS}):
            passed, failed = CHECK_TOTALS[(name, "success")], CHECK_TOTALS[(name, "failure")]
            reporter.write_line(f"{name:32} {passed:6} passed {failed:4} failed")
    CHECK_TOTALS.clear()


@pytest.fixture(scope="module")
def _module_data(django_db_setup, django_db_blocker, tmp_path_factory):
    """The data, written once for the module in a transaction rolled back at its end.

    Each test runs in a savepoint within it (pytest-django's atomic block nests), and
    each example in one more, rolled back after it. The application runs in this
    thread, on this connection: it sees the data.
    """
    media = tmp_path_factory.mktemp("media")  # where fuzzed uploads go
    with override_settings(MEDIA_ROOT=media), django_db_blocker.unblock(), transaction.atomic():
        yield _build_data()
        transaction.set_rollback(True)
    EXISTING.clear()
    NAMED.clear()


@pytest.fixture
def api_key(_module_data, db):
    # As Django's test client does: a request must not close the connection (and with
    # it the test's transaction) when it ends.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield _module_data
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


# Operations whose responses do not match the schema today (reported; to be fixed in
# the serializers, then removed from here). In the generated test of such an
# operation, schema violations (and nothing else: a server error still fails it) make
# it xfail; whether a generated request reaches a failing answer is up to chance, so
# strictness is left to test_a_valid_request_gets_the_documented_answer, where every
# operation listed here has a request that must fail the same way (strict xfail).
KNOWN_SCHEMA_BUGS: dict[str, str] = {}


class KnownSchemaBug(Exception):
    """Schema violations, and nothing else, from an operation in KNOWN_SCHEMA_BUGS."""


def _known_bug(details: str) -> NoReturn:
    raise KnownSchemaBug(details)


@pytest.fixture
def known_bug(request):
    label = request.node.name.partition("[")[2].removesuffix("]")
    reason = KNOWN_SCHEMA_BUGS.get(label)
    if reason:
        request.applymarker(pytest.mark.xfail(raises=KnownSchemaBug, reason=f"reported: {reason}"))
    return reason, []


def _check(case, key: str, reason: str | None, seen: list[str]) -> None:
    try:
        # No `checks`: every check enabled in the config, i.e. all of them.
        case.call_and_validate(headers={"Authorization": f"Token {key}"})
    except FailureGroup as error:
        if reason and all(isinstance(e, JsonSchemaError) for e in error.exceptions):
            seen.append(str(error))
            _known_bug(seen[0])
        raise


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_api_honours_its_schema(case, api_key, known_bug):
    reason, seen = known_bug
    if seen:
        # Fail every later example (Hypothesis's replay included) the same way, so
        # that the outcome does not depend on what the replay happens to reach.
        _known_bug(seen[0])
    # Each example starts from the module's data and leaves nothing behind. This also
    # keeps a database error the API turned into a 4xx (e.g. a date out of range in a
    # filter) from poisoning the test's transaction for the next example: in
    # production a GET runs in autocommit and is not affected.
    savepoint = transaction.savepoint()
    try:
        _check(case, api_key, reason, seen)
    finally:
        transaction.savepoint_rollback(savepoint)


# One valid request per operation whose answer carries the objects that matter, on
# the module's data; each must get the documented status and body.
# (label, path parameters, body): path parameters that are keys of NAMED, and body
# values in {braces}, are looked up in NAMED.
# fmt: off
VALID_REQUESTS: list[tuple[str, dict[str, str], dict[str, Any] | None]] = [
    ("GET /api/v1/refund-cases/",                      {}, None),
    ("GET /api/v1/refund-cases/{case_id}/",            {"case_id": "shipped"}, None),
    ("POST /api/v1/refund-cases/",                     {}, {"order": "{order}", "lines": [{"order_line": "{acme_line}", "quantity": 1, "reason": "damaged"}]}),
    ("POST /api/v1/refund-cases/preview/",             {}, {"order": "{order}", "lines": [{"order_line": "{acme_line}", "quantity": 1, "reason": "damaged"}]}),
    ("POST /api/v1/refund-cases/{case_id}/approve/",   {"case_id": "pending"}, {}),
    ("POST /api/v1/refund-cases/{case_id}/complete/",  {"case_id": "approved"}, {"gateway_reference": "re_9"}),
    ("POST /api/v1/refund-cases/{case_id}/reject/",    {"case_id": "pending"}, {"reason": "Not ours"}),
    ("POST /api/v1/refund-cases/{case_id}/cancel/",    {"case_id": "pending"}, {"reason": "Withdrawn"}),
    ("POST /api/v1/refund-cases/{case_id}/dispute/",   {"case_id": "pending"}, {"vendor": "ACME", "message": "No"}),
    ("POST /api/v1/refund-cases/{case_id}/resolve/",   {"case_id": "disputed"}, {"message": "Split"}),
    ("POST /api/v1/refund-cases/{case_id}/notes/",     {"case_id": "pending"}, {"text": "Called"}),
    ("GET /api/v1/orders/",                            {}, None),
    ("GET /api/v1/orders/{number}/",                   {"number": "order"}, None),
    ("GET /api/v1/vendors/",                           {}, None),
    ("GET /api/v1/vendors/{code}/",                    {"code": "ACME"}, None),
    ("POST /api/v1/vendors/",                          {}, {"code": "CORK", "name": "Cork & Co"}),
    ("GET /api/v1/accounts/",                          {}, None),
    ("GET /api/v1/accounts/{code}/",                   {"code": "1000"}, None),
    ("GET /api/v1/journals/",                          {}, None),
    ("GET /api/v1/journals/{id}/",                     {"id": "journal"}, None),
    ("GET /api/v1/credit-notes/",                      {}, None),
    ("GET /api/v1/credit-notes/{number}/",             {"number": "credit_note"}, None),
    ("GET /api/v1/trial-balance/",                     {}, None),
]
# fmt: on


def _resolve(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return NAMED[value[1:-1]]
    return value


@pytest.mark.parametrize(
    ("label", "path_parameters", "body"),
    [
        pytest.param(
            *row,
            id=row[0],
            marks=[pytest.mark.xfail(strict=True, raises=KnownSchemaBug, reason=reason)]
            if (reason := KNOWN_SCHEMA_BUGS.get(row[0]))
            else [],
        )
        for row in VALID_REQUESTS
    ],
)
def test_a_valid_request_gets_the_documented_answer(api_key, label, path_parameters, body):
    method, path = label.split(" ")
    operation = schema[path][method]
    case = operation.Case(
        path_parameters={k: NAMED.get(v, v) for k, v in path_parameters.items()},
        query={"currency": "EUR"} if path.endswith("/trial-balance/") else None,
        body=_resolve(body) if body is not None else NOT_SET,
        media_type="application/json" if body is not None else None,
    )
    response = case.call(headers={"Authorization": f"Token {api_key}"})
    assert response.status_code in (200, 201), response.text[:500]
    try:
        case.validate_response(response, checks=[response_schema_conformance])
    except FailureGroup as error:
        if KNOWN_SCHEMA_BUGS.get(label) and all(
            isinstance(e, JsonSchemaError) for e in error.exceptions
        ):
            _known_bug(str(error))
        raise


def test_every_known_schema_bug_has_a_valid_request():
    assert set(KNOWN_SCHEMA_BUGS) <= {label for label, _, _ in VALID_REQUESTS}


def test_every_check_schemathesis_has_is_on():
    load_all_checks()
    names = CHECKS.get_all_names()
    assert {"negative_data_rejection", "positive_data_acceptance", "unsupported_method"} <= set(
        names
    )
    for name in names:
        assert getattr(schema.config.checks, name).enabled, name
