"""The shared admin building blocks (lib.admin, lib.downloads, lib.csvfile)."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django import forms
from django.contrib.admin.sites import AdminSite
from django.http import Http404
from django.test import RequestFactory

from lib.admin import (
    NoEditAdmin,
    ReadOnlyAdmin,
    ViewOnlyAdmin,
    add_domain_error,
    currency_of,
    money_cell,
    money_column,
)
from lib.csvfile import safe_cell
from lib.downloads import download, stored_file_response
from lib.errors import DomainError
from lib.money import display_money
from vendors.models import Vendor


class PayoutLike(forms.Form):
    amount = forms.DecimalField()


def test_a_domain_error_lands_on_the_field_it_names():
    form = PayoutLike(data={"amount": "5"})
    assert form.is_valid()

    add_domain_error(form, DomainError("amount", "More than is owed."))

    assert form.errors == {"amount": ["More than is owed."]}


def test_a_domain_error_for_a_field_the_form_lacks_is_shown_above_it_with_the_name():
    form = PayoutLike(data={"amount": "5"})
    assert form.is_valid()

    add_domain_error(form, DomainError("account", "No bank account."))

    assert form.non_field_errors() == ["account: No bank account."]


def test_a_domain_error_can_be_placed_on_another_field():
    form = PayoutLike(data={"amount": "5"})
    assert form.is_valid()

    add_domain_error(form, DomainError("email", "A valid email address is required."), "amount")

    assert form.errors == {"amount": ["A valid email address is required."]}


@pytest.mark.parametrize(
    ("base", "add", "change", "delete"),
    [(NoEditAdmin, False, False, True), (ViewOnlyAdmin, False, False, False)],
)
def test_read_only_bases_refuse_what_they_say(base, add, change, delete, rf, admin_user):
    model_admin = base(Vendor, AdminSite())
    request = rf.get("/")
    request.user = admin_user

    assert model_admin.has_add_permission(request) is add
    assert model_admin.has_change_permission(request) is change
    assert model_admin.has_delete_permission(request) is delete
    assert model_admin.has_view_permission(request) is True


def test_read_only_admin_never_counts_the_whole_table():
    assert ReadOnlyAdmin.show_full_result_count is False


def test_money_cells_and_display_agree_on_none_and_thousands():
    assert display_money(None, "EUR") == "-"
    assert display_money(Decimal("10592.885"), "EUR") == "10,592.88 EUR"
    assert money_cell(Decimal("1500"), "JPY") == '<span class="money">1,500 JPY</span>'
    assert money_cell(None, "EUR") == '<span class="money">-</span>'


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("Acme = mugs", "Acme = mugs"),
        ("", ""),
        (None, ""),
    ],
)
def test_csv_cells_never_start_a_formula(value, cell):
    assert safe_cell(value) == cell


def test_a_download_is_an_attachment_whether_bytes_or_streamed():
    pdf = download(b"%PDF-1.4", filename="CN-1.pdf", content_type="application/pdf")
    csv = download(iter(["a,b\n"]), filename="x.csv", content_type="text/csv")

    assert pdf["Content-Disposition"] == 'attachment; filename="CN-1.pdf"'
    assert pdf.content == b"%PDF-1.4"
    assert csv["Content-Disposition"] == 'attachment; filename="x.csv"'
    assert b"".join(csv.streaming_content) == b"a,b\n"


def test_a_stored_file_missing_from_storage_is_a_404_not_a_500(tmp_path, settings):
    from refunds.models import Attachment

    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "receipt.pdf").write_bytes(b"data")
    attachment = Attachment(filename="receipt.pdf")
    attachment.file.name = "receipt.pdf"

    response = stored_file_response(attachment.file, filename="receipt.pdf", content_type="")
    assert response["Content-Type"] == "application/octet-stream"
    assert b"".join(response.streaming_content) == b"data"
    response.file_to_stream.close()

    (tmp_path / "receipt.pdf").unlink()
    gone = Attachment(filename="receipt.pdf")
    gone.file.name = "receipt.pdf"
    with pytest.raises(Http404, match="missing from storage"):
        stored_file_response(gone.file, filename="receipt.pdf", content_type="")
    with pytest.raises(Http404, match="No such attachment"):
        stored_file_response(Attachment().file, filename="x", content_type="")


@pytest.fixture
def rf():
    return RequestFactory()


def test_money_column_reads_its_own_or_a_relations_currency_and_sorts_when_told():
    line = SimpleNamespace(
        total=Decimal("1234.5"), currency="EUR", order=SimpleNamespace(currency="JPY")
    )
    own = money_column("total", "total", ordering="total")
    assert own(None, line) == '<span class="money">1,234.50 EUR</span>'
    assert (own.short_description, own.admin_order_field) == ("total", "total")

    related = money_column("total", "total", currency_of("order"))
    assert related(None, line) == money_cell(Decimal("1234.5"), "JPY")
    assert not hasattr(related, "admin_order_field")
