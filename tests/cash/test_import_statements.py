"""Importing statement files: each format, natural keys, re-imports, refusals."""

from contextlib import contextmanager
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cash.models import BankAccount, BankStatement, BankStatementLine, CsvMapping
from cash.services.imports import import_statement_file
from cash.statements import StatementFileError, detect_format

from .conftest import IBAN, SECOND_IBAN
from .statement_files import BILLION_LAUGHS, EXTERNAL_ENTITY, Entry, camt, mt940, ofx_sgml

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

PAYOUTS = [
    Entry("-250.00", acct_svcr_ref="BANK-0001", remittance="Payout PO-2026-0001 ACME"),
    Entry("-99.90", ntry_ref="N-77", remittance="PAYOUT-17"),
    Entry("1200.00", remittance="Stripe payout po_1QxYz"),
]


@contextmanager
def refused(code: str, *, says: str = ""):
    """The import is refused with `code` (and a message containing `says`) and
    nothing at all is written."""
    before = (BankStatement.objects.count(), BankStatementLine.objects.count())
    with pytest.raises(StatementFileError) as caught:
        yield caught
    assert caught.value.code == code, caught.value.message
    assert says in caught.value.message
    assert (BankStatement.objects.count(), BankStatementLine.objects.count()) == before


def lines():
    return list(BankStatementLine.objects.order_by("id"))


# ---------------------------------------------------------------- CAMT.053


def test_a_camt_statement_imports_each_booked_entry_once_with_its_natural_key(account):
    data = camt([*PAYOUTS, Entry("-5.00", status="PDNG")])
    result = import_statement_file(data=data, file_name="nov.xml")
    assert (result.format, result.new_lines, result.known_lines) == ("camt053", 3, 0)
    got = lines()
    assert [line.natural_key for line in got[:2]] == ["ref:BANK-0001", "ntry:N-77"]
    assert [line.key_source for line in got] == ["acct_svcr_ref", "ntry_ref", "hash"]
    assert got[2].natural_key.startswith("h1:")
    assert [line.amount for line in got] == [
        Decimal("-250.00"),
        Decimal("-99.90"),
        Decimal("1200.00"),
    ]
    assert [line.amount_minor for line in got] == [-25000, -9990, 120000]
    assert got[0].counterparty == "ACME GmbH"
    assert got[0].reference_keys == "PO20260001"
    statement = BankStatement.objects.get()
    assert (statement.opening_balance, statement.closing_balance) == (
        Decimal("1000.00"),
        Decimal("1850.10"),
    )
    assert (statement.account, statement.new_lines, statement.line_count) == (account, 3, 3)


def test_the_same_file_twice_adds_nothing(account):
    data = camt(PAYOUTS)
    import_statement_file(data=data)
    again = import_statement_file(data=data)
    assert again.already_imported
    assert (again.new_lines, again.known_lines) == (0, 3)
    assert BankStatement.objects.count() == 1 and BankStatementLine.objects.count() == 3


def test_the_same_statement_in_a_rewritten_file_adds_nothing(account):
    import_statement_file(data=camt(PAYOUTS))
    rewritten = camt(PAYOUTS).replace(b"<GrpHdr><MsgId>M1", b"<GrpHdr><MsgId>M2")
    again = import_statement_file(data=rewritten)
    assert not again.already_imported
    assert (again.new_lines, again.known_lines) == (0, 3)
    assert BankStatement.objects.count() == 1 and BankStatementLine.objects.count() == 3


def test_an_overlapping_statement_adds_only_its_new_lines(account):
    import_statement_file(data=camt(PAYOUTS[:2]))
    later = camt([*PAYOUTS, Entry("-1.00", acct_svcr_ref="BANK-0009")], statement_id="S2")
    result = import_statement_file(data=later)
    assert (result.new_lines, result.known_lines) == (2, 2)
    assert BankStatementLine.objects.count() == 4


def test_a_known_line_the_probes_miss_is_still_left_out(account):
    # The import probes a sample of a file's keys and, finding none known,
    # writes the lines at once; a known line between the probes makes that
    # COPY fail on the unique key, and the careful count takes over.
    import_statement_file(data=camt([Entry("-5.00", acct_svcr_ref="KNOWN")]))
    new = [Entry("-1.00", acct_svcr_ref=f"NEW-{n:04}") for n in range(600)]
    # 601 lines: every second key is probed (and the last); the known one is not.
    later = camt([new[0], Entry("-5.00", acct_svcr_ref="KNOWN"), *new[1:]], statement_id="S2")
    result = import_statement_file(data=later)
    assert (result.new_lines, result.known_lines) == (600, 1)
    assert BankStatementLine.objects.count() == 601
    assert BankStatementLine.objects.filter(natural_key="ref:KNOWN").count() == 1
    statement = BankStatement.objects.get(statement_ref="S2")
    assert (statement.new_lines, statement.known_lines) == (600, 1)
    assert BankStatement.objects.count() == 2


def test_a_statement_without_lines_is_kept_once(account):
    empty = camt([], statement_id="QUIET-DAY")
    first = import_statement_file(data=empty)
    assert (first.new_lines, first.known_lines) == (0, 0)
    rewritten = empty.replace(b"<GrpHdr><MsgId>M1", b"<GrpHdr><MsgId>M2")
    import_statement_file(data=rewritten)
    assert BankStatement.objects.filter(statement_ref="QUIET-DAY").count() == 1


def test_same_day_twins_without_ids_are_both_kept_and_not_doubled_on_reimport(account):
    twins = [Entry("-40.00", remittance="coffee"), Entry("-40.00", remittance="coffee")]
    import_statement_file(data=camt(twins))
    assert BankStatementLine.objects.count() == 2
    keys = [line.natural_key for line in lines()]
    assert keys[0].endswith(":1") and keys[1].endswith(":2")
    again = import_statement_file(data=camt(twins, statement_id="again"))
    assert (again.new_lines, again.known_lines) == (0, 2)


def test_one_id_on_two_lines_keeps_both_and_flags_the_conflict(account):
    entries = [Entry("-10.00", acct_svcr_ref="DUP"), Entry("-0.50", acct_svcr_ref="DUP")]
    result = import_statement_file(data=camt(entries))
    assert result.outcomes[0].key_conflicts == 2
    assert [(line.natural_key, line.key_conflict) for line in lines()] == [
        ("ref:DUP", True),
        ("ref:DUP#2", True),
    ]


def test_a_statement_whose_lines_miss_the_closing_balance_is_refused(account):
    with refused("balances_do_not_add_up", says="difference of 0.01 EUR"):
        import_statement_file(data=camt(PAYOUTS, closing="1850.11"))


def test_a_file_for_an_unknown_account_is_refused(account):
    with refused("unknown_account", says=SECOND_IBAN):
        import_statement_file(data=camt(PAYOUTS, iban=SECOND_IBAN))


def test_the_account_can_be_named_when_the_file_names_none_known(account):
    result = import_statement_file(data=camt(PAYOUTS, iban=SECOND_IBAN), account=account)
    assert result.outcomes[0].account == account


def test_naming_another_account_than_the_file_is_refused(account, second_account):
    with refused("other_account", says="Main EUR"):
        import_statement_file(data=camt(PAYOUTS), account=second_account)


def test_a_statement_in_another_currency_than_the_account_is_refused(account):
    with refused("currency_mismatch", says="USD"):
        import_statement_file(data=camt(PAYOUTS, currency="USD"))


def test_a_multi_account_file_imports_each_statement_to_its_account(account, second_account):
    second = camt([Entry("7.00", acct_svcr_ref="X1")], iban=SECOND_IBAN)
    inner = second.split(b"<Stmt>", 1)[1].split(b"</BkToCstmrStmt>")[0]
    data = camt(PAYOUTS, extra_statements="<Stmt>" + inner.decode())
    result = import_statement_file(data=data)
    assert [(o.account.name, o.new_lines) for o in result.outcomes] == [
        ("Main EUR", 3),
        ("Second", 1),
    ]


@pytest.mark.parametrize(
    "hostile", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion_laughs", "xxe"]
)
def test_hostile_xml_is_refused_before_anything_is_expanded(account, hostile):
    with refused("hostile_xml", says="DTD"):
        import_statement_file(data=hostile, fmt="camt053")


def test_malformed_xml_is_refused_with_its_line(account):
    broken = camt(PAYOUTS).replace(b"</Stmt>", b"</Stmtx>")
    with refused("invalid_file", says="line 2"):
        import_statement_file(data=broken)


def test_an_entry_without_a_booking_date_is_refused_with_its_number(account):
    data = camt(PAYOUTS).replace(
        b"<BookgDt><DtTm>2026-11-02T10:00:00+01:00</DtTm></BookgDt>", b"", 1
    )
    with refused("invalid_file", says="statement 1, entry 1"):
        import_statement_file(data=data)


# ---------------------------------------------------------------- OFX


def test_an_ofx_statement_keys_lines_by_fitid(bank_ledger_account):
    BankAccount.objects.create(
        name="Card", account_number="12345678", currency="EUR", ledger_account=bank_ledger_account
    )
    data = ofx_sgml([("F1", "20261102", "-20.00", "PO-2026-0003"), ("F2", "20261103", "15.50", "")])
    result = import_statement_file(data=data)
    assert (result.format, result.new_lines) == ("ofx", 2)
    assert [line.natural_key for line in lines()] == ["fitid:F1", "fitid:F2"]
    statement = BankStatement.objects.get()
    assert statement.opening_balance is None and statement.closing_balance == Decimal("500.00")
    assert import_statement_file(data=data).known_lines == 2


def test_an_ofx_file_declaring_entities_is_refused(account):
    data = ofx_sgml([("F1", "20261102", "-20.00", "x")]).replace(
        b"<OFX>", b'<!DOCTYPE OFX [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<OFX>', 1
    )
    with refused("hostile_xml"):
        import_statement_file(data=data, account=account)


def test_an_ofx_amount_that_is_not_a_number_is_refused_with_its_transaction(bank_ledger_account):
    BankAccount.objects.create(
        name="Card", account_number="12345678", currency="EUR", ledger_account=bank_ledger_account
    )
    data = ofx_sgml([("F1", "20261102", "-20.00", ""), ("F2", "20261103", "12,5x", "")])
    with refused("invalid_file", says="transaction 2 (FITID F2) TRNAMT"):
        import_statement_file(data=data)


def test_an_ofx_file_whose_nesting_loses_a_transaction_is_refused(account):
    data = ofx_sgml([("F1", "20261102", "-20.00", "m"), ("F2", "20261102", "-1.00", "m")])
    with refused("invalid_file", says="2 <STMTTRN> elements but 1 could be read"):
        import_statement_file(data=data.replace(b"<MEMO>m\n", b"<MEMO>\n", 1), account=account)


# ---------------------------------------------------------------- MT940


def test_an_mt940_file_with_two_statements_keeps_each_ones_balances(account):
    data = mt940(
        [
            (
                "STMT1",
                "C261101EUR1000,00",
                "C261102EUR750,00",
                [":61:2611021102D250,00NTRFNONREF//B-1", ":86:Payout PO-2026-0001"],
            ),
            (
                "STMT1",  # banks reuse :20:
                "C261102EUR750,00",
                "C261103EUR740,00",
                [":61:2611031103D10,00NTRFNONREF", ":86:Fee"],
            ),
        ]
    )
    result = import_statement_file(data=data)
    assert [(o.new_lines, o.statement.opening_balance) for o in result.outcomes] == [
        (1, Decimal("1000.00")),
        (1, Decimal("750.00")),
    ]
    assert [line.key_source for line in lines()] == ["mt940_ref", "hash"]
    assert lines()[0].natural_key == "ref:B-1"
    assert "PO-2026-0001" in lines()[0].remittance


def test_an_mt940_line_that_does_not_parse_is_refused_with_its_line_number(account):
    data = mt940([("S", "C261101EUR0,00", "D261102EUR25,03", [":61:2611XXD25,03NTRFNONREF"])])
    with refused("invalid_file", says="line 6"):
        import_statement_file(data=data)


def test_an_mt940_statement_that_does_not_add_up_is_refused(account):
    data = mt940([("S", "C261101EUR0,00", "C261102EUR3,47", [":61:261102D25,03NTRFNONREF"])])
    with refused("balances_do_not_add_up", says="statement 1 (line 2)"):
        import_statement_file(data=data)


# ---------------------------------------------------------------- CSV


@pytest.fixture
def mapping(account) -> CsvMapping:
    mapping = CsvMapping.objects.create(
        name="Sparkasse",
        delimiter=";",
        skip_rows=1,
        date_format="%d.%m.%Y",
        decimal_comma=True,
        booking_date_column="Buchungstag",
        value_date_column="Valuta",
        debit_column="Soll",
        credit_column="Haben",
        counterparty_column="Empfänger",
        remittance_column="Verwendungszweck",
        balance_column="Saldo",
    )
    account.csv_mapping = mapping
    account.save()
    return mapping


SPARKASSE = (
    "Umsätze Girokonto\n"
    "Buchungstag;Valuta;Empfänger;Verwendungszweck;Soll;Haben;Saldo\n"
    "02.11.2026;02.11.2026;ACME GmbH;Payout PO-2026-0001;250,00;;750,00\n"
    '03.11.2026;03.11.2026;"Bob; Co";Coffee;4,00;;746,00\n'
    "03.11.2026;03.11.2026;Bob;Coffee;4,00;;742,00\n"
    "04.11.2026;04.11.2026;Stripe;po_1Qx;;1.200,00;1.942,00\n"
)


def test_a_csv_export_reads_with_its_saved_mapping(mapping, account):
    result = import_statement_file(data=SPARKASSE.encode(), account=account)
    assert (result.format, result.new_lines) == ("csv", 4)
    assert [line.amount for line in lines()] == [
        Decimal("-250.00"),
        Decimal("-4.00"),
        Decimal("-4.00"),
        Decimal("1200.00"),
    ]
    statement = BankStatement.objects.get()
    assert (statement.opening_balance, statement.closing_balance) == (
        Decimal("1000.00"),
        Decimal("1942.00"),
    )
    assert lines()[1].counterparty == "Bob; Co"
    assert import_statement_file(data=SPARKASSE.encode() + b"\n").known_lines == 4


def test_a_csv_row_with_a_bad_date_is_refused_with_its_row(mapping, account):
    data = SPARKASSE.replace("03.11.2026;03.11.2026;Bob;", "2026-11-03;03.11.2026;Bob;")
    with refused("invalid_file", says="row 5"):
        import_statement_file(data=data.encode(), account=account)


def test_a_csv_running_balance_that_breaks_is_refused_with_its_row(mapping, account):
    data = SPARKASSE.replace(";742,00", ";741,00")
    with refused("invalid_file", says="row 5: the balance 741.00"):
        import_statement_file(data=data.encode(), account=account)


def test_a_csv_without_a_mapped_column_is_refused(mapping, account):
    data = SPARKASSE.replace("Saldo", "Kontostand")
    with refused("invalid_file", says="no column 'Saldo'"):
        import_statement_file(data=data.encode(), account=account)


def test_csv_cells_with_copys_special_characters_are_stored_as_the_bank_wrote_them(account):
    # COPY's text format escapes backslash, tab, newline and carriage return;
    # the unit separator is what the import joins a row's cells with before
    # escaping them in one pass, so a cell holding one takes the slow path.
    account.csv_mapping = CsvMapping.objects.create(
        name="With ids",
        booking_date_column="Date",
        amount_column="Amount",
        remittance_column="Text",
        reference_column="Id",
    )
    account.save()
    references = ["A\tB\\C", "D\x1fE", "F\rG", "plain"]
    rows = "".join(
        f'2026-11-0{day},-1.00,"{text}","{reference}"\n'
        for day, (text, reference) in enumerate(
            zip(["back\\slash", "unit \x1f sep", "new\nline", "x"], references, strict=True),
            start=1,
        )
    )
    data = ("Date,Amount,Text,Id\n" + rows).encode()
    assert import_statement_file(data=data, account=account).new_lines == 4
    stored = [(line.remittance, line.bank_reference, line.natural_key) for line in lines()]
    assert stored == [
        ("back\\slash", "A\tB\\C", "id:A\tB\\C"),
        ("unit sep", "D\x1fE", "id:D\x1fE"),
        ("new line", "F\rG", "id:F\rG"),
        ("x", "plain", "id:plain"),
    ]
    assert import_statement_file(data=data + b"\n", account=account).known_lines == 4


# ---------------------------------------------------------------- detection and command


def test_the_format_is_detected_from_the_content():
    assert detect_format(camt(PAYOUTS)) == "camt053"
    assert detect_format(ofx_sgml([])) == "ofx"
    assert detect_format(mt940([("S", "C261101EUR0,00", "C261101EUR0,00", [])])) == "mt940"
    assert detect_format(SPARKASSE.encode()) == "csv"


def test_the_command_prints_new_and_known_lines(account, tmp_path):
    path = tmp_path / "nov.xml"
    path.write_bytes(camt(PAYOUTS))
    out = StringIO()
    call_command("import_bank_statement", str(path), stdout=out)
    assert "camt053: 3 new lines, 0 already imported" in out.getvalue()
    out = StringIO()
    call_command("import_bank_statement", str(path), "--account", IBAN, stdout=out)
    assert "0 new lines, 3 already imported" in out.getvalue()


def test_the_command_reports_a_refusal_as_an_error(account, tmp_path):
    path = tmp_path / "bad.xml"
    path.write_bytes(camt(PAYOUTS, closing="1.00"))
    with pytest.raises(CommandError, match=r"bad\.xml: statement 1: the opening balance"):
        call_command("import_bank_statement", str(path))


def test_keys_stay_unique_when_a_bank_id_looks_like_a_repeat():
    """The second "X" is keyed X#2; a bank id that is itself "X#2" must not
    take the same key (the import would refuse the whole file)."""
    from datetime import date
    from decimal import Decimal

    from cash.statements.base import ParsedLine
    from cash.statements.keys import assign_keys

    def line(key_id: str) -> ParsedLine:
        return ParsedLine(
            booking_date=date(2026, 11, 2),
            amount=Decimal("1.00"),
            currency="EUR",
            key_id=key_id,
            key_source="acct_svcr_ref",
        )

    keys = [key for key, _, _ in assign_keys("1", [line("X"), line("X"), line("X#2")])]
    assert keys == ["ref:X", "ref:X#2", "ref:X#2#2"]
    assert len(set(keys)) == 3
