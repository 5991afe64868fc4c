"""Accessibility basics a rendered page must meet, checked on its HTML: the document language, a label
for every form control, a name for every button and link, one h1 and headings that skip no level."""

from __future__ import annotations

from html.parser import HTMLParser
from itertools import pairwise

_UNLABELLED_INPUTS = {"hidden", "submit", "button", "reset", "image"}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang: str | None = None
        self.label_for: set[str] = set()
        self.controls: list[tuple[str, dict[str, str], bool]] = []  # (tag, attrs, inside a <label>)
        self.headings: list[int] = []
        self._label_depth = 0
        self._named: list[tuple[str, dict[str, str], list[str]]] = []  # open <button>/<a>: collected text

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in attrs_list}
        if tag == "html":
            self.lang = attrs.get("lang")
        elif tag == "label":
            self._label_depth += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        elif tag in ("input", "select", "textarea"):
            # a control with the hidden attribute is not shown (e.g. a username for password managers)
            if not (tag == "input" and attrs.get("type", "text") in _UNLABELLED_INPUTS) and "hidden" not in attrs:
                self.controls.append((tag, attrs, self._label_depth > 0))
        elif len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
            self.headings.append(int(tag[1]))
        if tag in ("button", "a") and (tag == "button" or "href" in attrs):
            self._named.append((tag, attrs, []))
        if tag == "img" and self._named:
            self._named[-1][2].append(attrs.get("alt", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._label_depth:
            self._label_depth -= 1
        if tag in ("button", "a") and self._named and self._named[-1][0] == tag:
            _, attrs, text = self._named.pop()
            if not ("".join(text).strip() or attrs.get("aria-label") or attrs.get("title")):
                self.problems_unnamed.append(f"<{tag} {attrs}> has no text")

    def handle_data(self, data: str) -> None:
        for _, _, text in self._named:
            text.append(data)

    problems_unnamed: list[str]


def problems(html: str) -> list[str]:
    """What is missing, in words; empty when the page meets the basics."""
    page = _Page()
    page.problems_unnamed = []
    page.feed(html)
    found: list[str] = []
    whole = "<html" in html  # not an htmx fragment
    if whole and not page.lang:
        found.append("<html> has no lang attribute")
    for tag, attrs, wrapped in page.controls:
        labelled = (
            wrapped or attrs.get("id", "") in page.label_for or attrs.get("aria-label") or attrs.get("aria-labelledby")
        )
        if not labelled:
            found.append(f"<{tag} name={attrs.get('name')!r}> has no label")
    found += page.problems_unnamed
    if whole and page.headings.count(1) != 1:
        found.append(f"{page.headings.count(1)} <h1> headings (one expected)")
    for before, after in pairwise(page.headings):
        if after > before + 1:
            found.append(f"heading level jumps from h{before} to h{after}")
            break
    return found
