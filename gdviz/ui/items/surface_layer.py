"""The surface layer: heat-map, contours, gradient field, or a 1-D function's curve.

Drawn under the runs in the surface plot, from a grid sampled in
:mod:`gdviz.core.surface`. A surface that is expensive to sample (a loss over
a dataset: every grid point is a mean over thousands of samples) is drawn
from a coarse grid at once and refined a few rows per event-loop turn, so the
window never waits for it; :meth:`SurfaceLayer.settled` says when the final
picture is on screen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, QTimer, Signal
from PySide6.QtWidgets import QGraphicsItem

from gdviz.core.session import ViewSettings
from gdviz.core.surface import (
    Grid,
    GridSampler,
    contour_levels,
    contour_segments,
    field_arrows,
    field_points,
    gradient_field,
    sample_curve,
)
from gdviz.ui.compute import SLICE_SECONDS
from gdviz.ui.items.colorbar import ColourBar
from gdviz.ui.items.drawing import arrow_segments, pen, readable_range
from gdviz.ui.theme import Theme

__all__ = [
    "COARSE_SAMPLES",
    "COARSE_SECONDS",
    "FIELD_ARROWS",
    "PROBE_SAMPLES",
    "SURFACE_SAMPLES",
    "SURFACE_SYNC_SECONDS",
    "SurfaceLayer",
    "value_name",
]

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
#: Samples between the neighbours of a 1-D curve's highest sample, and the
#: share of the curve's height they may rise above it before the top counts as
#: unbounded (see :func:`top_is_bounded`).
TOP_SAMPLES = 65
TOP_RISE = 0.05
#: The 2-D plot keeps one unit as long on x as on y while its view window is


class _Surface:
    """The surface of one loss over one view window, as far as it is known.

    Holds the coarse first picture of an expensive loss, the sampler that
    fills the full grid a few rows per turn (see :meth:`SurfaceLayer.refine`)
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


def top_is_bounded(loss: Any, curve: Any) -> bool:
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
    try:
        fine = sample_curve(loss, ((float(a), float(b)),), TOP_SAMPLES).z
    except ValueError:
        return True  # the neighbours are as close as floats allow: nothing finer to see
    if np.any(fine == np.inf):
        return False
    fine = fine[np.isfinite(fine)]
    return not fine.size or float(fine.max()) - lo <= (1.0 + TOP_RISE) * height


def value_name(loss: Any) -> str:
    """What a function's values are called: ``f``, or ``L`` for a loss over data."""
    name = getattr(loss, "value_name", "f")
    return name if isinstance(name, str) and name else "f"


class SurfaceLayer(QObject):
    """The picture of one function over one view window, under the runs.

    Parameters
    ----------
    plot
        The surface plot; the layer adds its items (heat-map, contours,
        gradient field, 1-D curve) to it.
    colorbar
        The colour bar beside the plot: the layer gives it the colour map,
        the levels and the title of the heat-map it draws.
    synchronous
        Asked before each drawing: True when every surface must be sampled in
        full before it is drawn (an exporter's scene paints each frame right
        after setting it, so a coarse stand-in would end up in the file).

    Signals
    -------
    drawn()
        A new picture is on screen (the coarse first one, or the final one).
    """

    drawn = Signal()

    def __init__(
        self, plot: pg.PlotItem, colorbar: ColourBar, synchronous: Callable[[], bool]
    ) -> None:
        super().__init__()
        self.colorbar = colorbar
        self.synchronous = synchronous
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        self.contours = pg.PlotCurveItem(connect="pairs")
        self.contours.setZValue(-5)
        self.field = pg.PlotCurveItem(connect="pairs")
        self.field.setZValue(-4)
        self.curve = pg.PlotCurveItem()  # 1-D function graph
        self.curve.setZValue(-3)
        for item in (self.image, self.contours, self.field, self.curve):
            plot.addItem(item)
            # Static layers are rendered once into a cache, not redrawn every frame.
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        #: The y range that shows a 1-D curve whole (a pole's spike left out).
        self.curve_yrange = (0.0, 1.0)
        self.loss: Any = None
        self.domain: tuple[tuple[float, float], ...] = ((-1.0, 1.0), (-1.0, 1.0))
        self.view = ViewSettings()
        self.theme: Theme | None = None
        self._surf: _Surface | None = None
        #: (loss, seconds per grid point) last measured: a zoom or pan of the
        #: same loss skips the probe.
        self._point_cost: tuple[Any, float] | None = None
        self._refine = QTimer(self)
        self._refine.setSingleShot(True)
        self._refine.setInterval(0)
        self._refine.timeout.connect(self.refine)

    @property
    def grid(self) -> Grid | None:
        """The grid the picture on screen is drawn from (None for a 1-D function)."""
        return None if self._surf is None else self._surf.shown

    def set_theme(self, theme: Theme) -> None:
        """Pens of the contours, arrows and curve; call :meth:`draw` for the colours."""
        self.theme = theme
        self.contours.setPen(pen(theme.contour, 1.0 * theme.font_scale))
        self.field.setPen(pen(theme.field, 1.2 * theme.font_scale))
        self.curve.setPen(pen(theme.foreground, 2.0 * theme.font_scale))

    def draw(self, loss: Any, domain: tuple[tuple[float, float], ...], view: ViewSettings) -> None:
        """Show ``loss`` over ``domain`` as ``view`` says (sampled anew where needed)."""
        self.loss, self.domain, self.view = loss, domain, view
        if loss is None or self.theme is None:
            return
        if loss.dim == 1:
            self._draw_curve(loss)
            return
        self.curve.hide()
        self.colorbar.setVisible(view.heatmap)
        st = self._surf
        if st is None or st.loss is not loss or st.domain != domain:
            known = self._point_cost
            cost = known[1] if known is not None and known[0] is loss else None
            st = _Surface(loss, domain, cost)
            self._set_surface(st)
        sync = self.synchronous()
        if st.grid is None and sync:
            st.sampler.sample_all()
        elif st.grid is None and st.coarse is None:
            st.coarse = st.sampler.first_pass(
                SURFACE_SYNC_SECONDS, COARSE_SECONDS, PROBE_SAMPLES, COARSE_SAMPLES
            )
            st.expensive = st.grid is None
        if st.sampler.cost is not None:
            self._point_cost = (loss, st.sampler.cost)
        if view.gradient_field and st.field is None and (sync or not st.expensive):
            st.field = gradient_field(loss.grad, domain, FIELD_ARROWS)
        grid = st.grid if st.grid is not None else st.coarse
        assert grid is not None
        st.shown = grid
        st.drawn = self._draw_grid(grid)
        if st.drawn and view.gradient_field and st.field is not None:
            self._draw_field(st.field)
        elif st.drawn:
            self.field.hide()  # off, or computed over the next turns
        st.final = st.grid is not None
        if self._work_left(st):
            self._refine.start()
        self.drawn.emit()

    def settled(self) -> bool:
        """Whether the picture on screen is the final one (nothing left to refine)."""
        return self._surf is None or not self._work_left(self._surf)

    def _draw_curve(self, loss: Any) -> None:
        self._set_surface(None)
        c = sample_curve(loss, self.domain, 800)
        self.curve.setData(c.xs, c.z, connect="finite")
        self.curve.show()
        self.image.hide()
        self.contours.hide()
        self.field.hide()
        self.colorbar.hide()
        lo, hi = c.value_range() or (0.0, 1.0)
        f = c.z[np.isfinite(c.z)]
        if f.size > 20:
            # The whole curve fits, unless it climbs without bound (a
            # pole): then the top 2 % of the samples leave the plot, and
            # the rest of the curve is not squashed flat by them.
            cap = float(np.quantile(f, 0.98))
            if hi > cap and not top_is_bounded(loss, c):
                hi = cap
        lo, hi = readable_range(lo, hi)
        pad = 0.08 * (hi - lo)
        self.curve_yrange = (lo - pad, hi + pad)
        self.drawn.emit()

    # ------------------------------------------------ progressive surface
    def _set_surface(self, st: _Surface | None) -> None:
        """Make ``st`` the current surface; pending work on an older one is dropped."""
        self._surf = st
        self._refine.stop()

    def _work_left(self, st: _Surface) -> bool:
        """Whether ``st`` still has work left: rows to sample, arrows to compute, or
        the final picture to draw."""
        if st.grid is None or not st.final:
            return True
        return self.view.gradient_field and st.field is None

    def refine(self) -> None:
        """One turn of refining: a slice of arrows or grid rows, or the final picture.

        Each slice is sized from the measured time per point to take about
        :data:`~gdviz.ui.compute.SLICE_SECONDS`, and whole rows at least (a
        dataset loss then batches its points as the one-pass grid does, which
        keeps the result identical to :func:`~gdviz.core.surface.sample_grid`).
        Drawing the final picture is a turn of its own.
        """
        st = self._surf
        if st is None or st.loss is not self.loss or st.domain != self.domain:
            return
        if self.view.gradient_field and st.field is None:
            self._field_slice(st)
        elif st.grid is None:
            st.sampler.advance(SLICE_SECONDS)
            self._point_cost = (st.loss, st.sampler.cost)
        elif not st.final:
            self.draw(self.loss, self.domain, self.view)  # the full grid: final quality
            return
        if self._work_left(st):
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
        assert t is not None
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
            title = f"log₁₀({value_name(self.loss)} − min)"
        else:
            disp = z
            title = value_name(self.loss)
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
        (x0, x1), (y0, y1) = self.domain
        dx = (x1 - x0) / (len(grid.xs) - 1)
        dy = (y1 - y0) / (len(grid.ys) - 1)
        self.image.setRect(QRectF(x0 - dx / 2, y0 - dy / 2, x1 - x0 + dx, y1 - y0 + dy))
        self.image.setVisible(v.heatmap)
        self.colorbar.show_levels(cmap, dlo, dhi, title)
        if v.contours:
            levels = contour_levels(z, v.n_contours, log=v.log_levels)
            seg = contour_segments(grid, levels)
            pts = seg.reshape(-1, 2)
            self.contours.setData(pts[:, 0], pts[:, 1], connect="pairs")
            self.contours.show()
        else:
            self.contours.hide()
        return True

    def _draw_field(self, field: tuple[np.ndarray, np.ndarray]) -> None:
        pts, d = field
        (x0, x1), (y0, y1) = self.domain
        px = ((x1 - x0) / 400.0, (y1 - y0) / 400.0)
        segs = arrow_segments(pts - d / 2, d, px, 4.0)
        self.field.setData(segs[:, 0], segs[:, 1], connect="pairs")
        self.field.show()
