"""The stylesheet's colour pairs meet WCAG 2.x AA contrast (4.5:1 for text; 3:1 for the focus ring)."""

from __future__ import annotations

import re

from careplane.kernel.web import PACKAGE_DIR

CSS = (PACKAGE_DIR / "static" / "app.css").read_text()
VARS = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", CSS))

#: (text colour, background) pairs the stylesheet puts together; names are its custom properties.
TEXT_PAIRS = [
    ("ink", "bg"),
    ("ink", "panel"),
    ("muted", "bg"),
    ("muted", "panel"),
    ("brand", "bg"),
    ("brand", "panel"),
    ("brand-dark", "bg"),
    ("danger", "bg"),
    ("danger", "panel"),
    ("ok", "bg"),
    ("ok", "panel"),
    ("warn", "bg"),
    ("warn", "panel"),
    ("#ffffff", "brand"),
    ("#ffffff", "brand-dark"),
    ("#ffffff", "danger"),
    ("ink", "#e7f3ec"),
    ("ink", "#fff4e0"),  # flash and notice boxes
]


def _rgb(colour: str) -> tuple[float, ...]:
    value = VARS.get(colour, colour).lstrip("#")
    return tuple(int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))


def _luminance(colour: str) -> float:
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in _rgb(colour)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_ratio_is_computed_as_wcag_defines_it():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48  # the well-known just-failing grey


def test_text_colours_meet_aa_on_their_backgrounds():
    assert {"ink", "muted", "bg", "panel", "brand", "danger", "ok", "warn", "focus"} <= set(VARS)
    weak = [f"{fg} on {bg}: {contrast(fg, bg):.2f}" for fg, bg in TEXT_PAIRS if contrast(fg, bg) < 4.5]
    assert not weak, weak


def test_the_focus_ring_stands_out_from_the_page_and_the_top_bar():
    # the ring is the focus colour with a dark halo: one of the two must reach 3:1 on every background
    for bg in ("bg", "panel", "brand-dark", "brand"):
        assert max(contrast("focus", bg), contrast("ink", bg)) >= 3, bg
