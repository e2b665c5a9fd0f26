"""Unicode fonts for the PDFs (credit notes, settlement statements).

reportlab's built-in fonts (Helvetica) only know Latin-1, so a name in Greek,
Cyrillic, Chinese, Arabic, ... would print as boxes or nothing. The PDFs embed
(subsets of) TrueType fonts instead:

- Noto Sans: Latin with diacritics, Greek, Cyrillic (the base font);
- Noto Sans Arabic and Noto Sans Hebrew: right-to-left, shaped by HarfBuzz
  (uharfbuzz, through reportlab's `shaping`);
- WenQuanYi Micro Hei: Chinese, Japanese kana and kanji, Korean Hangul. (Noto
  Sans CJK has PostScript outlines, which reportlab cannot embed.)

They come from Debian's fonts-noto-core and fonts-wqy-microhei, which
scripts/test.sh, scripts/dev.sh and the Dockerfile install; PDF_FONT_DIRS in
the settings lists where they are looked for (FONT_DIRS below by default).

`markup(text)` escapes a text for a Paragraph and wraps each run of
characters in the first font that has glyphs for them. Right-to-left words are
put in visual order (HarfBuzz orders the letters within a word; the words of a
right-to-left run are reversed here), for the short names and addresses these
documents print on a left-to-right page.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.fonts import addMapping
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

logger = logging.getLogger(__name__)

FONT_DIRS = (
    "/usr/share/fonts/truetype/noto",
    "/usr/share/fonts/truetype/wqy",
    # Other distributions / a font directory of one's own.
    "/usr/share/fonts/noto",
    "/usr/share/fonts/wenquanyi/wqy-microhei",
    "/usr/local/share/fonts",
)

# Built-in fallbacks when a font file is missing: the text still prints where
# Latin-1 covers it, and a warning names the Debian package to install.
BASE_FALLBACK = "Helvetica"
BOLD_FALLBACK = "Helvetica-Bold"


@dataclass(frozen=True)
class FontSpec:
    name: str  # registered name, as used in <font face=...> and TableStyle
    regular: str  # file name
    bold: str  # file name; the regular file when the family has no bold
    package: str  # Debian package that ships it
    subfont: int = 0  # index in a .ttc collection


# In order of preference: a character prints in the first font that has it.
SPECS = (
    FontSpec("NotoSans", "NotoSans-Regular.ttf", "NotoSans-Bold.ttf", "fonts-noto-core"),
    FontSpec(
        "NotoSansArabic",
        "NotoSansArabic-Regular.ttf",
        "NotoSansArabic-Bold.ttf",
        "fonts-noto-core",
    ),
    FontSpec(
        "NotoSansHebrew",
        "NotoSansHebrew-Regular.ttf",
        "NotoSansHebrew-Bold.ttf",
        "fonts-noto-core",
    ),
    FontSpec("WQYMicroHei", "wqy-microhei.ttc", "wqy-microhei.ttc", "fonts-wqy-microhei"),
)

RTL_CLASSES = frozenset({"R", "AL"})


@dataclass(frozen=True)
class Family:
    name: str
    bold: str
    chars: frozenset[int]


@dataclass(frozen=True)
class Fonts:
    base: str
    bold: str
    families: tuple[Family, ...]

    def face_covering(self, word: str) -> str | None:
        """The first font that has every character of `word`."""
        codes = {ord(c) for c in word}
        for family in self.families:
            if codes <= family.chars:
                return family.name
        return None

    def face_for(self, char: str) -> str | None:
        code = ord(char)
        for family in self.families:
            if code in family.chars:
                return family.name
        return None


def font_dirs() -> list[Path]:
    return [Path(d) for d in getattr(settings, "PDF_FONT_DIRS", FONT_DIRS)]


def find_font(filename: str) -> Path | None:
    for directory in font_dirs():
        path = directory / filename
        if path.is_file():
            return path
    return None


@cache
def pdf_fonts() -> Fonts:
    """Register the fonts found (once per process) and say which is which."""
    families: list[Family] = []
    for spec in SPECS:
        regular, bold = find_font(spec.regular), find_font(spec.bold)
        if regular is None:
            logger.warning(
                "PDF font %s not found in %s: install the Debian package %s. "
                "Text in its scripts will not print in PDFs.",
                spec.regular,
                ", ".join(str(d) for d in font_dirs()),
                spec.package,
            )
            continue
        bold_name = f"{spec.name}-Bold" if bold is not None and bold != regular else spec.name
        for name, path in ((spec.name, regular), (bold_name, bold or regular)):
            if name not in pdfmetrics.getRegisteredFontNames():
                font = TTFont(name, str(path), subfontIndex=spec.subfont, shapable=True)
                pdfmetrics.registerFont(font)
        addMapping(spec.name, 0, 0, spec.name)
        addMapping(spec.name, 1, 0, bold_name)
        addMapping(spec.name, 0, 1, spec.name)
        addMapping(spec.name, 1, 1, bold_name)
        chars = frozenset(pdfmetrics.getFont(spec.name).face.charToGlyph)
        families.append(Family(spec.name, bold_name, chars))
    if families and families[0].name == SPECS[0].name:
        base, bold = families[0].name, families[0].bold
    else:
        base, bold = BASE_FALLBACK, BOLD_FALLBACK
    return Fonts(base=base, bold=bold, families=tuple(families))


def base_font(bold: bool = False) -> str:
    fonts = pdf_fonts()
    return fonts.bold if bold else fonts.base


def is_rtl(word: str) -> bool:
    """Whether the word's first strong character is right-to-left."""
    for char in word:
        kind = unicodedata.bidirectional(char)
        if kind in RTL_CLASSES:
            return True
        if kind == "L":
            return False
    return False


def is_neutral(word: str) -> bool:
    return all(unicodedata.bidirectional(c) not in RTL_CLASSES | {"L"} for c in word)


def visual_words(words: list[str]) -> list[str]:
    """Reverse each run of right-to-left words (with the neutral words between
    them, e.g. a number in an Arabic address) for a left-to-right line."""
    out: list[str] = []
    index = 0
    while index < len(words):
        if not is_rtl(words[index]):
            out.append(words[index])
            index += 1
            continue
        end = index + 1
        last_rtl = index
        while end < len(words) and (is_rtl(words[end]) or is_neutral(words[end])):
            if is_rtl(words[end]):
                last_rtl = end
            end += 1
        out.extend(reversed(words[index : last_rtl + 1]))
        index = last_rtl + 1
    return out


def visual_order(text: str) -> str:
    """`text` with the words of right-to-left runs in visual order, line by line."""
    return "\n".join(" ".join(visual_words(line.split(" "))) for line in text.split("\n"))


def runs(text: str, fonts: Fonts) -> Iterable[tuple[str | None, str]]:
    """(face, piece) runs, a whole word in one font where one font has all its
    characters: reportlab shapes a word with its first piece's font, so a
    word must not change fonts ("(INTL)" after a Chinese name, "12،" in an
    Arabic address). Spaces stay with the run before them."""
    pieces: list[tuple[str | None, str]] = []
    for token in re.split(r"(\s+)", text):
        if not token:
            continue
        if token.isspace():
            face = pieces[-1][0] if pieces else fonts.base
            pieces.append((face, token))
            continue
        face = fonts.face_covering(token)
        if face is not None:
            pieces.append((face, token))
        else:
            # No one font has it all: character by character.
            pieces.extend((fonts.face_for(char), char) for char in token)
    merged: list[tuple[str | None, str]] = []
    for face, piece in pieces:
        if merged and merged[-1][0] == face:
            merged[-1] = (face, merged[-1][1] + piece)
        else:
            merged.append((face, piece))
    return merged


def markup(value: object) -> str:
    """`value` as Paragraph markup: escaped, each script in a font that has it,
    right-to-left words in visual order, line breaks kept."""
    fonts = pdf_fonts()
    text = visual_order(str(value))
    parts = []
    for face, piece in runs(text, fonts):
        escaped = escape(piece).replace("\n", "<br/>")
        if face is None or face == fonts.base:
            parts.append(escaped)
        else:
            parts.append(f'<font face="{face}">{escaped}</font>')
    return "".join(parts)


def needs_markup(value: str) -> bool:
    """Whether a plain table cell needs a Paragraph (another font or RTL)."""
    fonts = pdf_fonts()
    base = next((f for f in fonts.families if f.name == fonts.base), None)
    if base is None:
        return any(ord(c) > 0xFF for c in value)
    return any(
        ord(c) not in base.chars or unicodedata.bidirectional(c) in RTL_CLASSES for c in value
    )


@cache
def pdf_styles() -> dict[str, ParagraphStyle]:
    """Paragraph styles in the embedded fonts, shaped (joining, right-to-left)."""
    sample = getSampleStyleSheet()
    regular, bold = base_font(), base_font(bold=True)
    styles = {}
    for name, source, font in (
        ("title", "Title", bold),
        ("heading", "Heading2", bold),
        ("body", "BodyText", regular),
    ):
        styles[name] = ParagraphStyle(name, parent=sample[source], fontName=font, shaping=1)
    styles["cell"] = ParagraphStyle(
        "cell", parent=styles["body"], fontSize=8.5, leading=10.5, spaceBefore=0, spaceAfter=0
    )
    styles["cell-small"] = ParagraphStyle(
        "cell-small", parent=styles["cell"], fontSize=7.5, leading=9
    )
    styles["note"] = ParagraphStyle(
        "note", parent=styles["cell"], textColor=colors.HexColor("#555555")
    )
    return styles
