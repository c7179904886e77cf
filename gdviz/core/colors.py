"""Run colours: one palette for every theme, every export and every session file.

A run's colour belongs to the run, not to the theme. A run gets it once, when
it is added (the first palette colour no other run has), and keeps it: the
same at the desk, in the light theme, on a projector, in an exported clip and
in the session file, and removing another run does not shift it.

The palette
-----------
:data:`RUN_PALETTE` has twelve colours. Runs are drawn on a dark plot
(``#15171c``) at the desk and on white in the light and projector themes, so
every colour has a WCAG contrast of at least 3:1 (the level for lines and
other graphics) against *both*: its relative luminance lies between about
0.12 and 0.30. That rules out Okabe–Ito's orange, sky blue and yellow (under
2.4:1 on white) and its black (1:1 on the dark plot), so the palette starts
with the four Okabe–Ito colours that pass (blue, vermillion, bluish green,
reddish purple) and adds eight chosen one at a time, each the sRGB colour in
that luminance band (with CIELAB chroma of 45 or more, so a trail stays a
colour on the heat-map) farthest from those already chosen. "Farthest" is
the smallest CIEDE2000 difference to any chosen colour in normal vision and,
weighted 2.5×, as simulated for protanopia, deuteranopia and tritanopia
(Machado et al. 2009, full severity). The result: any two of the twelve
differ by ΔE2000 ≥ 14.8 in normal vision and ≥ 6.2 under each simulated
colour-vision deficiency (≥ 7.1 among the first eight). ``scripts/run_palette.py``
prints these figures.

Beyond twelve runs colours repeat (the window allows sixteen); the legend's
numbers still tell the runs apart.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

__all__ = [
    "RUN_COLOR_NAMES",
    "RUN_PALETTE",
    "assign_colors",
    "contrast_ratio",
    "is_color",
    "next_color",
    "normalize_color",
    "relative_luminance",
    "run_color",
]

#: The run colours, in the order runs take them (see the module docstring).
RUN_PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue (Okabe–Ito)
    "#D55E00",  # vermillion (Okabe–Ito)
    "#009E73",  # bluish green (Okabe–Ito)
    "#CC79A7",  # reddish purple (Okabe–Ito)
    "#BB3344",  # brick red
    "#8866FF",  # violet
    "#BB1199",  # magenta
    "#889944",  # olive
    "#209CE2",  # sky blue (Okabe–Ito's, darkened to read on white)
    "#EE6677",  # rose
    "#9900EE",  # purple
    "#007744",  # dark green
)

#: A name for each palette colour (the run editor lists them by name).
RUN_COLOR_NAMES: dict[str, str] = dict(
    zip(
        RUN_PALETTE,
        (
            "blue",
            "vermillion",
            "bluish green",
            "reddish purple",
            "brick red",
            "violet",
            "magenta",
            "olive",
            "sky blue",
            "rose",
            "purple",
            "dark green",
        ),
        strict=True,
    )
)

_HEX = re.compile(r"#[0-9a-fA-F]{6}\Z")


def is_color(text: object) -> bool:
    """Whether ``text`` is a ``#rrggbb`` colour."""
    return isinstance(text, str) and _HEX.match(text) is not None


def normalize_color(color: str) -> str:
    """``#rrggbb`` in upper case, so ``#0072b2`` and ``#0072B2`` are one colour.

    Raises
    ------
    ValueError
        For anything but ``#`` and six hex digits.
    """
    if not is_color(color):
        raise ValueError(f"a colour must look like #rrggbb, got {color!r}")
    return color.upper()


def run_color(index: int) -> str:
    """The colour of run ``index`` (from 0) in a list none of whose runs chose one."""
    return RUN_PALETTE[index % len(RUN_PALETTE)]


def next_color(taken: Iterable[str | None]) -> str:
    """The colour a new run gets: the first palette colour no run in ``taken`` has.

    When every palette colour is taken, the first of the least used ones.
    ``None`` entries (runs without a colour yet) are ignored.
    """
    counts = Counter(normalize_color(c) for c in taken if c is not None and is_color(c))
    return min(RUN_PALETTE, key=lambda c: counts[c])  # min keeps the first of equals


def assign_colors(colors: Sequence[str | None]) -> list[str]:
    """Every run's colour: its own, else the next free one, in list order.

    Parameters
    ----------
    colors
        Each run's chosen colour, or None for a run that has none yet (an old
        session file, a preset, a run added from a map).

    Returns
    -------
    list of str
        One ``#RRGGBB`` per run. A run with a colour keeps it; the others take,
        in order, the first palette colour that neither a run with its own
        colour nor an earlier run here has. A list without any chosen colour
        gets the palette in order (:func:`run_color`).
    """
    out: list[str | None] = [normalize_color(c) if c is not None else None for c in colors]
    for i, c in enumerate(out):
        if c is None:
            out[i] = next_color(out)
    return [c for c in out if c is not None]


def relative_luminance(color: str) -> float:
    """The WCAG 2 relative luminance of ``#rrggbb``: 0 (black) … 1 (white)."""
    c = normalize_color(color)
    channels = [int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    """The WCAG 2 contrast ratio of two ``#rrggbb`` colours: 1 (same) … 21."""
    la, lb = relative_luminance(a), relative_luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)
