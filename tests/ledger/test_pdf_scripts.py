"""Credit notes and settlement statements print names in any script.

Each PDF is read back with poppler's pdftotext (which puts right-to-left text
back in logical order) and must contain the name as written; a glyph the
embedded font lacks, an unshaped or mis-ordered Arabic/Hebrew name, or a
built-in Latin-1 font would each fail it. The PDF must also embed the font
that covers the script. PNGs of the pages go to test-artifacts/ for a look.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics

from ledger.credit_notes import issue_credit_note
from ledger.fonts import markup, pdf_fonts, visual_order
from ledger.invoices import issue_invoices
from ledger.models import Invoice, IssuerProfile, SettlementStatement
from ledger.pdf import credit_note_pdf, invoice_pdf
from ledger.settlements.exports import statement_pdf
from refunds.models import Order
from refunds.services.cases import LineRequest
from tests.factories import VendorFactory, make_order, worked_refund_lines
from tests.ledger.test_credit_notes import complete
from tests.ledger.test_settlements import generate, pay, sell

# (customer/vendor name, an address line, the font that must print it)
SCRIPTS = {
    "latin": ("Zoë Ångström-Dvořák Łęcka", "Straße 5, Øresund", "NotoSans"),
    "greek": ("Ελένη Παπαδοπούλου", "Οδός Ερμού 12, Αθήνα", "NotoSans"),
    "cyrillic": ("Дмитрий Иванов", "ул. Тверская 7, Москва", "NotoSans"),
    "chinese": ("王小明", "北京市朝阳区建国路88号", "WQYMicroHei"),
    "japanese": ("山田 はなこ カタカナ", "東京都千代田区丸の内1-9-1", "WQYMicroHei"),
    "korean": ("김민준", "서울특별시 종로구 세종대로 175", "WQYMicroHei"),
    "arabic": ("محمد بن علي", "شارع الملك فهد 12، الرياض", "NotoSansArabic"),
    "hebrew": ("שלום בן כהן", "רחוב הרצל 5, תל אביב", "NotoSansHebrew"),
}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
BIDI_CONTROLS = dict.fromkeys(
    map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)


def needs(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is missing: scripts/test.sh installs poppler-utils")
    return path


def normalise(value: str) -> str:
    """NFKC (Arabic presentation forms back to letters), no bidi marks, one space."""
    value = unicodedata.normalize("NFKC", value).translate(BIDI_CONTROLS)
    return re.sub(r"\s+", " ", value).strip()


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        [needs("pdftotext"), "-enc", "UTF-8", str(path), "-"],
        check=True,
        capture_output=True,
    )
    return normalise(out.stdout.decode())


def embedded_fonts(pdf: bytes, tmp_path: Path) -> set[str]:
    """Base names of the fonts whose program is in the PDF (subset prefix dropped)."""
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    names = set()
    for page in PdfReader(path).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", [font]):
                descriptor = descendant.get_object().get("/FontDescriptor")
                if descriptor is None:
                    continue
                descriptor = descriptor.get_object()
                if "/FontFile2" in descriptor or "/FontFile" in descriptor:
                    names.add(str(font["/BaseFont"]).split("+")[-1])
    return names


def has_words(extracted: str, expected: str) -> bool:
    """Every word of letters of `expected` is in the text. pdftotext reorders a
    right-to-left line that has numbers in it by its own heuristic (it splits
    the line at the numbers) and drops a hyphen that ends a line, so phrases
    with numbers are compared by their words; names are compared whole."""
    words = set(re.findall(r"[^\W\d_]+", extracted))
    return all(word in words for word in re.findall(r"[^\W\d_]+", normalise(expected)))


def snapshot(pdf: bytes, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(
        [needs("pdftoppm"), "-r", "90", "-png", "-f", "1", "-l", "1", str(path), str(path)[:-4]],
        check=True,
    )


def embeds(pdf: bytes, family: str, tmp_path: Path) -> bool:
    """Whether the PDF embeds the family's font (reportlab names the embedded
    font after the face's PostScript name, with a subset suffix)."""
    face = pdfmetrics.getFont(family).face.name.decode()
    return any(
        name == face or name.startswith(f"{face}-") for name in embedded_fonts(pdf, tmp_path)
    )


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_credit_note_prints_the_customer_in_any_script(script, acme, alice, tmp_path):
    name, address, family = SCRIPTS[script]
    order = make_order(lines=[(acme, "MUG-01", 1, "20.00", "0.10")])
    Order.objects.filter(pk=order.pk).update(
        customer_name=name, customer_address=f"{address}\n{name}"
    )
    order.lines.update(description=f"Mug {name}")
    case = complete(order, [LineRequest(order.lines.get().pk, "damaged", quantity=1)], actor=alice)
    note = issue_credit_note(case)

    pdf = credit_note_pdf(note)
    snapshot(pdf, f"credit-note-{script}")
    extracted = pdf_text(pdf, tmp_path)

    assert normalise(name) in extracted
    assert has_words(extracted, address)
    assert f"MUG-01 Mug {normalise(name)}" in extracted
    assert embeds(pdf, family, tmp_path)


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_statement_prints_the_vendor_in_any_script(script, alice, tmp_path):
    name, reference, family = SCRIPTS[script]
    vendor = VendorFactory(
        code="INTL", name=name, commission_rate="0.1000", payout_frequency="weekly"
    )
    sell(vendor, date(2026, 3, 3), mugs=2)
    pay(vendor, date(2026, 3, 4), "10.00", reference)
    generate(date(2026, 3, 9))
    statement = SettlementStatement.objects.get(vendor=vendor)

    pdf = statement_pdf(statement)
    snapshot(pdf, f"statement-{script}")
    extracted = pdf_text(pdf, tmp_path)

    assert normalise(name) in extracted
    # The payout's memo, a plain table cell the base font cannot print alone.
    assert has_words(extracted, f"Payout {reference}")
    assert embeds(pdf, family, tmp_path)


def test_every_character_of_the_names_has_a_font():
    fonts = pdf_fonts()
    for name, address, family in SCRIPTS.values():
        for char in name + address:
            if not char.isspace():
                assert fonts.face_for(char) is not None, (char, name)
        assert any(f.name == family for f in fonts.families)


def test_right_to_left_words_are_laid_out_right_to_left():
    # A left-to-right page: the first Arabic word ends up rightmost.
    assert visual_order("Order 12 محمد بن علي paid") == "Order 12 علي بن محمد paid"
    # A number between Hebrew words stays inside the run.
    assert visual_order("שלום 5 כהן") == "כהן 5 שלום"
    assert visual_order("Zoë Ελένη") == "Zoë Ελένη"


def test_markup_escapes_and_picks_a_font_per_script():
    assert markup("A & <B> 王") == 'A &amp; &lt;B&gt; <font face="WQYMicroHei">王</font>'


@pytest.fixture
def worked_case(worked_order, alice):
    """DESIGN's worked example (as in test_credit_notes): a damaged mug, 5.50 late on the tee."""
    Order.objects.filter(pk=worked_order.pk).update(customer_name="Jane Doe")
    return complete(
        worked_order,
        worked_refund_lines(worked_order),
        actor=alice,
    )


def test_the_credit_note_shows_issuer_customer_address_reasons_and_order(worked_case, tmp_path):
    IssuerProfile.objects.update_or_create(
        pk=1,
        defaults={
            "legal_name": "Splitledger Marketplace GmbH",
            "address": "Torstraße 1\n10119 Berlin\nGermany",
            "vat_id": "DE123456789",
            "email": "billing@example.com",
        },
    )
    Order.objects.filter(pk=worked_case.order_id).update(
        customer_address="1 Main Street\nDublin D01 F5P2"
    )
    note = issue_credit_note(worked_case)
    assert note.customer_address == "1 Main Street\nDublin D01 F5P2"

    pdf = credit_note_pdf(note)
    snapshot(pdf, "credit-note-fields")
    extracted = pdf_text(pdf, tmp_path)

    for expected in (
        "Splitledger Marketplace GmbH",
        "Torstraße 1 10119 Berlin Germany",
        "VAT ID: DE123456789",
        "billing@example.com",
        "Customer Jane Doe",
        "Customer address 1 Main Street Dublin D01 F5P2",
        "Original order ORD-1001",
        f"Refund reference {worked_case.case_id}",
        f"Credit note number {note.number}",
    ):
        assert expected in extracted, expected
    # The reasons of the refunded lines (damaged mug, late tee), once each.
    reasons = re.search(r"Reason for credit (.+?) Currency", extracted)
    assert reasons is not None
    labels = [line.refund_line.reason.label for line in note.lines.order_by("position")]
    assert reasons.group(1) == "; ".join(labels)
    assert extracted.count(f"Reason: {labels[0]}") == 1
    assert credit_note_pdf(note) == pdf  # same note, same bytes


def test_a_statement_lists_its_commission_invoices(alice, tmp_path):
    vendor = VendorFactory(code="KILN", name="Kiln", payout_frequency="weekly")
    sell(vendor, date(2026, 3, 3), mugs=2, number="ORD-K1")
    generate(date(2026, 3, 9))
    [invoice] = Invoice.objects.filter(billed_vendor=vendor)

    extracted = pdf_text(statement_pdf(SettlementStatement.objects.get(vendor=vendor)), tmp_path)

    documents = extracted.split("Commission invoices and credit notes")[1]
    assert f"2026-03-03 Commission invoice {invoice.number} ORD-K1" in documents
    assert "4.00 EUR 0.00 EUR 4.00 EUR" in documents


def test_an_invoice_issued_for_a_seller_of_record_names_it_and_the_platform(acme, tmp_path):
    IssuerProfile.objects.update_or_create(pk=1, defaults={"legal_name": "Splitledger GmbH"})
    acme.tax_model = "seller"
    acme.legal_name = "Acme Mugs Ltd"
    acme.vat_id = "GB123456789"
    acme.save()
    order = make_order(number="ORD-S1", lines=[(acme, "MUG-01", 2, "20.00", "0.10")])
    [invoice] = issue_invoices([order])[:1]

    extracted = pdf_text(invoice_pdf(invoice), tmp_path)

    for expected in (
        "Acme Mugs Ltd",
        "VAT ID: GB123456789",
        "Issued by Splitledger GmbH on behalf of Acme Mugs Ltd.",
        f"Invoice number {invoice.number}",
        "Order ORD-S1",
        "Tax rate",
        "Net 40.00 EUR Tax 4.00 EUR Total 44.00 EUR",
    ):
        assert expected in extracted, expected
