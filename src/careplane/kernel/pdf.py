"""Printable documents (visit summaries, statements, labels) as PDF, with one look: a title, the
organisation's name, headed sections of paragraphs and label/value rows, page numbers.

Built on fpdf2 with its core Helvetica, so nothing is fetched or installed: text is written in
Latin-1, and characters outside it are folded to their closest ASCII form (``–`` as ``-``) rather
than lost silently.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from fpdf import FPDF

ORGANISATION = "careplane"
_FOLD = {
    "\u2013": "-",
    "\u2014": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2026": "...",
    "\u2022": "-",
}


def latin1(text: str) -> str:
    """``text`` as the core fonts can write it."""
    text = "".join(_FOLD.get(ch, ch) for ch in text)
    if all(ord(ch) < 256 for ch in text):
        return text
    folded = unicodedata.normalize("NFKD", text)
    return "".join(ch if ord(ch) < 256 else "?" for ch in folded if not unicodedata.combining(ch))


class _Document(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(format="Letter")
        self.doc_title = title
        self.set_title(latin1(title))
        self.set_creator(ORGANISATION)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 18, 18)
        self.alias_nb_pages()

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, latin1(f"{ORGANISATION} - {self.doc_title} - page {self.page_no()} of {{nb}}"), align="C")


class Pdf:
    """A document built top to bottom: ``heading``, ``paragraph``, ``rows``; ``bytes()`` at the end."""

    def __init__(self, title: str, subtitle: str = "") -> None:
        self._doc = _Document(title)
        self._doc.add_page()
        doc = self._doc
        doc.set_font("Helvetica", "B", 10)
        doc.set_text_color(60, 60, 60)
        doc.cell(0, 6, ORGANISATION, new_x="LMARGIN", new_y="NEXT")
        doc.set_text_color(0, 0, 0)
        doc.set_font("Helvetica", "B", 18)
        doc.multi_cell(0, 9, latin1(title), new_x="LMARGIN", new_y="NEXT")
        if subtitle:
            doc.set_font("Helvetica", size=10)
            doc.multi_cell(0, 5, latin1(subtitle), new_x="LMARGIN", new_y="NEXT")
        doc.ln(3)

    def heading(self, text: str) -> None:
        doc = self._doc
        doc.ln(2)
        doc.set_font("Helvetica", "B", 12)
        doc.multi_cell(0, 7, latin1(text), new_x="LMARGIN", new_y="NEXT")
        doc.set_draw_color(180, 180, 180)
        doc.line(doc.l_margin, doc.get_y(), doc.w - doc.r_margin, doc.get_y())
        doc.ln(1.5)

    def paragraph(self, text: str) -> None:
        self._doc.set_font("Helvetica", size=10)
        self._doc.multi_cell(0, 5, latin1(text), new_x="LMARGIN", new_y="NEXT")
        self._doc.ln(1)

    def rows(self, pairs: Sequence[tuple[str, str]], label_width: float = 48) -> None:
        doc = self._doc
        for label, value in pairs:
            doc.set_font("Helvetica", "B", 10)
            doc.cell(label_width, 5, latin1(label))
            doc.set_font("Helvetica", size=10)
            doc.multi_cell(0, 5, latin1(value), new_x="LMARGIN", new_y="NEXT")
        doc.ln(1)

    def bytes(self) -> bytes:
        return bytes(self._doc.output())
