"""What an uploaded file really is, from its bytes, not from what the uploader said."""

from __future__ import annotations

import re
from dataclasses import dataclass

import filetype

# The first bytes read to decide: every signature filetype knows is within them.
SNIFF_BYTES = 8192

# What each type is called in a message, and the name endings that agree with it.
LABELS = {
    "application/pdf": "a PDF",
    "image/png": "a PNG image",
    "image/jpeg": "a JPEG image",
    "image/gif": "a GIF image",
    "image/webp": "a WebP image",
    "text/plain": "plain text",
    "text/csv": "a CSV file",
    "message/rfc822": "an e-mail message (.eml)",
    "text/html": "HTML",
    "application/octet-stream": "a binary file of unknown type",
}
EXTENSIONS = {
    "application/pdf": {"pdf"},
    "image/png": {"png"},
    "image/jpeg": {"jpg", "jpeg", "jfif"},
    "image/gif": {"gif"},
    "image/webp": {"webp"},
    "text/plain": {"txt", "text", "log", ""},
    "text/csv": {"csv"},
    "message/rfc822": {"eml"},
}
# Shown in the browser (inline) when downloaded; everything else is an attachment.
INLINE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"})
# Text that a browser would run as a page or a script, whatever it is named.
_MARKUP = re.compile(
    rb"<\s*(!doctype\s+html|html|head|body|script|iframe|svg|object|embed|meta|\?xml)\b",
    re.IGNORECASE,
)
# Control bytes that never occur in text (tab, newlines, form feed and escape do).
_BINARY = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_HEADER_LINE = re.compile(rb"^[A-Za-z][A-Za-z0-9-]*:[ \t]")


@dataclass(frozen=True)
class Sniffed:
    content_type: str
    label: str


def extension(filename: str) -> str:
    stem, dot, ext = filename.rpartition(".")
    return ext.lower() if dot and stem else ""


def sniff(head: bytes, filename: str) -> str:
    """The MIME type `head` (the file's first bytes) shows. Binary formats by
    their signature; text by its extension (csv, eml, else plain), and any
    text that carries HTML/SVG/XML markup is "text/html", whatever its name."""
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    if _BINARY.search(head):
        return "application/octet-stream"
    if _MARKUP.search(head[:2048]):
        return "text/html"
    ext = extension(filename)
    if ext == "csv":
        return "text/csv"
    if ext == "eml" and _HEADER_LINE.match(head.lstrip(b"\r\n")):
        return "message/rfc822"
    return "text/plain"


def check_upload(head: bytes, filename: str, allowed: list[str]) -> str:
    """The sniffed type when it is allowed and the name agrees with it; else
    raises ValueError with a message for the person uploading."""
    found = sniff(head, filename)
    label = LABELS.get(found, found)
    if found not in allowed:
        names = ", ".join(sorted({LABELS.get(t, t).split(" ")[-1] for t in allowed}))
        raise ValueError(f"This file is {label}, which cannot be attached (allowed: {names}).")
    ext = extension(filename)
    if ext not in EXTENSIONS.get(found, {ext}):
        shown = f".{ext}" if ext else "no extension"
        raise ValueError(
            f"This file is {label}, but its name has {shown}: rename it or attach the right file."
        )
    return found


def safe_content_type(stored: str, allowed: list[str]) -> str:
    """The type a stored file is served with: its sniffed type when allowed
    (text with a charset), else application/octet-stream. Never HTML."""
    content_type = (stored or "").split(";", 1)[0].strip().lower()
    if content_type not in allowed or content_type not in EXTENSIONS:
        return "application/octet-stream"
    if content_type.startswith("text/"):
        return f"{content_type}; charset=utf-8"
    return content_type
