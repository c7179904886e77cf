"""Drawing helpers shared by the scene's graphics items: colours, pens, ticks, pixels.

Nothing here holds state of its own except :func:`cached_pixel_size`, whose
answers are kept per view box (weakly: a view box that goes away takes its
entry with it).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPen

from gdviz.ui.theme import Theme

__all__ = [
    "MIN_DECADES",
    "MIN_RELATIVE_SPAN",
    "arrow_segments",
    "cached_pixel_size",
    "clear_curve",
    "color",
    "cosmetic",
    "mix",
    "pen",
    "pixel_size",
    "plain_ticks",
    "readable_range",
    "set_labels",
    "style_plot",
    "title_height",
    "visible_points",
]

#: Smallest span of a linear value axis, as a share of the largest magnitude
#: on it. pyqtgraph writes ticks at or above 10⁴ (and below 10⁻³) with six
#: significant digits, so a loss stuck at 1.205e+06 over a span of 1 labelled
#: every tick "1.205e+06". Labels differed on spans down to 1e-4 of the value
#: (magnitudes 2e-8 … 5e12, axes 250–1400 px tall, text at 0.7–2×) and
#: repeated from 3e-5 on; a thousandth leaves a margin for taller axes.
MIN_RELATIVE_SPAN = 1e-3
#: Smallest span of a log value axis, in decades: pyqtgraph labels a log axis
#: at 1…9 × 10ⁿ only, and a narrower window can hold none of them.
MIN_DECADES = 1.0


def color(c: str) -> QColor:
    """``#rrggbb`` or ``#rrggbbaa`` (alpha last, as in CSS) to a QColor."""
    if len(c) == 9:
        q = QColor(c[:7])
        q.setAlpha(int(c[7:], 16))
        return q
    return QColor(c)


def clear_curve(item: pg.PlotCurveItem) -> None:
    """Empty a curve (once: setting empty data again still costs a re-layout)."""
    if item.xData is not None and len(item.xData):
        item.setData([], [])


def mix(a: str, b: str, w: float = 0.5) -> str:
    """The colour ``w`` of the way from ``b`` to ``a`` (both ``#rrggbb``)."""
    ca, cb = QColor(a[:7]), QColor(b[:7])
    mixed = QColor(
        round(w * ca.red() + (1 - w) * cb.red()),
        round(w * ca.green() + (1 - w) * cb.green()),
        round(w * ca.blue() + (1 - w) * cb.blue()),
    )
    return mixed.name()


def pen(c: str, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    """A cosmetic pen (``width`` in pixels whatever the zoom) with round caps and joins."""
    out = QPen(color(c))
    out.setWidthF(width)
    out.setStyle(style)
    out.setCosmetic(True)
    out.setCapStyle(Qt.PenCapStyle.RoundCap)
    out.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return out


def plain_ticks(axis: pg.AxisItem) -> None:
    """Make ``axis`` label its ticks with the values themselves, never SI-scaled.

    By default pyqtgraph divides the ticks of an axis whose values lie within
    ±1 (or beyond 10⁹) by a power of 1000 and adds "(x0.001)" to its title:
    the loss axis then read −200 … 500 while the numbers table beside it said
    −0.215. Turning it off in pyqtgraph 0.14 still sets the scale once from the
    axis's current range (and never resets it after), so it is set back here.
    """
    axis.enableAutoSIPrefix(False)
    if axis.autoSIPrefixScale != 1.0 or axis.labelUnitPrefix:
        axis.autoSIPrefixScale = 1.0
        axis.labelUnitPrefix = ""
        axis.label.setHtml(axis.labelString())
        axis.picture = None
        axis.update()
    if "tickStrings" not in vars(axis):
        # Per axis, not a subclass: the colour bar makes its own axis.
        axis.tickStrings = lambda values, scale, spacing: _distinct_tick_strings(
            axis, values, scale, spacing
        )


def _distinct_tick_strings(
    axis: pg.AxisItem, values: Sequence[float], scale: float, spacing: float
) -> list[str]:
    """pyqtgraph's tick labels, with more digits where they would repeat.

    pyqtgraph writes values at or above 10⁴ (and below 10⁻³) with six
    significant digits, so ticks that differ further down all read the same
    ("1e+06" down a colour bar over 1e6 + 0.001·(x² + y²)). Those get as many
    significant digits as the tick spacing needs; labels that already differ
    are left alone (value ranges are kept wide enough for that where they can
    be, see :func:`readable_range`).
    """
    strings = pg.AxisItem.tickStrings(axis, values, scale, spacing)
    if axis.logMode or len(set(strings)) == len(strings):
        return strings
    scaled = [float(v) * scale for v in values]
    top = max((abs(v) for v in scaled if math.isfinite(v)), default=0.0)
    step = abs(spacing * scale)
    if not (top > 0 and step > 0 and math.isfinite(top) and math.isfinite(step)):
        return strings
    digits = math.floor(math.log10(top)) - math.floor(math.log10(step)) + 1
    return [f"{v:.{min(max(digits, 1), 17)}g}" for v in scaled]


def readable_range(lo: float, hi: float, *, log: bool = False) -> tuple[float, float]:
    """``(lo, hi)``, widened about its middle where it is too narrow to label.

    A nearly flat curve gets a span of :data:`MIN_RELATIVE_SPAN` of its
    magnitude (:data:`MIN_DECADES` on a log axis, where ``lo`` and ``hi`` are
    base-10 logarithms), so its tick labels differ; a wider range is returned
    unchanged.
    """
    if log:
        need = MIN_DECADES
    else:
        need = MIN_RELATIVE_SPAN * max(abs(lo), abs(hi))
        if not (need > 0 and math.isfinite(need)):
            need = 1.0  # all zeros (or too small to scale): a unit span, as before
    if hi - lo >= need:
        return lo, hi
    mid = 0.5 * (lo + hi)
    return mid - 0.5 * need, mid + 0.5 * need


def style_plot(plot: pg.PlotItem, theme: Theme) -> None:
    """Give every axis of ``plot`` the theme's colours and tick font, plain tick labels."""
    font = QFont()
    font.setPointSizeF(theme.font_pt * 0.9)
    for name in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(name)
        plain_ticks(axis)
        axis.setPen(color(theme.foreground))
        axis.setTextPen(color(theme.foreground))
        axis.setTickFont(font)
        # Tick labels change width with every new function or range ("0.6",
        # "10⁻⁸"); an axis that shrank back each time resized its plot, and
        # every cached curve in it had to be drawn again. Here it only grows,
        # from the width the new font needs (a new theme starts it afresh).
        axis.setStyle(tickTextOffset=int(4 * theme.font_scale), autoReduceTextSpace=False)
        axis.textWidth, axis.textHeight = 30, 18  # pyqtgraph's starting sizes
        if axis.label is not None:
            axis.label.setFont(font)
    # No grid lines: the axes repaint them across the whole plot every frame,
    # which cost more than all the trails together; ticks and contours suffice.
    plot.showGrid(x=False, y=False)


def title_height(theme: Theme) -> float:
    """The height of one line of axis-title text in ``theme`` (see :func:`set_labels`)."""
    font = QFont()
    font.setPointSizeF(theme.font_pt)
    return QFontMetricsF(font).height()


def set_labels(plot: pg.PlotItem, theme: Theme, **labels: str) -> None:
    """Axis titles by side (``left="loss"``) in the theme's colour and title size."""
    style = {"color": theme.foreground, "font-size": f"{theme.font_pt:.1f}pt"}
    for side, text in labels.items():
        plot.setLabel(side, text, **style)


def pixel_size(vb: pg.ViewBox) -> tuple[float, float] | None:
    """The view's pixel size in data units, or None while the view has no area.

    A view box that is not laid out yet (or squeezed to zero width or height)
    has a singular transform; pyqtgraph then answers with a pseudo-inverse
    whose pixel size is 0 (or not finite), and nothing measured in pixels
    (arrow heads, arrow lengths, sub-pixel thinning) can be drawn from it.
    """
    if vb.pixelVectors()[0] is None:
        return None  # not in a view at all (a hidden panel's plot)
    sx, sy = vb.viewPixelSize()
    if sx > 0 and sy > 0 and math.isfinite(sx) and math.isfinite(sy):
        return float(sx), float(sy)
    return None


def cosmetic(like: QPen | None) -> QPen:
    """A 1-pixel cosmetic pen in ``like``'s colour: the cheapest stroke Qt draws."""
    out = QPen(like.color() if like is not None else QColor("#888888"))
    out.setWidth(0)
    out.setCosmetic(True)
    return out


def arrow_segments(
    tails: np.ndarray, vecs: np.ndarray, px: tuple[float, float], head_px: float
) -> np.ndarray:
    """Arrow shafts plus two head strokes each, as pairs of points for ``connect="pairs"``.

    Heads are built in *pixel* space and mapped back with the view's pixel size
    ``px`` (both positive, see :func:`pixel_size`), so they look the same
    whatever the x and y scales of the plot are.
    """
    out = np.full((len(tails) * 6, 2), np.nan)
    if len(tails) == 0:
        return out
    sx, sy = px
    tips = tails + vecs
    vx, vy = vecs[:, 0] / sx, vecs[:, 1] / sy  # pixels
    n = np.hypot(vx, vy)
    n[n == 0] = 1.0
    ux, uy = vx / n, vy / n
    size = np.minimum(head_px, 0.6 * np.hypot(vx, vy))
    for j, (c, s) in enumerate(((0.8660, 0.5), (0.8660, -0.5))):
        # rotate the backwards unit vector by ±30°
        hx = -(ux * c - uy * s) * size * sx
        hy = -(ux * s + uy * c) * size * sy
        out[2 + 2 * j :: 6] = tips
        out[3 + 2 * j :: 6] = np.stack([tips[:, 0] + hx, tips[:, 1] + hy], axis=1)
    out[0::6] = tails
    out[1::6] = tips
    return out


def visible_points(
    x: np.ndarray, y: np.ndarray, px: tuple[float, float] | None, cell: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Drop points that fall in the same ``cell``-pixel cell as the point before them.

    The polyline drawn from the rest covers the same pixels; first and last
    points are always kept, and NaN gaps survive. Without a pixel size (``None``:
    the view has no area yet) every point is kept.
    """
    if px is None:
        return x, y
    sx, sy = px[0] * cell, px[1] * cell
    with np.errstate(all="ignore"):
        qx = np.floor(x / sx)
        qy = np.floor(y / sy)
    keep = np.ones(len(x), dtype=bool)
    keep[1:] = (qx[1:] != qx[:-1]) | (qy[1:] != qy[:-1])
    keep[-1] = True
    return x[keep], y[keep]


#: The last answer of :func:`cached_pixel_size` per view box, with its key.
_PIXEL_SIZES: weakref.WeakKeyDictionary[pg.ViewBox, tuple[tuple, tuple[float, float] | None]] = (
    weakref.WeakKeyDictionary()
)


def cached_pixel_size(vb: pg.ViewBox) -> tuple[float, float] | None:
    """:func:`pixel_size`, computed once per view range and view size.

    After a zoom or resize every curve item in the view asks for its bounding
    box again, and each one measured its own pixel vectors: with a few hundred
    trail chunks that alone took over 10 ms. All of them sit directly in the
    view box, so they share one answer.
    """
    # Keyed on everything the pixel vectors are computed from: the transform
    # from data to view-box coordinates, the view box's place in the scene,
    # and the widget showing the scene (none for a plot not on screen).
    view = vb.getViewWidget()
    if view is None:
        return None
    # childTransform() brings a pending (lazy) matrix update in first.
    t, d, v = vb.childTransform(), vb.sceneTransform(), view.viewportTransform()
    key = (
        id(view),
        *(t.m11(), t.m12(), t.m21(), t.m22(), t.dx(), t.dy()),
        *(d.m11(), d.m12(), d.m21(), d.m22(), d.dx(), d.dy()),
        *(v.m11(), v.m22(), v.dx(), v.dy()),
    )
    cached = _PIXEL_SIZES.get(vb)
    if cached is None or cached[0] != key:
        cached = (key, pixel_size(vb))
        _PIXEL_SIZES[vb] = cached
    return cached[1]
