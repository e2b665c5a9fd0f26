"""The management commands' shared argument types (lib.cli): a bad value is
refused naming the argument and the reason."""

from argparse import ArgumentTypeError
from datetime import date

import pytest
from django.core.management import CommandError, call_command

from lib.cli import iso_date, positive_int


def test_iso_date_reads_a_day_and_refuses_anything_else():
    assert iso_date("2026-03-16") == date(2026, 3, 16)
    with pytest.raises(ArgumentTypeError, match=r"'16/03/2026' is not a date \(YYYY-MM-DD\)"):
        iso_date("16/03/2026")


@pytest.mark.parametrize(
    ("text", "reason"), [("0", "must be at least 1"), ("x", "'x' is not a whole number")]
)
def test_positive_int_refuses_zero_and_words(text, reason):
    assert positive_int("3") == 3
    with pytest.raises(ArgumentTypeError, match=reason):
        positive_int(text)


@pytest.mark.parametrize(
    ("command", "args", "argument"),
    [
        ("generate_statements", ["--date", "yesterday"], "--date"),
        (
            "export_accounting",
            ["--format", "xero", "--from", "2026-13-01", "--to", "2026-12-31"],
            "--from",
        ),
        ("load_demo", ["--orders", "0"], "--orders"),
    ],
)
def test_each_command_names_the_bad_argument(db, command, args, argument):
    with pytest.raises(CommandError, match=f"argument {argument}: "):
        call_command(command, *args)
