"""The scene: surface (or 1-D curve) view and loss view, drawn for one step index.

The window and the exporter both draw with :class:`Scene`, so a visual fix lands
in both. It holds no numbers of its own: :meth:`Scene.set_problem` gives it a
compiled loss and a view window, :meth:`Scene.set_runs` a computed
:class:`~gdviz.core.engine.Trajectory`, and :meth:`Scene.set_step` says which step
to show. Every view draws the whole trail up to that step, so any playback speed
or scrub position shows every step taken so far.

A surface that is expensive to sample (a loss over a dataset: every grid
point is a mean over thousands of samples) is drawn from a coarse grid at once
and refined a few rows per event-loop turn, so the window never waits for it;
:meth:`Scene.settled` says when the final picture is on screen. The exporter's
scene always samples in full.

Rendered offscreen at a fixed size with ``QWidget.grab()`` (see the exporter).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QHBoxLayout, QSizePolicy, QTabWidget, QWidget

from gdviz.core.session import ViewSettings
from gdviz.core.surface import (
    Grid,
    GridSampler,
    contour_levels,
    contour_segments,
    field_arrows,
    field_points,
    gradient_field,
    normalize_domain,
    sample_curve,
)
from gdviz.ui.compute import SLICE_SECONDS
from gdviz.ui.theme import DARK, Theme

__all__ = ["PANELS", "Scene"]

PANELS = ("both", "surface", "loss")

#: Length of the "downhill" (−∇f direction) arrow, in pixels before font scaling.
GRAD_ARROW_PX = 55.0
#: New trail chunks cached per drawn frame, over all runs and plots.
CHUNKS_PER_FRAME = 6
#: Arrow-head length in pixels before scaling.
HEAD_PX = 9.0
#: On a log loss axis the plot shows at most this many decades below the largest
#: starting loss. float64 keeps ~16 significant digits, so a run that converges
#: "to machine precision" ends 13–16 decades down in rounding noise; showing all
#: of that would squash the descent itself into the top third of the plot.
#: Ten decades keep every meaningful drop (a loss down to 1e-10 of its start)
#: and let the noise run off the bottom edge (the numbers table has the values).
LOSS_DECADES = 10.0
#: Samples per axis of the 2-D surface (heat-map and contours).
SURFACE_SAMPLES = 200
#: Arrows per axis of the gradient field.
FIELD_ARROWS = 18
#: A surface whose full grid is predicted to take longer than this (seconds)
#: to sample is drawn from a coarse grid at once and refined over later
#: event-loop turns (a loss over a dataset: each point is a mean over
#: thousands of samples). Typed functions take a few milliseconds.
SURFACE_SYNC_SECONDS = 0.025
#: Samples per axis of the first, cheapest pass over a loss of unknown cost:
#: its time per point, extrapolated, decides between one pass and refining.
PROBE_SAMPLES = 12
#: Most samples per axis of the coarse first picture, and the time (seconds)
#: sampling it may take (the picture also has to be drawn in the same turn).
COARSE_SAMPLES = 50
COARSE_SECONDS = 0.008
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
#: Samples between the neighbours of a 1-D curve's highest sample, and the
#: share of the curve's height they may rise above it before the top counts as
#: unbounded (see :func:`_top_is_bounded`).
TOP_SAMPLES = 65
TOP_RISE = 0.05
#: The 2-D plot keeps one unit as long on x as on y while its view window is
#: at most this many times longer one way than the other (see Scene._fit_aspect).
MAX_EQUAL_ASPECT = 4.0
#: Room between the surface view and the loss view (when both are shown), in
#: lines of the axis-title font: the colour bar's title and the loss plot's
#: title are both drawn rotated at that border, and closer together they read
#: as one label ("f loss").
PANEL_GAP_LINES = 1.5


class _Surface:
    """The surface of one loss over one view window, as far as it is known.

    Holds the coarse first picture of an expensive loss, the sampler that
    fills the full grid a few rows per turn (see :meth:`Scene._refine_surface`)
    and the arrow field's gradients, likewise computed a few rows at a time.
    A new problem gets a new ``_Surface``, so nothing of an old one is drawn.
    """

    def __init__(
        self, loss: Any, domain: tuple[tuple[float, float], ...], cost: float | None
    ) -> None:
        self.loss = loss
        self.domain = domain
        self.sampler = GridSampler(loss, domain, SURFACE_SAMPLES, cost)
        self.coarse: Grid | None = None
        self.expensive = False  # refined over several turns (else one pass)
        self.field: tuple[np.ndarray, np.ndarray] | None = None
        self.field_points: np.ndarray | None = None
        self.field_grads: np.ndarray | None = None
        self.field_done = 0  # points of ``field_grads`` computed so far
        self.field_cost = 0.0  # seconds per gradient, once measured
        self.shown: Grid | None = None  # the grid the picture on screen is drawn from
        self.drawn = False  # whether that picture shows anything (it has finite values)
        self.final = False  # whether that picture is drawn from the full grid

    @property
    def grid(self) -> Grid | None:
        """The full grid, once complete."""
        return self.sampler.grid


def _color(c: str) -> QColor:
    """``#rrggbb`` or ``#rrggbbaa`` (alpha last, as in CSS) to a QColor."""
    if len(c) == 9:
        q = QColor(c[:7])
        q.setAlpha(int(c[7:], 16))
        return q
    return QColor(c)


def _clear(item: pg.PlotCurveItem) -> None:
    """Empty a curve (once: setting empty data again still costs a re-layout)."""
    if item.xData is not None and len(item.xData):
        item.setData([], [])


def _mix(a: str, b: str, w: float = 0.5) -> str:
    """The colour ``w`` of the way from ``b`` to ``a`` (both ``#rrggbb``)."""
    ca, cb = QColor(a[:7]), QColor(b[:7])
    mixed = QColor(
        round(w * ca.red() + (1 - w) * cb.red()),
        round(w * ca.green() + (1 - w) * cb.green()),
        round(w * ca.blue() + (1 - w) * cb.blue()),
    )
    return mixed.name()


def _pen(c: str, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(_color(c))
    pen.setWidthF(width)
    pen.setStyle(style)
    pen.setCosmetic(True)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def _plain_ticks(axis: pg.AxisItem) -> None:
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
    be, see :func:`_readable_range`).
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


def _readable_range(lo: float, hi: float, *, log: bool = False) -> tuple[float, float]:
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


def _top_is_bounded(loss: Any, curve: Any) -> bool:
    """Whether the highest sample of a 1-D ``curve`` is the top of the function there.

    Near a smooth maximum, or a steep but finite climb to the edge of the
    view, neighbouring samples differ by a small share of the curve's height
    (it is sampled finely), and sampling between them does not climb much
    higher. Near a pole (``1/x``, ``tan x``, ``-log x``) the highest sample
    stands far above its neighbours, or finer samples between them
    (:data:`TOP_SAMPLES` of them) climb far higher or reach infinity.
    """
    z = curve.z
    finite = np.isfinite(z)
    i = int(np.argmax(np.where(finite, z, -np.inf)))
    lo, top = float(z[finite].min()), float(z[i])
    height = top - lo
    if not height > 0:
        return True
    near = [j for j in (i - 1, i + 1) if 0 <= j < len(z) and finite[j]]
    if not near or any(top - float(z[j]) > TOP_RISE * height for j in near):
        return False  # alone among non-finite samples, or a spike
    a, b = curve.xs[max(i - 1, 0)], curve.xs[min(i + 1, len(z) - 1)]
    fine = sample_curve(loss, ((float(a), float(b)),), TOP_SAMPLES).z
    if np.any(fine == np.inf):
        return False
    fine = fine[np.isfinite(fine)]
    return not fine.size or float(fine.max()) - lo <= (1.0 + TOP_RISE) * height


def _style_plot(plot: pg.PlotItem, theme: Theme) -> None:
    font = QFont()
    font.setPointSizeF(theme.font_pt * 0.9)
    for name in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(name)
        _plain_ticks(axis)
        axis.setPen(_color(theme.foreground))
        axis.setTextPen(_color(theme.foreground))
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


def _set_labels(plot: pg.PlotItem, theme: Theme, **labels: str) -> None:
    style = {"color": theme.foreground, "font-size": f"{theme.font_pt:.1f}pt"}
    for side, text in labels.items():
        plot.setLabel(side, text, **style)


def _pixel_size(vb: pg.ViewBox) -> tuple[float, float] | None:
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


def _cosmetic(pen: QPen | None) -> QPen:
    """A 1-pixel cosmetic pen in ``pen``'s colour: the cheapest stroke Qt draws."""
    out = QPen(pen.color() if pen is not None else QColor("#888888"))
    out.setWidth(0)
    out.setCosmetic(True)
    return out


def _arrow_segments(
    tails: np.ndarray, vecs: np.ndarray, px: tuple[float, float], head_px: float
) -> np.ndarray:
    """Arrow shafts plus two head strokes each, as pairs of points for ``connect="pairs"``.

    Heads are built in *pixel* space and mapped back with the view's pixel size
    ``px`` (both positive, see :func:`_pixel_size`), so they look the same
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


def _visible_points(
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


def _cached_pixel_size(vb: pg.ViewBox) -> tuple[float, float] | None:
    """:func:`_pixel_size`, computed once per view range and view size.

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
    cached = getattr(vb, "_gdviz_pixel_size", None)
    if cached is None or cached[0] != key:
        cached = (key, _pixel_size(vb))
        vb._gdviz_pixel_size = cached
    return cached[1]


class _FastCurve(pg.PlotCurveItem):
    """A curve item whose bounds cost little to ask for.

    Qt asks every item for its bounding box several times a frame, and again
    for every item after each zoom or resize; pyqtgraph answers from
    ``nanmin``/``nanmax`` recomputed after every view change, plus pixel
    vectors measured per item. Here the data's min/max are computed once per
    data set (they do not depend on the view) and the pixel padding comes
    from the view box's pixel size, shared by all items in it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._extent: tuple[tuple[float, float], tuple[float, float]] | None = None
        self._extent_valid = False
        super().__init__(*args, **kwargs)

    def updateData(self, *args: Any, **kwargs: Any) -> None:
        self._extent_valid = False
        super().updateData(*args, **kwargs)
        x, y = self.xData, self.yData
        if isinstance(self.opts["connect"], str) and self.opts["connect"] == "all":
            if x is not None and y is not None and len(x) >= 2:
                if not np.any(np.isfinite(x) & np.isfinite(y)):
                    # Nothing to draw (a loss that is inf at every step). pyqtgraph
                    # 0.14 drops the non-finite points and then fills -1 segments
                    # into its last buffer: a ValueError on every paint.
                    super().updateData(np.empty(0), np.empty(0))

    def _full_extent(self) -> tuple[tuple[float, float], tuple[float, float]] | None:
        if not self._extent_valid:
            self._extent = None
            x, y = self.xData, self.yData
            if x is not None and y is not None and len(x) and len(y):
                with np.errstate(all="ignore"):
                    b = (
                        float(np.fmin.reduce(x)),
                        float(np.fmax.reduce(x)),
                        float(np.fmin.reduce(y)),
                        float(np.fmax.reduce(y)),
                    )
                if all(np.isfinite(b)):
                    self._extent = ((b[0], b[1]), (b[2], b[3]))
            self._extent_valid = True
        return self._extent

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange: Any = None) -> Any:
        if frac != 1.0 or orthoRange is not None:
            return super().dataBounds(ax, frac, orthoRange)
        extent = self._full_extent()
        return (None, None) if extent is None else extent[ax]

    def boundingRect(self) -> QRectF:
        if self._boundingRect is None:
            extent = self._full_extent()
            if extent is None:
                return QRectF()
            (x0, x1), (y0, y1) = extent
            pad = self.pixelPadding()
            vb = self.getViewBox() if pad > 0 else None
            if isinstance(vb, pg.ViewBox) and self.parentItem() is vb.childGroup:
                px = _cached_pixel_size(vb)
                dx, dy = (0.0, 0.0) if px is None else (px[0] * pad, px[1] * pad)
                self._boundingRect = QRectF(x0 - dx, y0 - dy, x1 - x0 + 2 * dx, y1 - y0 + 2 * dy)
            else:
                return super().boundingRect()
        return self._boundingRect


class _ChunkedCurve:
    """A polyline shown up to index ``i``: finished chunks cached, only the tail redrawn.

    Stroking a wide pen along thousands of points costs Qt tens of milliseconds
    a frame, and during playback almost all of a trail is the same as in the
    frame before. So the series is cut into chunks of :attr:`CHUNK` steps; each
    finished chunk is its own item rendered once into a device-coordinate
    cache (Qt re-renders it only when the view is zoomed or resized), and only
    the unfinished tail is stroked every frame. Together they hold every point
    ``0 … i`` exactly; nothing is thinned out.

    The outline (shadow) of all pieces is a separate layer below all of their
    lines, so the joints between chunks look like one unbroken line. At most
    :attr:`NEW_PER_CALL` chunks are built per call (building is what costs);
    until the rest exist the tail item covers the difference, so the picture is
    always complete and :meth:`pending` says whether more chunks can be built.
    """

    CHUNK = 512
    NEW_PER_CALL = 4

    def __init__(self, plot: pg.PlotItem, z: float, connect: str = "all") -> None:
        self.plot = plot
        self.z = z
        self.connect = connect
        self.chunks: list[tuple[pg.PlotCurveItem, pg.PlotCurveItem | None]] = []
        self.live = self._item(z)
        self.live_shadow: pg.PlotCurveItem | None = None
        self.x: np.ndarray = np.empty(0)
        self.y: np.ndarray = np.empty(0)
        # The data the cached chunks were drawn from (may run past x, y).
        self._chunk_x: np.ndarray = np.empty(0)
        self._chunk_y: np.ndarray = np.empty(0)
        self.pen: QPen | None = None
        self.shadow: QPen | None = None
        self.upto = -1
        self.visible = True
        self._shown = 0  # chunks currently visible (always the first ones)
        self._pool: list[pg.PlotCurveItem] = []
        self._px: tuple[float, float] | None = None  # pixel size the chunks were cached at
        # After a rescale the chunks not yet re-cached are drawn by this cheap
        # stand-in (1 px cosmetic pen, no outline, thinned at pixel size).
        self.rough: pg.PlotCurveItem | None = None
        self.roughing = False
        self._rough_span: tuple | None = None  # (x, first, last, pixel size) it was drawn for
        self._tail: tuple | None = None  # what the tail items were last set to show

    def _item(self, z: float) -> pg.PlotCurveItem:
        item = _FastCurve(connect=self.connect)
        item.setZValue(z)
        # Straight into the view box, outside the plot's data-item bookkeeping
        # and auto-range (the views set their ranges themselves): adding and
        # removing hundreds of chunks then stays cheap.
        self.plot.getViewBox().addItem(item, ignoreBounds=True)
        return item

    def _remove(self, item: pg.PlotCurveItem) -> None:
        self.plot.getViewBox().removeItem(item)

    @staticmethod
    def is_shown(item: pg.PlotCurveItem) -> bool:
        """Whether a chunk item is on screen (chunks are hidden by opacity, not visibility)."""
        return item.isVisible() and item.opacity() > 0.0

    def _recycle(self, item: pg.PlotCurveItem) -> None:
        # Hidden and kept for the next chunk: removing items from a scene and
        # adding new ones cost more than re-filling old ones.
        item.setVisible(False)
        self._pool.append(item)

    def set_style(self, pen: QPen, shadow: QPen | None = None) -> None:
        if self.pen is not None and pen == self.pen and shadow == self.shadow:
            return  # unchanged: keep the cached chunks
        self.pen, self.shadow = pen, shadow
        if shadow is not None and self.live_shadow is None:
            self.live_shadow = self._item(self.z - 1)
        if shadow is None and self.live_shadow is not None:
            self._remove(self.live_shadow)
            self.live_shadow = None
        self.live.setPen(pen)
        if self.live_shadow is not None:
            self.live_shadow.setPen(shadow)
        self._tail = None  # a new outline item has no data yet
        self._drop_chunks()  # cached pictures hold the old pens
        if self.upto >= 0:
            self.show_upto(self.upto)

    def set_series(self, x: np.ndarray, y: np.ndarray) -> None:
        """New data. Cached chunks survive where the new data equals the data
        they were drawn from; the others are rebuilt on demand.

        A trajectory that grew keeps all of them. A recomputed one arrives in
        parts, first much shorter than before: chunks past its end are kept
        (hidden) while it agrees with them, so a run whose settings did not
        change gets its old chunks back instead of having them all re-drawn.
        """
        n = len(self.chunks) * self.CHUNK + 1 if self.chunks else 0
        keep, replace = 0, True
        if n:
            cx, cy = self._chunk_x, self._chunk_y
            m = min(len(x), n)
            with np.errstate(invalid="ignore"):
                same = ((x[:m] == cx[:m]) | (np.isnan(x[:m]) & np.isnan(cx[:m]))) & (
                    (y[:m] == cy[:m]) | (np.isnan(y[:m]) & np.isnan(cy[:m]))
                )
            bad = np.flatnonzero(~same)
            if bad.size == 0:
                # Agrees as far as both go: the longer one says what the chunks hold.
                keep, replace = len(self.chunks), len(x) >= len(cx)
            else:
                # Chunk c holds points c·CHUNK … (c+1)·CHUNK.
                keep = int(bad[0]) // self.CHUNK
        self._drop_chunks(keep)
        if replace:
            self._chunk_x, self._chunk_y = x, y
        self.x, self.y = x, y
        self.upto = min(self.upto, len(x) - 1)

    def _drop_chunks(self, keep: int = 0) -> None:
        """Recycle the chunks from index ``keep`` on (all by default)."""
        for line, shadow in self.chunks[keep:]:
            self._recycle(line)
            if shadow is not None:
                self._recycle(shadow)
        del self.chunks[keep:]
        self._shown = min(self._shown, keep)

    def _chunk(self, c: int) -> tuple[pg.PlotCurveItem, pg.PlotCurveItem | None]:
        a, b = c * self.CHUNK, (c + 1) * self.CHUNK + 1  # chunks share their end points
        pieces: list[pg.PlotCurveItem | None] = []
        for pen, z in ((self.pen, self.z), (self.shadow, self.z - 1)):
            if pen is None and z != self.z:
                pieces.append(None)
                continue
            item = self._pool.pop() if self._pool else self._item(z)
            item.setZValue(z)
            item.setData(self.x[a:b], self.y[a:b], connect=self.connect)
            if pen is not None:
                item.setPen(pen)
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            item.setOpacity(0.0)  # show_upto shows it
            item.setVisible(True)
            pieces.append(item)
        return pieces[0], pieces[1]  # type: ignore[return-value]

    def show_upto(self, i: int, budget: list[int] | None = None, rough: bool = False) -> None:
        """Show points ``0 … i``; build at most ``budget[0]`` new chunks (shared, counted down).

        With ``rough``, more than one finished chunk still to be built (after
        a recompute or a jump) is drawn by the cheap stand-in until it is
        cached, instead of by the full-quality tail: the tail is stroked again
        in every paint, and stroking thousands of points with wide pens in each
        turn of the catch-up made each of those paints cost tens of
        milliseconds.
        """
        i = min(int(i), len(self.x) - 1)
        full = max(i, 0) // self.CHUNK
        budget = budget if budget is not None else [self.NEW_PER_CALL]
        if not self.chunks and full > 0 and budget[0] > 0:
            self._px = _cached_pixel_size(self.plot.getViewBox())
        while len(self.chunks) < full and budget[0] > 0:
            self.chunks.append(self._chunk(len(self.chunks)))
            budget[0] -= 1
        shown = min(full, len(self.chunks)) if self.visible else 0
        if shown != self._shown:
            # Only chunks whose visibility changes are touched (playback moves
            # one chunk boundary every CHUNK steps). Shown and hidden by their
            # opacity: Qt drops the cached picture of a hidden item, and
            # scrubbing back and forth (or a recompute that keeps a run's
            # chunks) then had every chunk rendered again in one paint, 90 ms
            # with 8 runs of 5,000 steps.
            lo, hi = sorted((shown, self._shown))
            opacity = 1.0 if shown > self._shown else 0.0
            for line, shadow in self.chunks[lo:hi]:
                line.setOpacity(opacity)
                if shadow is not None:
                    shadow.setOpacity(opacity)
            self._shown = shown
        shown = min(full, len(self.chunks))
        a = shown * self.CHUNK
        if rough and full - shown > 1:
            self.roughing = True
        px = _cached_pixel_size(self.plot.getViewBox())
        if self.roughing and shown < full and self.visible:
            # Catching up after a rescale: the missing chunks get the cheap
            # stand-in, and the full-quality tail starts at the last boundary.
            b = full * self.CHUNK
            span = self._rough_span
            if span is None or not (
                span[0] is self.x and span[1] <= a and span[2] == b and span[3] == px
            ):
                # Set once per catch-up, not every turn: chunks cached since
                # cover it (it lies between their outline and their line), and
                # re-setting it made Qt repaint its whole area every turn.
                rx, ry = _visible_points(self.x[a : b + 1], self.y[a : b + 1], px, 2.0)
                if self.rough is None:
                    self.rough = self._item(self.z - 0.5)
                self.rough.setPen(_cosmetic(self.pen))
                self.rough.setData(rx, ry, connect=self.connect, antialias=False)
                self.rough.setVisible(True)
                self._rough_span = (self.x, a, b, px)
            a = b
        else:
            self.roughing = False
            self._rough_span = None
            if self.rough is not None and self.rough.isVisible():
                _clear(self.rough)
                self.rough.setVisible(False)
        tail = (self.x, self.y, a, i, px, self.visible)
        old = self._tail
        if old is None or not (old[0] is tail[0] and old[1] is tail[1] and old[2:] == tail[2:]):
            # Only when it changed: new data makes Qt stroke it again.
            x, y = self.x[a : i + 1], self.y[a : i + 1]
            if len(x) > 16:
                # The tail is stroked every frame: leave out the points that
                # land within half a pixel of the one before (they change no
                # pixel). Until missing chunks are cached (just after a jump or
                # a recompute) the tail also stands in for them.
                x, y = _visible_points(x, y, px)
            for item in (self.live, self.live_shadow):
                if item is not None:
                    item.setData(x, y, connect=self.connect)
                    item.setVisible(self.visible)
            self._tail = tail
        self.upto = i

    def rescaled(self) -> bool:
        """Drop the cached chunks if a pixel now spans other data units; say whether it did.

        A resize or zoom invalidates the device-coordinate cache of every
        chunk, and Qt re-renders all of them in the next paint: with 8 runs of
        5,000 steps and wide pens that is well over 100 ms in one paint.
        Instead the chunks are dropped, the missing ones are drawn by a cheap
        1-px stand-in, and :meth:`show_upto` caches them again a few per
        event-loop turn; once all are back the picture is exactly the one
        before. A pan keeps the pixel size and the caches, which Qt moves.
        """
        px = _cached_pixel_size(self.plot.getViewBox())
        old, self._px = self._px, px
        if px is not None and old is not None and np.allclose(px, old, rtol=1e-9, atol=0.0):
            return False
        if not self.chunks:
            return False
        self._drop_chunks()
        self.roughing = True
        if self.upto >= 0:
            self.show_upto(self.upto, [0])
        return True

    def settled(self) -> bool:
        """Whether every piece is drawn in its final, full-quality form."""
        return not self.pending() and not self.roughing

    def pending(self) -> bool:
        """Whether finished chunks are still drawn by the tail (more can be cached)."""
        return self.visible and self.upto >= 0 and len(self.chunks) < self.upto // self.CHUNK

    def set_visible(self, visible: bool) -> None:
        self.visible = bool(visible)
        if self.upto >= 0:
            self.show_upto(self.upto)
        else:
            for item in (self.live, self.live_shadow):
                if item is not None:
                    item.setVisible(self.visible)

    def isVisible(self) -> bool:
        return self.visible and self.live.isVisible()

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """The points on screen, ``0 … i`` (for tests and exports)."""
        n = self.upto + 1
        return self.x[:n], self.y[:n]

    def remove(self) -> None:
        self._drop_chunks()
        for item in (self.live, self.live_shadow, self.rough, *self._pool):
            if item is not None:
                self._remove(item)
        self._pool.clear()


class _RunLegend(pg.GraphicsWidget):
    """Run names, each after a short line in its colour, in as many columns as fit.

    It sits in the layout above the loss plot, never on it: every corner of a
    loss plot can hold data (diverging runs climb to the upper right, slow ones
    stay along the top, converging ones fall to the lower right), and a box
    over the curves hides exactly what a class is asked to look at. Text is
    painted as plain text (run names may come from files and contain ``<``),
    and a name too long for the width is elided, so the legend never widens
    the plot's column.
    """

    def __init__(self) -> None:
        super().__init__()
        self._entries: list[tuple[QPen, str]] = []
        self._notes: list[str | None] = []  # a second line under each name, if any
        self._widest_note = ""
        self._inline = False  # notes after the names (True) or under them
        self._font = QFont()
        self._text = QColor("#000000")
        self._scale = 1.0
        self._cols = 1
        self._width = 0.0
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(0)
        self.setPreferredWidth(0)
        self._fit(0.0)

    def set_entries(
        self,
        entries: Sequence[tuple[QPen, str]],
        font: QFont,
        text: QColor,
        scale: float,
        notes: Sequence[str | None] = (),
        widest_note: str = "",
    ) -> None:
        """Show ``(pen, name)`` entries in ``font`` and ``text`` colour (sizes times ``scale``).

        ``notes`` (one per entry, None for none) go on a second line under the
        names; with any note every entry takes two lines, and the columns are
        as wide as ``widest_note`` needs too, so the legend's size does not
        change as notes come and go (a new size would move the loss plot).
        """
        self._widest_note = widest_note
        self._entries = list(entries)
        self._notes = [notes[i] if i < len(notes) else None for i in range(len(self._entries))]
        if not any(self._notes):
            self._notes = []
        self._font = QFont(font)
        self._text = QColor(text)
        self._scale = float(scale)
        self._fit(self.size().width())

    def entries(self) -> list[str]:
        """The names shown, in order."""
        return [name for _pen, name in self._entries]

    def notes(self) -> list[str | None]:
        """The second lines under the names (empty: one line per entry)."""
        return list(self._notes)

    _SEP = " — "  # between a name and its note on one line

    def _lines(self) -> int:
        return 2 if self._notes and not self._inline else 1

    # Sizes in pixels: line sample, gap after it, gap between columns, margin.
    def _sizes(self) -> tuple[float, float, float, float, float]:
        s = self._scale
        fm = QFontMetricsF(self._font)
        return 18.0 * s, 5.0 * s, 14.0 * s, 2.0 * s, fm.height()

    def _cell_width(self, inline: bool) -> float:
        sample, gap, _col_gap, _margin, _h = self._sizes()
        fm = QFontMetricsF(self._font)
        text = max((fm.horizontalAdvance(name) for _pen, name in self._entries), default=0.0)
        if not self._notes:
            return sample + gap + text
        note = max((fm.horizontalAdvance(n) for n in self._notes if n), default=0.0)
        note = max(note, fm.horizontalAdvance(self._widest_note))
        if inline:
            return sample + gap + text + fm.horizontalAdvance(self._SEP) + note
        return sample + gap + max(text, note)

    def _fit(self, width: float) -> None:
        """Choose the columns for ``width`` and take the height their rows need.

        Notes go after the names on the same line when the longest name and
        the widest note fit there, else on a line of their own; either way the
        choice does not depend on which notes are shown.
        """
        _sample, _gap, col_gap, margin, line = self._sizes()
        n = len(self._entries)
        self._width = width
        self._inline = bool(self._notes) and self._cell_width(True) <= width - 2 * margin
        if n == 0:
            height = 0.0
        else:
            cell = self._cell_width(self._inline)
            self._cols = max(1, min(n, int((width - 2 * margin + col_gap) // (cell + col_gap))))
            height = math.ceil(n / self._cols) * line * self._lines() + 2 * margin
        height = float(math.ceil(height))
        if self.minimumHeight() != height or self.maximumHeight() != height:
            self.setMinimumHeight(height)
            self.setMaximumHeight(height)
            self.updateGeometry()
        self.update()

    def resizeEvent(self, ev: Any) -> None:
        super().resizeEvent(ev)
        if ev.newSize().width() != self._width:
            self._fit(ev.newSize().width())

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.size().width(), self.size().height())

    def paint(self, p: QPainter, *args: Any) -> None:
        if not self._entries:
            return
        sample, gap, col_gap, margin, line = self._sizes()
        width = self.size().width()
        cols = self._cols
        cell = (width - 2 * margin - (cols - 1) * col_gap) / cols
        fm = QFontMetricsF(self._font)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setFont(self._font)
        lines = self._lines()
        for i, (pen, name) in enumerate(self._entries):
            row, col = divmod(i, cols)
            x = margin + col * (cell + col_gap)
            y = margin + row * line * lines
            mid = y + line / 2
            p.setPen(pen)
            p.drawLine(QPointF(x, mid), QPointF(x + sample, mid))
            p.setPen(self._text)
            room = max(cell - sample - gap, 0.0)
            note = self._notes[i] if self._notes else None
            if self._inline and note:
                texts = [f"{name}{self._SEP}{note}"]
            else:
                texts = [name] + ([note or ""] if lines == 2 else [])
            for j, t in enumerate(texts):
                p.drawText(
                    QRectF(x + sample + gap, y + j * line, room + 1, line),
                    int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                    fm.elidedText(t, Qt.TextElideMode.ElideRight, room),
                )


class _RunItems:
    """The graphics items of one run in the surface/curve view."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.trail = _ChunkedCurve(plot, 10)
        self.grad = _FastCurve(connect="pairs")
        self.step = _FastCurve(connect="pairs")
        for item in (self.grad, self.step):
            item.setZValue(12)
            plot.addItem(item)

    def remove(self, plot: pg.PlotItem) -> None:
        self.trail.remove()
        for item in (self.grad, self.step):
            plot.removeItem(item)


class Scene(QWidget):
    """Surface (2-D heat-map + contours, or 1-D curve) and loss views for one step.

    Parameters
    ----------
    panels
        ``"both"`` (surface left, loss right), ``"surface"`` or ``"loss"``.
    theme
        Colours and sizes; change later with :meth:`set_theme`.

    Signals
    -------
    startPicked(tuple)
        The person clicked on the surface or dragged the start marker: the new
        start point in data coordinates (``(x,)`` or ``(x, y)``).
    """

    startPicked = Signal(tuple)

    def __init__(
        self, panels: str = "both", theme: Theme = DARK, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        if panels not in PANELS:
            raise ValueError(f"panels must be one of {PANELS}, got {panels!r}")
        self.panels = panels
        self.theme = theme
        self.view = ViewSettings()
        self._loss: Any = None
        self._domain: tuple[tuple[float, float], ...] = ((-1.0, 1.0), (-1.0, 1.0))
        self._traj: Any = None
        self._colors: list[str] = []
        self._labels: list[str] = []
        self._visible: list[bool] = []
        self._step = 0
        self._start: tuple[float, ...] | None = None
        self.view3d: Any = None  # a Surface3DView once attach_3d is called
        self.surface_tabs: QTabWidget | None = None
        self._run_notes: list[str | None] = []  # words after the legend's names
        self._panel_gap = 0  # room between the two views (see _space_panels)
        self._aspect_room = (0, 0)  # margin that gives the plot its shape (_fit_aspect)
        self._surface_margins: tuple[float, ...] | None = None
        self._loss_top = 0  # room kept free above the loss plot (reserve_loss_top)
        self._loss_margins: tuple[int, int, int, int] | None = None
        self._run_items: list[_RunItems] = []
        self._brushes: list[QBrush] = []
        self._point_pen = QPen()
        self._loss_items: list[_ChunkedCurve] = []
        self._gnorm_items: list[_ChunkedCurve] = []
        self._lr_items: list[_ChunkedCurve] = []
        self._cache: dict[str, Any] = {}
        self._colorbar_width = 0  # the colour bar axis width so far (see _fit_colorbar_axis)
        self._catch_up = QTimer(self)
        self._catch_up.setSingleShot(True)
        self._catch_up.setInterval(0)
        self._catch_up.timeout.connect(lambda: self.set_step(self._step))
        #: Whether a resize or zoom re-caches trails a few per turn (with a
        #: cheap stand-in meanwhile). Off, or in a window that is never shown
        #: on screen (the exporter's), Qt re-renders the caches in one paint.
        self.rough_catch_up = True
        #: Whether an expensive surface is drawn coarse at once and refined
        #: over later turns. Off, or in a window never shown on screen (the
        #: exporter's), every surface is sampled in full before it is drawn.
        self.progressive_surface = True
        self._surf: _Surface | None = None
        #: (loss, seconds per grid point) last measured: a zoom or pan of the
        #: same loss skips the probe.
        self._point_cost: tuple[Any, float] | None = None
        self._refine = QTimer(self)
        self._refine.setSingleShot(True)
        self._refine.setInterval(0)
        self._refine.timeout.connect(self._refine_surface)
        self._build()
        self.set_theme(theme)

    # ------------------------------------------------------------------ build
    def _build(self) -> None:
        # Two graphics views side by side in a box layout: the split (3 : 2) is
        # then a plain widget stretch, and either side can be left out.
        self.surface_view = pg.GraphicsLayoutWidget()
        self.loss_view = pg.GraphicsLayoutWidget()
        self.glw = self.surface_view  # the view whose clicks set the start
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.surface_view, 3)
        lay.addWidget(self.loss_view, 2)
        for v in (self.surface_view, self.loss_view):
            v.ci.setContentsMargins(4, 4, 4, 4)

        # Surface / curve plot.
        self.surface = pg.PlotItem()
        self.surface.setMenuEnabled(False)
        self.surface.hideButtons()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        self.surface.addItem(self.image)
        self.contours = pg.PlotCurveItem(connect="pairs")
        self.contours.setZValue(-5)
        self.surface.addItem(self.contours)
        self.field = pg.PlotCurveItem(connect="pairs")
        self.field.setZValue(-4)
        self.surface.addItem(self.field)
        self.curve = pg.PlotCurveItem()  # 1-D function graph
        self.curve.setZValue(-3)
        self.surface.addItem(self.curve)
        self.points = pg.ScatterPlotItem(pxMode=True)
        self.points.setZValue(20)
        self.surface.addItem(self.points)
        self.target = pg.TargetItem(pos=(0, 0), size=16, symbol="crosshair", movable=True)
        self.target.setZValue(30)
        self.surface.addItem(self.target)
        self.target.sigPositionChangeFinished.connect(self._target_moved)
        self.colorbar = pg.ColorBarItem(
            values=(0, 1), colorMap=pg.colormap.get("viridis"), interactive=False, width=16
        )
        self.surface_view.addItem(self.surface, row=0, col=0)
        self.surface_view.addItem(self.colorbar, row=0, col=1)

        # Loss plots.
        self.loss_plot = pg.PlotItem()
        self.gnorm_plot = pg.PlotItem()
        self.lr_plot = pg.PlotItem()
        for p in (self.loss_plot, self.gnorm_plot, self.lr_plot):
            p.setMenuEnabled(False)
            p.hideButtons()
        for p in (self.gnorm_plot, self.lr_plot):
            p.setXLink(self.loss_plot)
        self.markers = [pg.InfiniteLine(angle=90, movable=False) for _ in range(3)]
        for m, p in zip(self.markers, (self.loss_plot, self.gnorm_plot, self.lr_plot), strict=True):
            m.setZValue(30)
            p.addItem(m)
        self.legend = _RunLegend()
        # Static layers are rendered once into a cache, not redrawn every frame.
        for item in (self.image, self.contours, self.field, self.curve, self.legend):
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

        self._layout_panels()
        self.surface.getAxis("bottom").geometryChanged.connect(self._fit_colorbar_bottom)
        self.surface_view.scene().sigMouseClicked.connect(self._clicked)
        # Arrows are measured in pixels: redraw them once the view has its
        # size (it may have none when the first step is drawn) and after a
        # resize or zoom changed what a pixel is.
        surface_vb = self.surface.getViewBox()
        surface_vb.sigResized.connect(lambda *_: self._catch_up.start())
        surface_vb.sigResized.connect(lambda *_: self._fit_aspect())
        surface_vb.sigRangeChanged.connect(lambda *_: self._catch_up.start())
        # Cached trail and curve chunks go stale with the scale of their view;
        # re-cache them a few per turn instead of all in one paint.
        for plot, series in (
            (self.surface, lambda: [items.trail for items in self._run_items]),
            (self.loss_plot, lambda: self._loss_items),
            (self.gnorm_plot, lambda: self._gnorm_items),
            (self.lr_plot, lambda: self._lr_items),
        ):
            vb = plot.getViewBox()
            for sig in (vb.sigResized, vb.sigRangeChanged):
                sig.connect(lambda *_, series=series: self._rescaled(series()))

    def _layout_panels(self) -> None:
        surface = self.surface_view if self.surface_tabs is None else self.surface_tabs
        surface.setVisible(self.panels in ("both", "surface"))
        self.loss_view.setVisible(self.panels in ("both", "loss"))
        L = self.loss_view.ci
        L.clear()
        right = [self.loss_plot]
        if self.view.show_grad_norm:
            right.append(self.gnorm_plot)
        if self.view.show_lr:
            right.append(self.lr_plot)
        L.addItem(self.legend, row=0, col=0)
        for r, p in enumerate(right):
            L.addItem(p, row=r + 1, col=0)
        for p in (self.gnorm_plot, self.lr_plot):
            p.setVisible(p in right)

    def attach_3d(self, view3d: Any) -> None:
        """Show ``view3d`` as a "3D" tab beside the 2-D surface, linked to this scene.

        ``view3d`` is a :class:`~gdviz.ui.view3d.Surface3DView`; from now on it
        gets the same problem, runs, start, view settings, theme and step as
        the scene (a hidden tab defers its work until it is shown).
        """
        self.view3d = view3d
        tabs = QTabWidget()
        tabs.setDocumentMode(True)
        self.layout().replaceWidget(self.surface_view, tabs)
        tabs.addTab(self.surface_view, "2D")
        tabs.addTab(view3d, "3D")
        self.layout().setStretchFactor(tabs, 3)
        self.surface_tabs = tabs
        view3d.set_theme(self.theme)
        view3d.set_view(self.view)
        if self._loss is not None:
            view3d.set_problem(self._loss, self._domain)
        if self._traj is not None:
            view3d.set_runs(self._traj, self._colors, self._labels, self._visible)
        view3d.set_start(self._start)
        view3d.set_step(self._step)
        self._layout_panels()

    # ------------------------------------------------------------------ theme
    def set_theme(self, theme: Theme) -> None:
        """Restyle every item (pyqtgraph reads global config only at creation)."""
        self.theme = theme
        if self.view3d is not None:
            self.view3d.set_theme(theme)
        self._colorbar_width = 0  # measured afresh for the new fonts
        for v in (self.surface_view, self.loss_view):
            v.setBackground(_color(theme.background))
        for p in (self.surface, self.loss_plot, self.gnorm_plot, self.lr_plot):
            _style_plot(p, theme)
        self.colorbar.axis.setPen(_color(theme.foreground))
        self.colorbar.axis.setTextPen(_color(theme.foreground))
        font = QFont()
        font.setPointSizeF(theme.font_pt * 0.85)
        self.colorbar.axis.setTickFont(font)
        _plain_ticks(self.colorbar.axis)
        self._space_panels()
        self._fit_colorbar_bottom()
        self.contours.setPen(_pen(theme.contour, 1.0 * theme.font_scale))
        self.field.setPen(_pen(theme.field, 1.2 * theme.font_scale))
        self.curve.setPen(_pen(theme.foreground, 2.0 * theme.font_scale))
        self.target.setPen(_pen(theme.foreground, 2.0))
        for m in self.markers:
            # Solid, opaque and thin (a mix of the two theme colours): a dashed
            # or translucent line across the plot cost 2–3 ms a frame.
            m.setPen(_pen(_mix(theme.foreground, theme.background), 1.0 * theme.font_scale))
        self._label_axes()
        self._redraw_problem()
        self._restyle_runs()
        self.set_step(self._step)

    def _fit_colorbar_bottom(self) -> None:
        """End the colour bar where the plot area ends, not below the x axis.

        Called again whenever the x axis changes height: it grows when its
        title is set and when it first measures its tick labels, after the
        theme is applied.
        """
        margin = self.surface.getAxis("bottom").height()
        if self.colorbar.getContentsMargins()[3] != margin:
            self.colorbar.setContentsMargins(0, 0, 0, margin)

    def _space_panels(self) -> None:
        """Leave :data:`PANEL_GAP_LINES` of the title font between the two views.

        Half of it on each side of their border, inside each view (so the gap
        has the plots' background, also in an exported picture). It depends
        on the theme alone: the surface never resizes when the function
        changes.
        """
        gap = 0
        if self.panels == "both":
            font = QFont()
            font.setPointSizeF(self.theme.font_pt)  # the titles' size (see _set_labels)
            gap = math.ceil(0.5 * PANEL_GAP_LINES * QFontMetricsF(font).height())
        self._panel_gap = gap
        self._set_surface_margins()
        self._set_loss_margins()

    def _set_surface_margins(self) -> None:
        ex, ey = self._aspect_room
        lo_x, lo_y = ex // 2, ey // 2
        margins = (4 + lo_x, 4 + lo_y, 4 + self._panel_gap + ex - lo_x, 4 + ey - lo_y)
        if margins != self._surface_margins:
            self._surface_margins = margins
            ci = self.surface_view.ci
            ci.setContentsMargins(*margins)
            # Laid out now, not in a later turn: the range set next (a new
            # view window) is then shown exactly, never first stretched to
            # the old shape.
            ci.layout.activate()

    def _fit_aspect(self) -> None:
        """Give the 2-D plot area the shape of its view window: one unit is as long on x as on y.

        Only with ``ViewSettings.equal_axes`` (the default).

        Without it a round bowl was drawn as an ellipse, a ravine looked
        half as narrow as it is, and −∇f arrows did not meet the contour lines
        at right angles. The room the shape leaves is shared out as margin
        around the plot; the view box also keeps x and y locked together
        while a person zooms and pans. A 1-D curve fills its area.
        """
        vb = self.surface.getViewBox()
        if vb.width() < 1 or vb.height() < 1:
            return  # not laid out yet: nothing to give a shape to
        ex, ey = self._aspect_room
        width, height = vb.width() + ex, vb.height() + ey  # the room without the margin
        room = (0, 0)
        two_d = self._loss is not None and self._loss.dim == 2 and self.view.equal_axes
        aspect = 1.0
        if two_d:
            (x0, x1), (y0, y1) = self._domain[0], self._domain[1]
            aspect = (x1 - x0) / (y1 - y0)  # of the view window, in data units
            # A window much longer one way than the other would be a sliver:
            # then x and y are not the same kind of quantity, and each fills.
            two_d = 1.0 / MAX_EQUAL_ASPECT <= aspect <= MAX_EQUAL_ASPECT
        if two_d:
            if width / height > aspect:
                room = (round(width - height * aspect), 0)
            else:
                room = (0, round(height - width / aspect))
        if vb.state["aspectLocked"] != (1.0 if two_d else False):
            vb.setAspectLocked(two_d, 1.0)
        if room != self._aspect_room:
            self._aspect_room = room
            self._set_surface_margins()

    def reserve_loss_top(self, pixels: int) -> None:
        """Keep the top ``pixels`` of the loss view free (0: none), e.g. for a card over it."""
        pixels = max(0, int(pixels))
        if pixels != self._loss_top:
            self._loss_top = pixels
            self._set_loss_margins()

    def _set_loss_margins(self) -> None:
        margins = (4 + self._panel_gap, 4 + self._loss_top, 4, 4)
        if margins != self._loss_margins:
            self._loss_margins = margins
            view = self.loss_view
            view.ci.setContentsMargins(*margins)
            # Fit the layout to the view again: squeezed below its minimum (a
            # tall card over a short view) it grew past the view's bottom, and
            # nothing set it back when the room came back.
            view.ci.setGeometry(view.range)

    def _value_name(self) -> str:
        """What the function's values are called: ``f``, or ``L`` for a loss over data."""
        name = getattr(self._loss, "value_name", "f")
        return name if isinstance(name, str) and name else "f"

    def _label_axes(self) -> None:
        t = self.theme
        names = tuple(self._loss.variables) if self._loss is not None else ("x", "y")
        key = (
            t,
            names,
            self._value_name(),
            self.view.log_loss,
            self._cache.get("loss_label"),
            self._cache.get("bar_label"),
        )
        if key == self._cache.get("labels_key"):
            return  # unchanged: setting axis labels re-lays out the plots
        self._cache["labels_key"] = key
        if len(names) == 1:
            _set_labels(self.surface, t, bottom=names[0], left=f"{self._value_name()}({names[0]})")
        else:
            _set_labels(self.surface, t, bottom=names[0], left=names[1] if len(names) > 1 else "")
        log = self.view.log_loss
        _set_labels(self.loss_plot, t, left=self._cache.get("loss_label", "loss"), bottom="step")
        self.loss_plot.getAxis("left").setLogMode(log)
        _set_labels(self.gnorm_plot, t, left="‖∇f‖", bottom="step")
        self.gnorm_plot.getAxis("left").setLogMode(True)
        _set_labels(self.lr_plot, t, left="learning rate", bottom="step")
        self.colorbar.axis.setLabel(
            self._cache.get("bar_label", "f"),
            color=t.foreground,
            **{"font-size": f"{t.font_pt:.1f}pt"},
        )
        self._fit_colorbar_axis()

    def _fit_colorbar_axis(self) -> None:
        """Make the colour bar's axis as wide as its widest tick label plus its title.

        pyqtgraph gives the bar's axis a fixed 45 px, so at larger fonts the
        rotated title sat on the tick labels. The width is measured from the
        tick strings pyqtgraph draws for the current levels (at a short bar and
        at the bar's height) in the tick font, plus the title's height.

        Within a theme the width only grows. Any change of it resizes the
        surface plot, and a resized plot re-renders the cached picture of
        every trail chunk in one paint (over 100 ms with 8 runs of 5,000
        steps): typing a function whose labels are a little narrower must not
        cost that. A few pixels of spare room after the labels are harmless.
        """
        axis = self.colorbar.axis
        lo, hi = (float(v) for v in self.colorbar.levels())
        font = axis.style.get("tickFont") or QFont()
        fm = QFontMetricsF(font)
        text = 0.0
        if hi > lo and math.isfinite(lo) and math.isfinite(hi):
            # Text goes on the first two tick levels at most (pyqtgraph's
            # textFillLimits leave finer levels bare on a bar this tall).
            tall = max(float(self.colorbar.height()), 400.0)
            for size in (150.0, tall):
                for spacing, values in axis.tickValues(lo, hi, size)[:2]:
                    for label in axis.tickStrings(values, 1.0, spacing):
                        text = max(text, fm.horizontalAdvance(label))
        width = text + axis.style["tickTextOffset"][0] + max(0, axis.style["tickLength"])
        if axis.label.isVisible():
            # The title is drawn rotated at the far edge, its box starting
            # (height − 5) px from it (AxisItem.resizeEvent); the box has a
            # document margin and room above the glyphs, so three quarters of
            # its height still leave a clear gap after the tick labels.
            width += 0.75 * axis.label.boundingRect().height()
        width = max(math.ceil(width + 2 * self.theme.font_scale), self._colorbar_width)
        self._colorbar_width = width
        if width != axis.fixedWidth:
            axis.setWidth(width)

    # ----------------------------------------------------------------- inputs
    def set_view(self, view: ViewSettings) -> None:
        """Change drawing settings (heat-map, contours, arrows, log scales, extra plots)."""
        old = self.view
        self.view = view
        if self.view3d is not None:
            self.view3d.set_view(view)
        if (old.show_grad_norm, old.show_lr) != (view.show_grad_norm, view.show_lr):
            self._layout_panels()
        if (old.heatmap, old.contours, old.n_contours, old.log_levels, old.gradient_field) != (
            view.heatmap,
            view.contours,
            view.n_contours,
            view.log_levels,
            view.gradient_field,
        ):
            self._redraw_problem()
        if old.log_loss != view.log_loss:
            self._prepare_runs()
            self._label_axes()
        if old.equal_axes != view.equal_axes:
            # The plot takes its new shape around what is on screen now.
            vb = self.surface.getViewBox()
            (x0, x1), (y0, y1) = vb.viewRange()
            self._fit_aspect()
            vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        self.set_step(self._step)

    def set_problem(
        self, loss: Any, domain: Sequence[Sequence[float]], *, reset_view: bool = True
    ) -> None:
        """Show a new function over ``domain`` (one ``(low, high)`` pair per variable).

        ``reset_view=False`` keeps the current zoom (used to resample after zooming).

        Raises
        ------
        ValueError
            If the domain is not a valid range per variable (message names the axis).
        """
        dom = normalize_domain(domain, loss.dim)
        self._loss = loss
        self._domain = dom
        if self.view3d is not None:
            self.view3d.set_problem(loss, dom)
        self._label_axes()
        self._redraw_problem()
        if reset_view:
            self.reset_range()

    def reset_range(self) -> None:
        """Show exactly the problem's view window (undo mouse zoom and pan)."""
        self._fit_aspect()
        vb = self.surface.getViewBox()
        (x0, x1) = self._domain[0]
        if self._loss is not None and self._loss.dim == 1:
            y0, y1 = self._cache.get("curve_yrange", (0.0, 1.0))
        else:
            (y0, y1) = self._domain[1] if len(self._domain) > 1 else (0.0, 1.0)
        vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)

    def set_start(self, point: Sequence[float] | None) -> None:
        """Show the start marker at ``point`` (None hides it)."""
        self._start = None if point is None else tuple(float(v) for v in point)
        if self.view3d is not None:
            self.view3d.set_start(self._start)
        if self._start is None:
            self.target.hide()
            return
        self.target.show()
        if len(self._start) == 1:
            y = self._loss_at(self._start)
            self.target.setPos(self._start[0], y if np.isfinite(y) else 0.0)
        else:
            self.target.setPos(self._start[0], self._start[1])

    def set_runs(
        self,
        trajectory: Any,
        colors: Sequence[str],
        labels: Sequence[str],
        visible: Sequence[bool] | None = None,
    ) -> None:
        """Show the runs of a computed trajectory (None clears them).

        Parameters
        ----------
        trajectory
            A :class:`~gdviz.core.engine.Trajectory` with ``K`` runs.
        colors, labels
            One ``#rrggbb`` colour and one label per run.
        visible
            Which runs to draw (all by default).
        """
        self._traj = trajectory
        k = 0 if trajectory is None else trajectory.positions.shape[1]
        if len(colors) < k or len(labels) < k:
            raise ValueError(f"need {k} colours and labels, got {len(colors)} and {len(labels)}")
        self._colors = list(colors[:k])
        self._labels = list(labels[:k])
        self._visible = [True] * k if visible is None else [bool(v) for v in visible[:k]]
        if self.view3d is not None:
            self.view3d.set_runs(trajectory, self._colors, self._labels, self._visible)
        while len(self._run_items) < k:
            self._run_items.append(_RunItems(self.surface))
            for items, plot in (
                (self._loss_items, self.loss_plot),
                (self._gnorm_items, self.gnorm_plot),
                (self._lr_items, self.lr_plot),
            ):
                items.append(_ChunkedCurve(plot, 5, connect="finite"))
        while len(self._run_items) > k:
            self._run_items.pop().remove(self.surface)
            for items in (self._loss_items, self._gnorm_items, self._lr_items):
                items.pop().remove()
        self._prepare_runs()
        self._restyle_runs()
        self.set_step(min(self._step, self.n_steps))

    @property
    def n_steps(self) -> int:
        """Number of steps available to show (0 without a trajectory)."""
        return 0 if self._traj is None else int(self._traj.positions.shape[0] - 1)

    @property
    def step(self) -> int:
        return self._step

    # --------------------------------------------------------------- drawing
    def _loss_at(self, point: Sequence[float]) -> float:
        if self._loss is None:
            return float("nan")
        with np.errstate(all="ignore"):
            return float(np.asarray(self._loss.value(np.asarray(point, dtype=np.float64))))

    def _redraw_problem(self) -> None:
        loss, v = self._loss, self.view
        if loss is None:
            return
        if loss.dim == 1:
            self._set_surface(None)
            c = sample_curve(loss, self._domain, 800)
            self.curve.setData(c.xs, c.z, connect="finite")
            self.curve.show()
            self.image.hide()
            self.contours.hide()
            self.field.hide()
            self.colorbar.hide()
            rng = c.value_range() or (0.0, 1.0)
            lo, hi = rng
            f = c.z[np.isfinite(c.z)]
            if f.size > 20:
                # The whole curve fits, unless it climbs without bound (a
                # pole): then the top 2 % of the samples leave the plot, and
                # the rest of the curve is not squashed flat by them.
                cap = float(np.quantile(f, 0.98))
                if hi > cap and not _top_is_bounded(loss, c):
                    hi = cap
            lo, hi = _readable_range(lo, hi)
            pad = 0.08 * (hi - lo)
            self._cache["curve_yrange"] = (lo - pad, hi + pad)
            return
        self.curve.hide()
        self.colorbar.setVisible(v.heatmap)
        st = self._surf
        if st is None or st.loss is not loss or st.domain != self._domain:
            known = self._point_cost
            cost = known[1] if known is not None and known[0] is loss else None
            st = _Surface(loss, self._domain, cost)
            self._set_surface(st)
        sync = self._surface_sync()
        if st.grid is None and sync:
            st.sampler.sample_all()
        elif st.grid is None and st.coarse is None:
            st.coarse = st.sampler.first_pass(
                SURFACE_SYNC_SECONDS, COARSE_SECONDS, PROBE_SAMPLES, COARSE_SAMPLES
            )
            st.expensive = st.grid is None
        if st.sampler.cost is not None:
            self._point_cost = (loss, st.sampler.cost)
        if v.gradient_field and st.field is None and (sync or not st.expensive):
            st.field = gradient_field(loss.grad, self._domain, FIELD_ARROWS)
        grid = st.grid if st.grid is not None else st.coarse
        assert grid is not None
        st.shown = grid
        st.drawn = self._draw_grid(grid)
        if st.drawn and v.gradient_field and st.field is not None:
            self._draw_field(st.field)
        elif st.drawn:
            self.field.hide()  # off, or computed over the next turns
        st.final = st.grid is not None
        if self._surface_work(st):
            self._refine.start()

    # ------------------------------------------------ progressive surface
    def _set_surface(self, st: _Surface | None) -> None:
        """Make ``st`` the current surface; pending work on an older one is dropped."""
        self._surf = st
        self._refine.stop()

    def _surface_sync(self) -> bool:
        """Whether every surface is sampled in full before it is drawn.

        An exporter's scene (or one inside its widget) paints each frame right
        after setting it: a coarse stand-in would end up in the exported file.
        """
        offscreen = self.window().testAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        return not self.progressive_surface or offscreen

    def _surface_work(self, st: _Surface) -> bool:
        """Whether ``st`` still has work left: rows to sample, arrows to compute, or
        the final picture to draw."""
        if st.grid is None or not st.final:
            return True
        return self.view.gradient_field and st.field is None

    def _refine_surface(self) -> None:
        """One turn of refining: a slice of arrows or grid rows, or the final picture.

        Each slice is sized from the measured time per point to take about
        :data:`~gdviz.ui.compute.SLICE_SECONDS`, and whole rows at least (a
        dataset loss then batches its points as the one-pass grid does, which
        keeps the result identical to :func:`~gdviz.core.surface.sample_grid`).
        Drawing the final picture is a turn of its own.
        """
        st = self._surf
        if st is None or st.loss is not self._loss or st.domain != self._domain:
            return
        if self.view.gradient_field and st.field is None:
            self._field_slice(st)
        elif st.grid is None:
            st.sampler.advance(SLICE_SECONDS)
            self._point_cost = (st.loss, st.sampler.cost)
        elif not st.final:
            self._redraw_problem()  # the full grid (and arrows): final quality
            return
        if self._surface_work(st):
            self._refine.start()

    def _field_slice(self, st: _Surface) -> None:
        if st.field_points is None:
            st.field_points = field_points(st.domain, FIELD_ARROWS)
            st.field_grads = np.empty_like(st.field_points)
            st.field_done = 0
        assert st.field_grads is not None
        total = len(st.field_points)
        # Whole rows of arrows at a time: one row first, to measure what a
        # gradient costs (a few values, depending on the loss).
        rows = 1
        if st.field_cost > 0:
            rows = max(1, int(SLICE_SECONDS / (st.field_cost * FIELD_ARROWS)))
        stop = min(total, st.field_done + rows * FIELD_ARROWS)
        t0 = time.perf_counter()
        with np.errstate(all="ignore"):
            g = np.asarray(st.loss.grad(st.field_points[st.field_done : stop]), dtype=np.float64)
        st.field_cost = max((time.perf_counter() - t0) / (stop - st.field_done), 1e-12)
        st.field_grads[st.field_done : stop] = np.broadcast_to(g, (stop - st.field_done, 2))
        st.field_done = stop
        if stop == total:
            st.field = field_arrows(st.field_points, st.field_grads, st.domain, FIELD_ARROWS)
            st.field_points = st.field_grads = None
            if st.drawn:
                self._draw_field(st.field)  # arrows at once, over the picture so far

    def _draw_grid(self, grid: Grid) -> bool:
        """Heat-map, colour bar and contours of ``grid``; False if it has no finite value."""
        t, v = self.theme, self.view
        cmap = pg.colormap.get(t.colormap)
        rng = grid.value_range()
        z = grid.z
        if rng is None:
            self.image.hide()
            self.contours.setData([], [])
            self.field.setData([], [])
            return False
        zmin, zmax = rng
        if v.log_levels:
            span = max(zmax - zmin, 1e-300)
            disp = np.log10(z - zmin + span * 1e-4)
            self._cache["bar_label"] = f"log₁₀({self._value_name()} − min)"
        else:
            disp = z
            self._cache["bar_label"] = self._value_name()
        finite = np.isfinite(disp)
        dlo = float(disp[finite].min())
        dhi = (
            float(np.quantile(disp[finite], 0.99))
            if finite.sum() > 10
            else float(disp[finite].max())
        )
        if not dhi > dlo:
            dhi = dlo + 1.0
        # Halves: for values near ±1e308 the span itself overflows.
        half_span = 0.5 * dhi - 0.5 * dlo
        if half_span > 0:
            norm = np.clip((0.5 * np.where(finite, disp, dlo) - 0.5 * dlo) / half_span, 0.0, 1.0)
        else:  # flat at a size where dlo + 1 == dlo (e.g. x^2 + 1e300): one colour
            norm = np.zeros_like(disp)
        rgba = cmap.map(norm.ravel(), mode="byte").reshape(*norm.shape, 4).copy()
        rgba[..., 3] = np.where(finite, int(255 * t.heatmap_opacity), 0)  # masked = transparent
        self.image.setImage(rgba, autoLevels=False, levels=None)
        (x0, x1), (y0, y1) = self._domain
        dx = (x1 - x0) / (len(grid.xs) - 1)
        dy = (y1 - y0) / (len(grid.ys) - 1)
        self.image.setRect(QRectF(x0 - dx / 2, y0 - dy / 2, x1 - x0 + dx, y1 - y0 + dy))
        self.image.setVisible(v.heatmap)
        self.colorbar.setColorMap(cmap)
        self.colorbar.setLevels((dlo, dhi))
        self._label_axes()
        self._fit_colorbar_axis()
        if v.contours:
            levels = contour_levels(z, v.n_contours, log=v.log_levels)
            seg = contour_segments(grid, levels)
            pts = seg.reshape(-1, 2)
            self.contours.setData(pts[:, 0], pts[:, 1], connect="pairs")
            self.contours.show()
        else:
            self.contours.hide()
        self._cache["grid_masked"] = grid.masked_fraction
        return True

    def _draw_field(self, field: tuple[np.ndarray, np.ndarray]) -> None:
        pts, d = field
        (x0, x1), (y0, y1) = self._domain
        px = ((x1 - x0) / 400.0, (y1 - y0) / 400.0)
        segs = _arrow_segments(pts - d / 2, d, px, 4.0)
        self.field.setData(segs[:, 0], segs[:, 1], connect="pairs")
        self.field.show()

    def _prepare_runs(self) -> None:
        """Turn the trajectory into contiguous per-run arrays once, not every frame."""
        tr = self._traj
        c = self._cache
        if tr is None:
            c["runs"] = []
            return
        pos = np.asarray(tr.positions, dtype=np.float64)
        losses = np.asarray(tr.losses, dtype=np.float64)
        n = pos.shape[0]
        steps = np.arange(n, dtype=np.float64)
        c["steps"] = steps
        finite = losses[np.isfinite(losses)]
        if self.view.log_loss:
            lo = float(finite.min()) if finite.size else 1.0
            if lo > 0:
                shown = losses
                c["loss_label"] = "loss"
            else:
                span = float(finite.max() - lo) if finite.size else 1.0
                shown = losses - lo + max(span, 1.0) * 1e-12
                c["loss_label"] = "loss − min"
            with np.errstate(all="ignore"):
                shown = np.log10(np.where(shown > 0, shown, np.nan))
        else:
            shown = losses
            c["loss_label"] = "loss"
        with np.errstate(all="ignore"):
            gn = np.linalg.norm(np.asarray(tr.grads, dtype=np.float64), axis=-1)
            gn_log = np.log10(np.where(gn > 0, gn, np.nan))
        lrs = np.asarray(tr.lrs, dtype=np.float64)
        runs = []
        d = pos.shape[2]
        for k in range(pos.shape[1]):
            x = np.ascontiguousarray(pos[:, k, 0])
            y = np.ascontiguousarray(pos[:, k, 1] if d > 1 else losses[:, k])
            runs.append(
                {
                    "x": x,
                    "y": y,
                    "loss": np.ascontiguousarray(shown[:, k]),
                    "gnorm": np.ascontiguousarray(gn_log[:, k]),
                    "lr": np.ascontiguousarray(lrs[:, k]),
                }
            )
        c["runs"] = runs
        for k, r in enumerate(runs):
            if k < len(self._run_items):
                self._run_items[k].trail.set_series(r["x"], r["y"])
                self._loss_items[k].set_series(steps, r["loss"])
                self._gnorm_items[k].set_series(steps, r["gnorm"])
                self._lr_items[k].set_series(steps, r["lr"])
        # Fixed axis ranges: the loss plot does not rescale every frame (a
        # range that follows playback makes every curve jump), a diverging run
        # cannot squash the others (top capped at 10× the largest starting
        # value, or one decade above it in log), and a run that reaches
        # machine precision cannot either (bottom at most LOSS_DECADES below
        # the largest starting loss in log; curves under it leave the plot).
        vb = self.loss_plot.getViewBox()
        vb.setXRange(0, max(n - 1, 1), padding=0.02)
        fin = shown[np.isfinite(shown)]
        if fin.size:
            lo, hi = float(fin.min()), float(fin.max())
            first = shown[0][np.isfinite(shown[0])]
            if first.size:
                if self.view.log_loss:
                    hi = min(hi, float(first.max()) + 1.0)
                    lo = max(lo, float(first.max()) - LOSS_DECADES)
                else:
                    hi = min(hi, float(first.max()) + 9 * abs(float(first.max()) - lo))
            lo, hi = _readable_range(lo, hi, log=self.view.log_loss)
            vb.setYRange(lo, hi, padding=0.05)
        gfin = gn_log[np.isfinite(gn_log)]
        if gfin.size:
            glo, ghi = float(gfin.min()), float(gfin.max())
            self.gnorm_plot.getViewBox().setYRange(glo, max(ghi, glo + 1.0), padding=0.05)
        lfin = lrs[np.isfinite(lrs)]
        if lfin.size:
            self.lr_plot.getViewBox().setYRange(0, max(float(lfin.max()), 1e-12), padding=0.05)
        self._label_axes()

    def _restyle_runs(self) -> None:
        t = self.theme
        n = len(self._run_items)
        key = (t, tuple(self._colors), tuple(self._labels), tuple(self._visible), n)
        if key == self._cache.get("style_key"):
            return  # same look: keep pens, cached chunks and the legend
        self._cache["style_key"] = key
        self._brushes = [pg.mkBrush(c) for c in self._colors]
        self._point_pen = _pen(t.path_shadow[:7], 1.5 * t.font_scale)
        for k, items in enumerate(self._run_items):
            color = self._colors[k] if k < len(self._colors) else t.run_color(k)
            items.trail.set_style(
                _pen(color, t.line_px), _pen(t.path_shadow, t.line_px + 2.5 * t.font_scale)
            )
            items.grad.setPen(_pen(color, 1.6 * t.font_scale, Qt.PenStyle.DashLine))
            items.step.setPen(_pen(color, 2.0 * t.font_scale))
            for series in (self._loss_items, self._gnorm_items, self._lr_items):
                series[k].set_style(_pen(color, max(1.5, t.line_px * 0.8)))
        self._cache["legend_key"] = None
        self._update_legend()

    def set_run_notes(self, notes: Sequence[str | None]) -> None:
        """A line under each run's name in the legend (None: none), e.g. "diverged at 12".

        Presentation mode hides the numbers table; the legend then tells a
        class which run diverged, converged or stopped. Empty: names only.
        """
        notes = [n or None for n in notes]
        if notes != self._run_notes:
            self._run_notes = notes
            self._update_legend()

    def _update_legend(self) -> None:
        t = self.theme
        notes = self._run_notes
        # Room for the longest badge at the last step ("converged at 5000").
        widest = "converged at " + "0" * len(str(max(self.n_steps, 0)))
        key = (self._cache.get("style_key"), tuple(notes), widest)
        if key == self._cache.get("legend_key"):
            return  # unchanged: setting the entries lays the legend out again
        self._cache["legend_key"] = key
        entries: list[tuple[QPen, str]] = []
        shown_notes: list[str | None] = []
        for k in range(len(self._run_items)):
            color = self._colors[k] if k < len(self._colors) else t.run_color(k)
            if k < len(self._labels) and (k >= len(self._visible) or self._visible[k]):
                entries.append((_pen(color, max(2.0, t.line_px)), self._labels[k]))
                shown_notes.append(notes[k] if k < len(notes) else None)
        font = QFont()
        font.setPointSizeF(t.font_pt * 0.9)
        self.legend.set_entries(
            entries, font, _color(t.foreground), t.font_scale, shown_notes, widest
        )

    def set_step(self, i: int) -> None:
        """Draw every run up to and including step ``i`` (clamped to what is computed)."""
        n = self.n_steps
        i = int(max(0, min(int(i), n)))
        self._step = i
        if self.view3d is not None:
            self.view3d.set_step(i)
        runs = self._cache.get("runs", [])
        for m in self.markers:
            m.setValue(i)
        if self._traj is None or not runs:
            self.points.setData([])
            return
        t = self.theme
        xs, ys, brushes, symbols = [], [], [], []
        status = getattr(self._traj, "status", None) or []
        stop = np.asarray(getattr(self._traj, "stop_step", np.full(len(runs), -1)))
        px = _cached_pixel_size(self.surface.getViewBox())  # None: no area yet, no arrows
        scale = t.font_scale
        pos = self._traj.positions
        # New cached chunks per call, for all runs together: building them is
        # what costs, so a jump to step 5000 spreads the work over a few turns
        # of the event loop (the tail items draw the rest meanwhile).
        budget = [CHUNKS_PER_FRAME]
        rough = self._rough_ok()
        for k, r in enumerate(runs):
            items = self._run_items[k]
            vis = self._visible[k] if k < len(self._visible) else True
            series = (items.trail, self._loss_items[k], self._gnorm_items[k], self._lr_items[k])
            if not vis:
                for c in series:
                    c.set_visible(False)
                items.grad.setVisible(False)
                items.step.setVisible(False)
                continue
            items.grad.setVisible(True)
            items.step.setVisible(True)
            for c in series:
                c.visible = True
            items.trail.show_upto(i, budget, rough)
            self._loss_items[k].show_upto(i, budget, rough)
            if self.view.show_grad_norm:
                self._gnorm_items[k].show_upto(i, budget, rough)
            if self.view.show_lr:
                self._lr_items[k].show_upto(i, budget, rough)
            x, y = float(r["x"][i]), float(r["y"][i])
            diverged = k < len(status) and status[k] == "diverged" and 0 <= stop[k] <= i
            if np.isfinite(x) and np.isfinite(y):  # (a 1-D run's height may be inf or nan)
                xs.append(x)
                ys.append(y)
                brushes.append(self._brushes[k])
                symbols.append("x" if diverged else "o")
            two_d = pos.shape[2] > 1
            if two_d and self.view.grad_arrows and not diverged and px is not None:
                g = np.asarray(self._traj.grads[i, k], dtype=np.float64)
                gpx = np.hypot(g[0] / px[0], g[1] / px[1])
                if np.isfinite(gpx) and gpx > 0:
                    vec = -g / gpx * GRAD_ARROW_PX * scale
                    seg = _arrow_segments(np.array([[x, y]]), vec[None, :], px, HEAD_PX * scale)
                    items.grad.setData(seg[:, 0], seg[:, 1], connect="pairs")
                else:
                    _clear(items.grad)
            else:
                _clear(items.grad)
            if self.view.step_arrows and i < n and not diverged and px is not None:
                nx_, ny_ = float(r["x"][i + 1]), float(r["y"][i + 1])
                vec = np.array([[nx_ - x, ny_ - y]])
                if np.all(np.isfinite(vec)) and np.any(vec != 0):
                    seg = _arrow_segments(np.array([[x, y]]), vec, px, HEAD_PX * scale)
                    items.step.setData(seg[:, 0], seg[:, 1], connect="pairs")
                else:
                    _clear(items.step)
            else:
                _clear(items.step)
        # The same brush and pen objects every frame: pyqtgraph then reuses its
        # rendered symbols instead of drawing them anew.
        self.points.setData(
            x=xs, y=ys, brush=brushes, symbol=symbols, size=t.marker_px, pen=self._point_pen
        )
        if any(c.pending() for c in self._all_series()):
            self._catch_up.start()  # cache the remaining chunks in later event-loop turns

    def _rough_ok(self) -> bool:
        """Whether pieces not yet cached may be drawn by the cheap stand-in for a while.

        An exporter's scene (or one inside its widget) is never mapped on a
        screen and paints each frame right after setting it: it keeps the
        caches and lets Qt re-render them, so no frame shows the stand-in.
        """
        offscreen = self.window().testAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        return self.rough_catch_up and not offscreen

    def _rescaled(self, series: Sequence[_ChunkedCurve]) -> None:
        if not self._rough_ok():
            return
        dropped = [c.rescaled() for c in series]  # every one: each records the new scale
        if any(dropped):
            self._catch_up.start()  # cache the chunks again over the next turns

    @property
    def surface_grid(self) -> Grid | None:
        """The grid the heat-map and contours are drawn from (None for a 1-D function).

        While an expensive surface is refined this is the coarse grid; once
        :meth:`settled`, the full one (the same as
        :func:`~gdviz.core.surface.sample_grid` of the loss over the view window).
        """
        return None if self._surf is None else self._surf.shown

    def settled(self) -> bool:
        """Whether the surface, every trail and curve are drawn in final, full quality."""
        st = self._surf
        if st is not None and self._surface_work(st):
            return False
        if self.view3d is not None and getattr(self.view3d, "refining", False):
            return False
        return all(c.settled() for c in self._all_series())

    def _all_series(self) -> list[_ChunkedCurve]:
        return [
            *(items.trail for items in self._run_items),
            *self._loss_items,
            *self._gnorm_items,
            *self._lr_items,
        ]

    # ------------------------------------------------------------------ mouse
    def _clicked(self, ev: Any) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or ev.double():
            return
        vb = self.surface.getViewBox()
        scene_pos = ev.scenePos()
        if not vb.sceneBoundingRect().contains(scene_pos) or self._loss is None:
            return
        p = vb.mapSceneToView(scene_pos)
        self._emit_start(p)

    def _target_moved(self, target: Any) -> None:
        self._emit_start(target.pos())

    def _emit_start(self, p: QPointF) -> None:
        if self._loss is None:
            return
        point = (float(p.x()),) if self._loss.dim == 1 else (float(p.x()), float(p.y()))
        if all(np.isfinite(point)):
            self.set_start(point)
            self.startPicked.emit(point)

    def view_range(self) -> tuple[tuple[float, float], ...]:
        """The surface plot's visible x (and y for 2-D) range after zoom and pan."""
        (x0, x1), (y0, y1) = self.surface.getViewBox().viewRange()
        if self._loss is not None and self._loss.dim == 1:
            return ((x0, x1),)
        return ((x0, x1), (y0, y1))
