"""Maps in the window: learning-rate sweeps and basins of attraction.

* :class:`MapView` draws one :class:`~gdviz.core.sweep.SweepMap` (a heat-map
  over learning rate on a log axis × a hyper-parameter or × optimizer) or one
  :class:`~gdviz.core.sweep.BasinMap` (start points coloured by the minimum
  they reach), with a colour bar or legend, and reports clicked cells.
* :class:`BasinLayer` is the translucent basin picture for the surface view of
  the scene: ``scene.surface.addItem(layer)``.
* :class:`MapsPanel` is the whole tool: settings, a Compute button, progress
  and Cancel; the work runs on a worker thread (:class:`MapWorker`) so the
  window stays responsive. Clicking a sweep cell emits :attr:`MapsPanel.addRun`
  with that cell's :class:`~gdviz.core.engine.RunConfig`; clicking a basin
  cell emits :attr:`MapsPanel.setStart` with its start point.
* :class:`MapsDock` wraps the panel, the basin layer and the menu actions for
  the main window (its docstring shows the few lines of wiring).
* :func:`render_map` draws a map offscreen into a ``QImage`` (used by
  ``gdviz sweep`` / ``gdviz basins`` to write PNG files).

Colours: the metric uses the theme's perceptually uniform colour map; cells
that diverged are always :data:`DIVERGED_COLOR` and runs that did not converge
:data:`NOT_CONVERGED_COLOR`, named in the legend, so the boundary of
convergence reads at a glance, also on a projector.
"""

from __future__ import annotations

import atexit
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QObject,
    QPointF,
    QRectF,
    Qt,
    QThread,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QColor, QFont, QImage
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gdviz.core.engine import RunConfig
from gdviz.core.optimizers import OPTIMIZERS
from gdviz.core.sweep import (
    CONVERGED,
    DIVERGED,
    DIVERGED_LABEL,
    MAX_STEPS,
    NOT_CONVERGED,
    OTHER_MINIMUM,
    BasinMap,
    Cancelled,
    SweepMap,
    basin_map,
    describe_config,
    lr_grid,
    parse_values,
    sweep_map,
    sweepable_params,
)
from gdviz.ui.theme import DARK, OKABE_ITO, Theme

__all__ = [
    "DIVERGED_COLOR",
    "NOT_CONVERGED_COLOR",
    "BasinLayer",
    "BasinRequest",
    "MapView",
    "MapWorker",
    "MapsDock",
    "MapsPanel",
    "SweepRequest",
    "basin_colors",
    "basin_contours",
    "render_map",
    "sweep_colors",
]

#: Cells whose run diverged: a saturated red that no colour map here contains.
DIVERGED_COLOR = "#e8202a"
#: Runs that used all their steps without converging.
NOT_CONVERGED_COLOR = "#8c8c8c"
#: Converged runs beyond the minima that get their own colour.
OTHER_MINIMUM_COLOR = "#d9d9d9"
#: Colours of minima 1, 2, …: Okabe–Ito without vermillion (too close to the
#: diverged red) and black, then four more from Paul Tol's muted scheme.
MINIMA_COLORS: tuple[str, ...] = (
    *(c for c in OKABE_ITO if c not in ("#D55E00", "#000000")),
    "#88CCEE",
    "#999933",
    "#882255",
    "#44AA99",
)

METRICS = ("steps", "loss")


def _rgba(color: str, alpha: int = 255) -> np.ndarray:
    c = QColor(color)
    return np.array([c.red(), c.green(), c.blue(), alpha], dtype=np.uint8)


def minimum_color(index: int) -> str:
    """Colour of minimum ``index`` (0-based; the list repeats)."""
    return MINIMA_COLORS[index % len(MINIMA_COLORS)]


# --------------------------------------------------------------------------- colours


@dataclass(frozen=True)
class Colouring:
    """An RGBA picture of a map and what its colours mean.

    Attributes
    ----------
    rgba
        ``(ny, nx, 4)`` uint8, row 0 at the bottom (image row-major order).
    legend
        ``(colour, text)`` for the categorical colours that occur.
    bar
        ``(low, high, label)`` of the colour bar of the metric, or None.
    colormap
        The colour map of the bar.
    """

    rgba: np.ndarray
    legend: tuple[tuple[str, str], ...]
    bar: tuple[float, float, str] | None
    colormap: Any = None


def sweep_colors(m: SweepMap, metric: str = "steps", theme: Theme = DARK) -> Colouring:
    """Colour a sweep by steps to converge (``"steps"``) or final loss (``"loss"``).

    ``"steps"``: converged cells on the colour map (fewer steps brighter),
    runs that ran out of steps grey. ``"loss"``: every finished run by its final
    loss (log scale when all are positive). Diverged cells are red in both.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, not {metric!r}")
    cmap = pg.colormap.get(theme.colormap)
    status = m.status
    rgba = np.zeros((*status.shape, 4), dtype=np.uint8)
    legend: list[tuple[str, str]] = []
    if metric == "steps":
        shown = status == CONVERGED
        vals = m.stop_step.astype(np.float64)
        label = "steps to converge"
        reverse = True
    else:
        shown = (status == CONVERGED) | (status == MAX_STEPS)
        shown &= np.isfinite(m.final_loss)
        vals = m.final_loss.astype(np.float64)
        label = "final loss"
        reverse = True
        if shown.any() and (vals[shown] > 0).all():
            vals = np.log10(vals)
            label = "log₁₀ final loss"
    bar = None
    if shown.any():
        lo, hi = float(vals[shown].min()), float(vals[shown].max())
        if not hi > lo:
            hi = lo + 1.0
        t = (vals[shown] - lo) / (hi - lo)
        rgba[shown] = cmap.map(1.0 - t if reverse else t, mode="byte")
        bar = (lo, hi, label)
    if metric == "steps":
        nc = status == MAX_STEPS
        if nc.any():
            rgba[nc] = _rgba(NOT_CONVERGED_COLOR)
            legend.append((NOT_CONVERGED_COLOR, f"not converged in {m.steps} steps"))
    div = status == DIVERGED
    if div.any():
        rgba[div] = _rgba(DIVERGED_COLOR)
        legend.append((DIVERGED_COLOR, "diverged"))
    if reverse and bar is not None:
        cmap = pg.ColorMap(pos=cmap.pos, color=cmap.getColors()[::-1])
    return Colouring(rgba, tuple(legend), bar, cmap)


def basin_colors(m: BasinMap, alpha: int = 255) -> Colouring:
    """Colour each start by its minimum; not converged grey, diverged red."""
    labels = m.labels
    rgba = np.zeros((*labels.shape, 4), dtype=np.uint8)
    legend: list[tuple[str, str]] = []
    total = labels.size
    counts = m.label_counts()
    for i, mn in enumerate(m.minima):
        rgba[labels == i] = _rgba(minimum_color(i), alpha)
        at = ", ".join(f"{v:.3g}" for v in mn.position)
        share = 100.0 * counts.get(i, 0) / total
        legend.append((minimum_color(i), f"{i + 1}: ({at})  {_pct(share)}"))
    for lab, color, text in (
        (OTHER_MINIMUM, OTHER_MINIMUM_COLOR, "other minima"),
        (NOT_CONVERGED, NOT_CONVERGED_COLOR, f"not converged in {m.steps} steps"),
        (DIVERGED_LABEL, DIVERGED_COLOR, "diverged"),
    ):
        if counts.get(lab):
            rgba[labels == lab] = _rgba(color, alpha)
            share = 100.0 * counts[lab] / total
            legend.append((color, f"{text}  {_pct(share)}"))
    return Colouring(rgba, tuple(legend), None)


def _pct(share: float) -> str:
    """A share in percent; never rounds a few cells down to "0%"."""
    # Not "<1%": legend text is rich text, where "<" starts a tag.
    return f"{share:.1g}%" if 0 < share < 1 else f"{share:.0f}%"


def _sweep_x(m: SweepMap) -> tuple[float, float, bool]:
    """Left and right edge of the image on the x axis, and whether it is log10(lr)."""
    lg = np.log10(m.lrs)
    n = lg.size
    if n == 1:
        return float(lg[0]) - 0.5, float(lg[0]) + 0.5, True
    step = np.diff(lg)
    if np.all(step > 0) and np.allclose(step, step[0], rtol=1e-6, atol=1e-12):
        half = float(step[0]) / 2
        return float(lg[0]) - half, float(lg[-1]) + half, True
    return -0.5, n - 0.5, False  # uneven rates: columns by index, labelled


def _log_ticks(lo: float, hi: float) -> list[list[tuple[float, str]]]:
    """Ticks for a log10 axis from ``lo`` to ``hi``: decades, then 2× and 5×.

    pyqtgraph's own log axis labels every minor tick and adds an SI prefix
    ("0.02 0.03 … (x0.001)"); a learning rate reads better as 1e-3, 2e-3, 5e-3.
    """
    major, minor = [], []
    for e in range(math.floor(lo), math.ceil(hi) + 1):
        for f, ticks in ((1, major), (2, minor), (5, minor)):
            v = math.log10(f) + e
            if lo <= v <= hi:
                ticks.append((v, _lr_text(f * 10.0**e)))
    if len(major) < 2:  # less than a decade: label the 2× and 5× ticks too
        major, minor = sorted(major + minor), []
    return [major, minor]


def _lr_text(v: float) -> str:
    """A learning rate as short text: 0.1, 1, 10 plainly; 1e-4, 2e-3 otherwise."""
    if 0.01 <= v < 1000:
        return f"{v:g}"
    m, e = f"{v:.0e}".split("e")
    return f"{m}e{int(e)}"


def _short(text: str) -> str:
    """A tick label of a row value, at most about 8 characters."""
    try:
        return f"{float(text):.3g}"
    except ValueError:
        return text


def _cell_text(m: SweepMap | BasinMap, row: int, col: int) -> str:
    """One line describing a cell, for the hover read-out."""
    status = int(m.status[row, col])
    steps = int(m.stop_step[row, col])
    loss = float(m.final_loss[row, col])
    if status == DIVERGED:
        fate = f"diverged at step {steps}"
    elif status == CONVERGED:
        fate = f"converged in {steps} steps, loss {loss:.3g}"
    else:
        fate = f"not converged after {steps} steps, loss {loss:.3g}"
    if isinstance(m, SweepMap):
        y = "" if m.y_param is None else f", {m.y_param} = {m.y_label(row)}"
        if m.y_param == "optimizer":
            y = f", {m.y_label(row)}"
        return f"lr = {m.lrs[col]:.3g}{y}: {fate}"
    start = ", ".join(f"{v:.3g}" for v in m.start(row, col))
    lab = int(m.labels[row, col])
    where = f" → minimum {lab + 1}" if lab >= 0 else ""
    return f"start ({start}){where}: {fate}"


# --------------------------------------------------------------------------- view


class MapView(QWidget):
    """A sweep or basin map with axes, colour bar / legend and a hover read-out.

    Signals
    -------
    cellClicked(int, int)
        Row and column of a left-clicked cell.
    """

    cellClicked = Signal(int, int)

    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.map: SweepMap | BasinMap | None = None
        self.loss: Any = None  # drawn over basin maps: contours (2-D) or the graph (1-D)
        self._basin_y = (0.0, 1.0)
        # Not "metric": that would shadow QWidget.metric(), which Qt calls
        # when painting (a crash, not an error).
        self.color_by = "steps"
        self.glw = pg.GraphicsLayoutWidget()
        self.plot = pg.PlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.getViewBox().setMouseEnabled(x=False, y=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.contours = pg.PlotCurveItem(connect="pairs")
        self.contours.setZValue(5)
        self.plot.addItem(self.contours)
        self.graph = pg.PlotCurveItem(connect="finite")
        self.graph.setZValue(6)
        self.plot.addItem(self.graph)
        self.marks = pg.ScatterPlotItem(pxMode=True)
        self.marks.setZValue(10)
        self.plot.addItem(self.marks)
        self.mark_labels: list[pg.TextItem] = []
        self.glw.addItem(self.plot, row=0, col=0)
        self.colorbar = pg.ColorBarItem(
            values=(0, 1), colorMap=pg.colormap.get("viridis"), interactive=False, width=18
        )
        self.glw.addItem(self.colorbar, row=0, col=1)
        # The legend sits under the plot, not on it: the corners of a map are
        # often where it gets interesting (the diverged side of a sweep).
        self.legend = pg.LegendItem(offset=None, colCount=2)
        self.glw.addItem(self.legend, row=1, col=0)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        self.readout = QLabel(" ")
        self.readout.setTextFormat(Qt.TextFormat.PlainText)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.title)
        lay.addWidget(self.glw, 1)
        lay.addWidget(self.readout)
        self.glw.scene().sigMouseClicked.connect(self._clicked)
        self.glw.scene().sigMouseMoved.connect(self._moved)
        self.set_theme(theme)
        self.clear()

    # ------------------------------------------------------------------ look
    def set_theme(self, theme: Theme) -> None:
        """Restyle axes, text and background."""
        self.theme = theme
        self.glw.setBackground(QColor(theme.background))
        font = QFont()
        font.setPointSizeF(theme.font_pt)
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setPen(QColor(theme.foreground))
            axis.setTextPen(QColor(theme.foreground))
            axis.setTickFont(font)
        self.plot.showGrid(x=False, y=False)
        big = QFont()
        big.setPointSizeF(theme.font_pt * 1.15)
        big.setBold(True)
        self.title.setFont(big)
        self.readout.setFont(font)
        if self.map is not None:
            self._draw()

    def clear(self) -> None:
        """Show nothing (e.g. before the first computation)."""
        self.map = None
        self.loss = None
        self.image.clear()
        self.contours.setData([], [])
        self.graph.setData([], [])
        self.marks.setData([])
        for t in self.mark_labels:
            self.plot.removeItem(t)
        self.mark_labels.clear()
        self.legend.clear()
        self.legend.hide()
        self.colorbar.hide()
        self.title.setText("")
        self.readout.setText(" ")

    def set_map(self, m: SweepMap | BasinMap, metric: str | None = None, loss: Any = None) -> None:
        """Show a map.

        ``metric`` (``"steps"``/``"loss"``) colours a sweep; ``loss``, the
        map's function, adds contour lines (2-D) or its graph (1-D) to a basin
        map for orientation.
        """
        if metric is not None:
            if metric not in METRICS:
                raise ValueError(f"metric must be one of {METRICS}, not {metric!r}")
            self.color_by = metric
        self.map = m
        self.loss = loss
        self._draw()

    def set_metric(self, metric: str) -> None:
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, not {metric!r}")
        self.color_by = metric
        if self.map is not None:
            self._draw()

    def _label(self, side: str, text: str) -> None:
        t = self.theme
        self.plot.setLabel(side, text, color=t.foreground, **{"font-size": f"{t.font_pt:.1f}pt"})

    def _draw(self) -> None:
        m = self.map
        self.contours.setData([], [])
        self.graph.setData([], [])
        self.marks.setData([])
        for t in self.mark_labels:
            self.plot.removeItem(t)
        self.mark_labels.clear()
        if isinstance(m, SweepMap):
            self._draw_sweep(m)
        elif isinstance(m, BasinMap):
            self._draw_basins(m)

    def _set_legend(self, entries: Sequence[tuple[str, str]]) -> None:
        self.legend.clear()
        t = self.theme
        self.legend.setLabelTextColor(QColor(t.foreground))
        self.legend.setLabelTextSize(f"{t.font_pt:.1f}pt")
        bg = QColor(t.background)
        bg.setAlpha(215)
        self.legend.setBrush(bg)
        self.legend.setPen(QColor(t.foreground))
        size = 12 * t.font_scale + 4
        for color, text in entries:
            sample = pg.ScatterPlotItem(
                symbol="s", size=size, brush=QColor(color), pen=QColor(t.foreground)
            )
            self.legend.addItem(sample, text)
        self.legend.setVisible(bool(entries))

    def _draw_sweep(self, m: SweepMap) -> None:
        col = sweep_colors(m, self.color_by, self.theme)
        ny, nx = m.shape
        x0, x1, is_log = _sweep_x(m)
        self.image.setImage(col.rgba, autoLevels=False, levels=None)
        self.image.setRect(QRectF(x0, -0.5, x1 - x0, ny))
        bottom = self.plot.getAxis("bottom")
        if is_log:
            bottom.setTicks(_log_ticks(x0, x1))
        else:
            step = max(1, nx // 8)
            bottom.setTicks([[(i, f"{m.lrs[i]:.3g}") for i in range(0, nx, step)], []])
        left = self.plot.getAxis("left")
        step = max(1, math.ceil(ny / 12))
        left.setTicks([[(r, _short(m.y_label(r))) for r in range(0, ny, step)], []])
        self._label("bottom", "learning rate (log scale)" if is_log else "learning rate")
        ylabel = {None: "", "optimizer": "optimizer"}.get(m.y_param, m.y_param or "")
        self._label("left", ylabel)
        self.plot.setXRange(x0, x1, padding=0)
        self.plot.setYRange(-0.5, ny - 0.5, padding=0)
        self._set_legend(col.legend)
        if col.bar is not None:
            lo, hi, _ = col.bar
            self.colorbar.setColorMap(col.colormap)
            self.colorbar.setLevels((lo, hi))
            self.colorbar.axis.setTextPen(QColor(self.theme.foreground))
            self.colorbar.axis.setPen(QColor(self.theme.foreground))
            font = QFont()
            font.setPointSizeF(self.theme.font_pt * 0.9)
            self.colorbar.axis.setTickFont(font)
            self.colorbar.show()
        else:
            self.colorbar.hide()
        start = ", ".join(f"{v:g}" for v in m.start)
        what = col.bar[2] if col.bar is not None else "outcome"
        cfg = describe_config(
            m.optimizer, {k: v for k, v in m.params.items() if k != "lr"}, m.schedule
        )
        if m.y_param == "optimizer":
            cfg = "optimizers"
        self.title.setText(f"{what}: {cfg} from ({start}), {m.steps} steps — f = {m.function}")

    def _draw_basins(self, m: BasinMap) -> None:
        col = basin_colors(m)
        one_d = len(m.variables) == 1
        (x0, x1) = m.domain[0]
        curve = None
        if not one_d:
            (y0, y1) = m.domain[1]
            self._draw_contours(m)
        else:
            # One variable: the basins are bands behind the function's graph.
            curve = self._graph(m)
            y0, y1 = curve[2] if curve is not None else (0.0, 1.0)
        self._basin_y = (y0, y1)
        self.image.setImage(col.rgba, autoLevels=False, levels=None)
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        bottom = self.plot.getAxis("bottom")
        bottom.setTicks(None)
        left = self.plot.getAxis("left")
        left.setTicks(None if not one_d or curve is not None else [[], []])
        self._label("bottom", f"start {m.variables[0]}")
        self._label("left", f"start {m.variables[1]}" if not one_d else "f")
        self.plot.setXRange(x0, x1, padding=0)
        self.plot.setYRange(y0, y1, padding=0)
        self.colorbar.hide()
        self._set_legend(col.legend)
        t = self.theme
        if m.minima:
            pts = [(mn.position[0], mn.position[1] if not one_d else mn.loss) for mn in m.minima]
            if one_d and curve is None:
                pts = [(x, (y0 + y1) / 2) for x, _ in pts]
            self.marks.setData(
                pos=pts,
                symbol="star",
                size=18 * t.font_scale,
                brush=QColor("#ffffff"),
                pen=pg.mkPen("#000000", width=1.5),
            )
            font = QFont()
            font.setPointSizeF(t.font_pt * 1.1)
            font.setBold(True)
            for i, (px, py) in enumerate(pts):
                label = pg.TextItem(
                    str(i + 1), color="#ffffff", anchor=(-0.25, 1.0), fill=QColor(0, 0, 0, 150)
                )
                label.setFont(font)
                label.setPos(px, py)
                label.setZValue(11)
                self.plot.addItem(label)
                self.mark_labels.append(label)
        cfg = describe_config(m.optimizer, m.params, m.schedule)
        self.title.setText(f"basins: {cfg}, {m.steps} steps — f = {m.function}")

    def _draw_contours(self, m: BasinMap) -> None:
        if self.loss is None or getattr(self.loss, "dim", 0) != 2:
            return
        try:
            segments = basin_contours(self.loss, m.domain)
        except Exception:  # orientation lines only: the map stands without them
            return
        if segments is None or len(segments) == 0:
            return
        xy = np.asarray(segments).reshape(-1, 2)
        c = QColor(self.theme.contour[:7])
        c.setAlpha(110)
        self.contours.setData(xy[:, 0], xy[:, 1], pen=pg.mkPen(c, width=1))

    def _graph(self, m: BasinMap) -> tuple[np.ndarray, np.ndarray, tuple[float, float]] | None:
        """Draw f over a 1-D basin map; return its samples and the y range to show."""
        if self.loss is None or getattr(self.loss, "dim", 0) != 1:
            return None
        from gdviz.core.surface import sample_curve

        try:
            c = sample_curve(self.loss, m.domain, 800)
        except Exception:
            return None
        f = c.z[np.isfinite(c.z)]
        if f.size < 2:
            return None
        lo = float(f.min())
        # A high quantile, not the maximum: steep walls would flatten the rest.
        hi = float(np.quantile(f, 0.98)) if f.size > 20 else float(f.max())
        pad = 0.08 * (hi - lo if hi > lo else 1.0)
        t = self.theme
        self.graph.setData(c.xs, c.z, pen=pg.mkPen(t.foreground, width=2.5 * t.font_scale))
        return c.xs, c.z, (lo - pad, hi + pad)

    # ------------------------------------------------------------------ mouse
    def cell_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        """The ``(row, col)`` under a scene position, or None."""
        m = self.map
        vb = self.plot.getViewBox()
        if m is None or not vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = vb.mapSceneToView(scene_pos)
        x, y = float(p.x()), float(p.y())
        if isinstance(m, BasinMap):
            point = (x, y) if len(m.variables) == 2 else (x,)
            return m.cell_at(point)
        ny, nx = m.shape
        x0, x1, _ = _sweep_x(m)
        if not (math.isfinite(x) and math.isfinite(y)):
            return None
        col = math.floor((x - x0) / (x1 - x0) * nx)
        row = math.floor(y + 0.5)
        if 0 <= row < ny and 0 <= col < nx:
            return row, col
        return None

    def cell_center(self, row: int, col: int) -> QPointF:
        """The centre of a cell in view coordinates (for tests and pointers)."""
        m = self.map
        if isinstance(m, BasinMap):
            s = m.start(row, col)
            return QPointF(s[0], s[1] if len(s) > 1 else sum(self._basin_y) / 2)
        assert m is not None
        x0, x1, _ = _sweep_x(m)
        nx = m.shape[1]
        return QPointF(x0 + (col + 0.5) * (x1 - x0) / nx, float(row))

    def _clicked(self, ev: Any) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        cell = self.cell_at(ev.scenePos())
        if cell is not None:
            self.cellClicked.emit(*cell)

    def _moved(self, scene_pos: QPointF) -> None:
        cell = self.cell_at(scene_pos)
        if cell is None or self.map is None:
            self.readout.setText(" ")
            return
        self.readout.setText(_cell_text(self.map, *cell))


class BasinLayer(pg.ImageItem):
    """The basin map as a translucent image over the scene's surface plot.

    Add it to the surface: ``scene.surface.addItem(layer)``; it sits above the
    heat-map and below contours and paths (z = -7). Clicks pass through to the
    surface, whose click already sets the start point.
    """

    def __init__(self, opacity: float = 0.55) -> None:
        super().__init__(axisOrder="row-major")
        self.setZValue(-7)
        self.setOpacity(opacity)
        self.map: BasinMap | None = None
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_map(self, m: BasinMap | None, y_range: tuple[float, float] | None = None) -> None:
        """Show ``m`` over its domain (None hides the layer).

        A map of one variable becomes vertical bands; give the plot's visible
        ``y_range`` for their height (without it the layer stays hidden).
        """
        self.map = m
        if m is None or (len(m.domain) == 1 and y_range is None):
            self.clear()
            self.hide()
            return
        col = basin_colors(m)
        (x0, x1) = m.domain[0]
        (y0, y1) = m.domain[1] if len(m.domain) > 1 else y_range
        self.setImage(col.rgba, autoLevels=False, levels=None)
        self.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.show()


def basin_contours(loss: Any, domain: Sequence[Sequence[float]], n: int = 14) -> np.ndarray | None:
    """Contour segments of a 2-variable loss over ``domain`` to draw over a basin map.

    Log-spaced levels (dense near the minima, where the basins meet); None for
    a function of one variable or one with no finite values there.
    """
    if getattr(loss, "dim", 0) != 2:
        return None
    from gdviz.core.surface import contour_levels, contour_segments, sample_grid

    grid = sample_grid(loss, domain, 200)
    levels = contour_levels(grid.z, n, log=True)
    return contour_segments(grid, levels) if len(levels) else None


# --------------------------------------------------------------------------- rendering


def render_map(
    m: SweepMap | BasinMap,
    size: tuple[int, int] = (1280, 800),
    *,
    theme: Theme = DARK,
    metric: str = "steps",
    loss: Any = None,
) -> QImage:
    """Draw a map offscreen at ``size`` (needs a running QApplication).

    ``loss`` adds contours or the graph of the function to a basin map.
    """
    view = MapView(theme)
    view.setStyleSheet(f"QWidget {{ background: {theme.background}; color: {theme.foreground}; }}")
    view.layout().setContentsMargins(12, 8, 12, 8)
    view.readout.hide()
    view.resize(*size)
    view.set_map(m, metric, loss)
    image = QImage(size[0], size[1], QImage.Format.Format_ARGB32)
    image.fill(QColor(theme.background))
    # Axes size themselves to their tick labels through posted layout
    # requests: paint, let them settle, paint again (as the exporter does).
    for _ in range(2):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        view.layout().activate()
        view.render(image)
    view.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return image


# --------------------------------------------------------------------------- worker


@dataclass(frozen=True)
class SweepRequest:
    """A sweep to compute (see :func:`gdviz.core.sweep.sweep_map`)."""

    loss: Any
    base: RunConfig
    lrs: tuple[float, ...]
    y_param: str | None = None
    y_values: tuple = ()
    steps: int = 500
    grad_tol: float = 1e-8


@dataclass(frozen=True)
class BasinRequest:
    """A basin map to compute (see :func:`gdviz.core.sweep.basin_map`)."""

    loss: Any
    config: RunConfig
    domain: tuple[tuple[float, float], ...]
    n: int = 120
    steps: int = 500
    grad_tol: float = 1e-8


class MapWorker(QObject):
    """Computes maps on its thread, one request at a time.

    Requests carry a generation number; only the generation last passed to
    :meth:`want` is computed, and a computation whose generation is no longer
    wanted stops at its next progress report. :meth:`want` may be called from
    any thread (assigning an int is atomic in Python).
    """

    # Generation and per mille done (run-steps overflow a C int on big maps).
    progress = Signal(int, int)
    finished = Signal(int, object)  # generation, SweepMap | BasinMap
    failed = Signal(int, str)  # generation, message
    cancelled = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self._wanted = 0

    def want(self, gen: int) -> None:
        """Compute generation ``gen`` only; anything else (-1: nothing) is cancelled."""
        self._wanted = int(gen)

    @Slot(int, object)
    def compute(self, gen: int, req: Any) -> None:
        if gen != self._wanted:
            self.cancelled.emit(gen)
            return
        last = [-1]

        def progress(done: int, total: int) -> bool:
            if self._wanted != gen:
                return False
            permille = int(1000 * done / max(total, 1))
            if permille != last[0]:  # at most ~1000 signals per map
                last[0] = permille
                self.progress.emit(gen, permille)
            return True

        try:
            if isinstance(req, SweepRequest):
                result = sweep_map(
                    req.loss,
                    req.base,
                    req.lrs,
                    y_param=req.y_param,
                    y_values=req.y_values,
                    steps=req.steps,
                    grad_tol=req.grad_tol,
                    progress=progress,
                )
            else:
                result = basin_map(
                    req.loss,
                    req.config,
                    req.domain,
                    req.n,
                    steps=req.steps,
                    grad_tol=req.grad_tol,
                    progress=progress,
                )
        except Cancelled:
            self.cancelled.emit(gen)
            return
        except ValueError as exc:  # SpecError included: bad settings, one line
            self.failed.emit(gen, str(exc))
            return
        except Exception as exc:  # never let one map take the window down
            self.failed.emit(gen, f"could not compute the map: {exc}")
            return
        self.finished.emit(gen, result)


# --------------------------------------------------------------------------- panel


class MapsPanel(QWidget):
    """Learning-rate sweeps and basin maps for the current function.

    Give it the problem with :meth:`set_problem` (and optionally the selected
    run with :meth:`set_base_run`); the person picks settings and presses
    Compute, or code calls :meth:`request_sweep` / :meth:`request_basins`.

    Signals
    -------
    addRun(RunConfig)
        A sweep cell was clicked: add this run to the race.
    setStart(tuple)
        A basin cell was clicked: use this start point.
    basinMapReady(BasinMap)
        A basin map was computed (e.g. for :class:`BasinLayer` on the surface).
    busyChanged(bool)
        A computation started or ended.
    """

    addRun = Signal(object)
    setStart = Signal(tuple)
    basinMapReady = Signal(object)
    busyChanged = Signal(bool)
    #: Every request's end, also superseded ones: generation and
    #: "finished", "failed" or "cancelled" (for tests and status bars).
    computeEnded = Signal(int, str)
    _request = Signal(int, object)

    def __init__(self, parent: QWidget | None = None, theme: Theme = DARK) -> None:
        super().__init__(parent)
        self.theme = theme
        self.loss: Any = None
        self.start: tuple[float, ...] = ()
        self.domain: tuple[tuple[float, float], ...] = ()
        self._base: RunConfig | None = None
        self._gen = 0
        self._busy = False
        self.sweep_result: SweepMap | None = None
        self.basin_result: BasinMap | None = None
        self._build()
        # The thread has no parent and is kept in _THREADS: when the panel goes
        # (or the application quits, or Python exits) _stop_thread cancels the
        # work and joins it, so Qt never destroys a running thread.
        self._thread = QThread()
        self._thread.setObjectName("gdviz-maps")
        self._worker = MapWorker()
        self._worker.moveToThread(self._thread)
        self._request.connect(self._worker.compute)
        self._worker.progress.connect(self._on_progress)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._worker.cancelled.connect(self._on_cancelled)
        self._thread.start()
        thread, worker = self._thread, self._worker
        _THREADS[id(thread)] = (thread, worker)
        self.destroyed.connect(lambda *_: _stop_thread(thread, worker))
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(lambda: _stop_thread(thread, worker))

    # ------------------------------------------------------------------ build
    def _build(self) -> None:
        self.tabs = QTabWidget()
        # Sweep settings.
        sweep = QWidget()
        form = QFormLayout(sweep)
        self.optimizer = QComboBox()
        for name, spec in OPTIMIZERS.items():
            self.optimizer.addItem(spec.label, name)
        self.optimizer.currentIndexChanged.connect(self._optimizer_changed)
        self.lr_range = QLineEdit("1e-4:1:60")
        self.lr_range.setToolTip("learning rates low:high:n, spaced on a log scale")
        self.y_axis = QComboBox()
        self.y_axis.currentIndexChanged.connect(self._axis_changed)
        self.y_values = QLineEdit("0:0.99:12")
        self.y_values.setToolTip("values low:high:n or a list a,b,c (optimizers: gd,adam,…)")
        self.color_by = QComboBox()
        self.color_by.addItem("steps to converge", "steps")
        self.color_by.addItem("final loss", "loss")
        self.color_by.currentIndexChanged.connect(
            lambda *_: self.view.set_metric(self.color_by.currentData())
        )
        self.sweep_steps = QSpinBox()
        self.sweep_steps.setRange(1, 100_000)
        self.sweep_steps.setValue(500)
        form.addRow("optimizer", self.optimizer)
        form.addRow("learning rates", self.lr_range)
        form.addRow("against", self.y_axis)
        form.addRow("values", self.y_values)
        form.addRow("steps", self.sweep_steps)
        form.addRow("colour by", self.color_by)
        self.tabs.addTab(sweep, "Learning-rate sweep")
        # Basin settings.
        basins = QWidget()
        bform = QFormLayout(basins)
        self.basin_spec = QLineEdit("gd:lr=0.01")
        self.basin_spec.setToolTip("optimizer and settings, e.g. momentum:lr=0.01,momentum=0.9")
        self.grid_n = QSpinBox()
        self.grid_n.setRange(2, 400)
        self.grid_n.setValue(120)
        self.basin_steps = QSpinBox()
        self.basin_steps.setRange(1, 100_000)
        self.basin_steps.setValue(500)
        bform.addRow("optimizer", self.basin_spec)
        bform.addRow("starts per side", self.grid_n)
        bform.addRow("steps", self.basin_steps)
        self.tabs.addTab(basins, "Basins of attraction")
        self.tabs.currentChanged.connect(self._tab_changed)

        self.compute_button = QPushButton("Compute")
        self.compute_button.clicked.connect(self.compute)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)  # per mille: big maps move visibly
        self.progress.setValue(0)
        self.message = QLabel(" ")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.compute_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress, 1)

        self.view = MapView(self.theme)
        self.view.cellClicked.connect(self._cell_clicked)
        self.hint = QLabel("click a cell to add that run to the race")
        self.hint.setProperty("role", "hint")

        self.controls = QWidget()
        left = QVBoxLayout(self.controls)
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.tabs)
        left.addLayout(buttons)
        left.addWidget(self.message)
        left.addStretch(1)
        grid = QGridLayout(self)
        grid.addWidget(self.controls, 0, 0)
        grid.addWidget(self.view, 0, 1)
        grid.addWidget(self.hint, 1, 1)
        grid.setColumnStretch(1, 1)
        self.view.setMinimumSize(360, 260)
        self._size_controls()
        self._optimizer_changed()

    def _optimizer_changed(self, *_: Any) -> None:
        name = self.optimizer.currentData()
        current = self.y_axis.currentData()
        self.y_axis.blockSignals(True)
        self.y_axis.clear()
        self.y_axis.addItem("nothing (one row)", None)
        for p in sweepable_params(name):
            hp = OPTIMIZERS[name].hyperparam(p)
            self.y_axis.addItem(f"{hp.label or p} ({p})", p)
        self.y_axis.addItem("optimizer", "optimizer")
        i = self.y_axis.findData(current)
        self.y_axis.setCurrentIndex(i if i >= 0 else 0)
        self.y_axis.blockSignals(False)
        self._axis_changed()

    def _axis_changed(self, *_: Any) -> None:
        """Offer values that suit the second axis (the person may edit them)."""
        y = self.y_axis.currentData()
        self.y_values.setEnabled(y is not None)
        if y is None:
            return
        if y == "optimizer":
            self.y_values.setText("gd,momentum,nesterov,rmsprop,adam")
            return
        self.y_values.setText(_default_values(OPTIMIZERS[self.optimizer.currentData()], y))

    def _tab_changed(self, index: int) -> None:
        self.hint.setText(
            "click a cell to add that run to the race"
            if index == 0
            else "click a start to use it; the basins also show on the surface"
        )

    # ------------------------------------------------------------------ API
    def set_problem(
        self,
        loss: Any,
        start: Sequence[float],
        domain: Sequence[Sequence[float]],
    ) -> None:
        """The function, the start for sweeps and the view window for basins.

        A map of a previous function no longer applies: it is cleared (and a
        running computation cancelled).
        """
        changed = loss is not self.loss
        self.loss = loss
        self.start = tuple(float(v) for v in start)
        self.domain = tuple((float(a), float(b)) for a, b in domain)
        if changed:
            self.cancel()
            self.view.clear()
            self.sweep_result = self.basin_result = None
            self.basinMapReady.emit(None)

    def set_base_run(self, config: RunConfig) -> None:
        """Pre-fill the settings from a run (e.g. the one selected in the race)."""
        self._base = config
        i = self.optimizer.findData(config.optimizer)
        if i >= 0:
            self.optimizer.setCurrentIndex(i)
        self.basin_spec.setText(config.label())

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.view.set_theme(theme)
        self._size_controls()

    def _size_controls(self) -> None:
        # Settings take a column, the map the rest; on a projector (large
        # text) the column must not eat the map.
        self.controls.setMaximumWidth(int(340 * self.theme.font_scale))

    @property
    def busy(self) -> bool:
        return self._busy

    def request_sweep(
        self,
        base: RunConfig,
        lrs: Sequence[float],
        y_param: str | None = None,
        y_values: Sequence[Any] = (),
        steps: int = 500,
    ) -> int:
        """Start computing a sweep (a running one is cancelled); returns its number."""
        if self.loss is None:
            self._fail("type a function first")
            return -1
        start = base.start or self.start
        req = SweepRequest(
            self.loss,
            RunConfig(base.optimizer, dict(base.params), tuple(start), base.schedule),
            tuple(float(v) for v in lrs),
            y_param,
            tuple(y_values),
            int(steps),
        )
        self.tabs.setCurrentIndex(0)
        return self._submit(req)

    def request_basins(self, config: RunConfig, n: int = 120, steps: int = 500) -> int:
        """Start computing a basin map over the current domain; returns its number."""
        if self.loss is None:
            self._fail("type a function first")
            return -1
        if self.loss.dim not in (1, 2) or not self.domain:
            self._fail("basins need a function of one or two variables")
            return -1
        self.tabs.setCurrentIndex(1)
        return self._submit(BasinRequest(self.loss, config, self.domain, int(n), int(steps)))

    def compute(self) -> int:
        """Compute the map the controls describe."""
        from gdviz.core.specs import SpecError, parse_optimizer_spec

        try:
            if self.tabs.currentIndex() == 0:
                name = self.optimizer.currentData()
                params: dict[str, Any] = {}
                if self._base is not None and self._base.optimizer == name:
                    params = {k: v for k, v in self._base.params.items() if k != "lr"}
                lo, hi, n = _lr_range(self.lr_range.text())
                y_param = self.y_axis.currentData()
                values: tuple = ()
                if y_param == "optimizer":
                    values = tuple(v.strip() for v in self.y_values.text().split(",") if v.strip())
                elif y_param is not None:
                    values = parse_values(self.y_values.text())
                params.pop(y_param, None)
                base = RunConfig(name, params, self.start, self._base_schedule(name))
                return self.request_sweep(
                    base, lr_grid(lo, hi, n), y_param, values, self.sweep_steps.value()
                )
            cfg = parse_optimizer_spec(self.basin_spec.text())
            cfg = RunConfig(cfg.optimizer, cfg.params, (), self._base_schedule(cfg.optimizer))
            return self.request_basins(cfg, self.grid_n.value(), self.basin_steps.value())
        except (SpecError, ValueError) as exc:
            self._fail(str(exc))
            return -1

    def _base_schedule(self, optimizer: str) -> Any:
        """The learning-rate schedule of the pre-filled run, if it is this optimizer's."""
        from gdviz.core.schedules import CONSTANT

        base = self._base
        return base.schedule if base is not None and base.optimizer == optimizer else CONSTANT

    def cancel(self) -> None:
        """Stop the running computation (its result is dropped)."""
        if self._busy:
            self._worker.want(-1)
            self._gen += 1  # whatever arrives from the cancelled run is stale
            self._set_busy(False)
            self._message("cancelled")

    def shutdown(self) -> None:
        """Stop the worker thread (also done when the panel is destroyed)."""
        _stop_thread(self._thread, self._worker)

    # ------------------------------------------------------------------ internals
    def _submit(self, req: Any) -> int:
        self._gen += 1
        # A computation still running stops at its next progress report.
        self._worker.want(self._gen)
        self._set_busy(True)
        self.progress.setValue(0)
        self._message("computing…")
        self._request.emit(self._gen, req)
        return self._gen

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)
        self.cancel_button.setEnabled(busy)
        self.compute_button.setEnabled(not busy)

    def _message(self, text: str, role: str = "") -> None:
        self.message.setProperty("role", role)
        self.message.setText(text)
        # A dynamic property only restyles after a re-polish.
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)

    def _fail(self, text: str) -> None:
        self._message(text, "error")

    @Slot(int, int)
    def _on_progress(self, gen: int, permille: int) -> None:
        if gen == self._gen:
            self.progress.setValue(permille)

    @Slot(int, object)
    def _on_finished(self, gen: int, result: Any) -> None:
        self.computeEnded.emit(gen, "finished")
        if gen != self._gen:
            return
        self._set_busy(False)
        self.progress.setValue(1000)
        if isinstance(result, SweepMap):
            self.sweep_result = result
            self.view.set_map(result, self.color_by.currentData())
            self._message(_sweep_summary(result))
        else:
            self.basin_result = result
            self.view.set_map(result, loss=self.loss)
            self._message(_basin_summary(result))
            self.basinMapReady.emit(result)

    @Slot(int, str)
    def _on_failed(self, gen: int, text: str) -> None:
        self.computeEnded.emit(gen, "failed")
        if gen == self._gen:
            self._set_busy(False)
            self._fail(text)

    @Slot(int)
    def _on_cancelled(self, gen: int) -> None:
        self.computeEnded.emit(gen, "cancelled")
        if gen == self._gen:
            self._set_busy(False)
            self._message("cancelled")

    @Slot(int, int)
    def _cell_clicked(self, row: int, col: int) -> None:
        m = self.view.map
        if isinstance(m, SweepMap):
            self.addRun.emit(m.config(row, col))
        elif isinstance(m, BasinMap):
            self.setStart.emit(m.start(row, col))


#: Worker threads of live panels (their only owner: see MapsPanel.__init__).
_THREADS: dict[int, tuple[QThread, MapWorker]] = {}


class MapsDock(QDockWidget):
    """The maps panel as a dock of the main window, with its basin layer and menu.

    Everything the window needs to offer maps::

        self.maps = MapsDock(self, theme, current_run=self._selected_run_config)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.maps)
        self.maps.attach_surface(self.scene.surface)
        menu.addActions(self.maps.menu_actions())
        self.maps.addRun.connect(...)       # RunConfig of a clicked sweep cell
        self.maps.setStart.connect(...)     # start point of a clicked basin cell
        self.maps.set_problem(loss, start, domain)   # whenever one of them changes

    Parameters
    ----------
    parent
        The main window.
    theme
        The window's theme.
    current_run
        Returns the run selected in the race (or None); its optimizer and
        settings pre-fill the panel when it is opened from the menu.
    """

    addRun = Signal(object)
    setStart = Signal(tuple)

    def __init__(
        self,
        parent: QWidget | None = None,
        theme: Theme = DARK,
        current_run: Any = None,
    ) -> None:
        super().__init__("Maps: learning-rate sweeps and basins of attraction", parent)
        self.setObjectName("maps")
        self.panel = MapsPanel(self, theme)
        self.setWidget(self.panel)
        self.layer = BasinLayer()
        self._surface: Any = None
        self._current_run = current_run
        self._placed = False
        self.panel.addRun.connect(self.addRun)
        self.panel.setStart.connect(self.setStart)
        self.panel.basinMapReady.connect(self._basins_ready)
        self.sweep_action = QAction("Learning-rate sweep…", self)
        self.sweep_action.setToolTip("where does each learning rate stop converging?")
        self.sweep_action.triggered.connect(lambda: self.open_tab(0))
        self.basins_action = QAction("Basins of attraction…", self)
        self.basins_action.setToolTip("which minimum does each start point reach?")
        self.basins_action.triggered.connect(lambda: self.open_tab(1))
        self.layer_action = QAction("Show basins on the surface", self, checkable=True)
        self.layer_action.setChecked(True)
        self.layer_action.setEnabled(False)
        self.layer_action.toggled.connect(self._layer_toggled)
        self.hide()

    def menu_actions(self) -> list[QAction]:
        """Open the sweep, open the basins, show/hide the basin layer."""
        return [self.sweep_action, self.basins_action, self.layer_action]

    def attach_surface(self, plot: pg.PlotItem) -> None:
        """Put the basin layer on the scene's surface plot (it adds no auto-range)."""
        self._surface = plot
        plot.addItem(self.layer, ignoreBounds=True)
        self.layer.hide()

    def open_tab(self, index: int) -> None:
        """Show the dock on the sweep (0) or basins (1) tab, pre-filled from the race."""
        if self._current_run is not None:
            try:
                cfg = self._current_run()
            except Exception:  # a half-edited run: keep the panel's own settings
                cfg = None
            if cfg is not None:
                self.panel.set_base_run(cfg)
        self.panel.tabs.setCurrentIndex(index)
        if not self._placed:
            # The first time it floats as its own window beside the scene: docked
            # under it, it would squeeze the surface the basins are drawn on.
            self._placed = True
            self.setFloating(True)
            parent = self.parentWidget()
            w, h = 1100, 680
            if parent is not None:
                g = parent.frameGeometry()
                w, h = min(w, max(600, g.width() - 80)), min(h, max(420, g.height() - 80))
                self.move(g.left() + (g.width() - w) // 2, g.top() + (g.height() - h) // 2)
            self.resize(w, h)
        self.show()
        self.raise_()

    def set_problem(
        self, loss: Any, start: Sequence[float], domain: Sequence[Sequence[float]]
    ) -> None:
        """See :meth:`MapsPanel.set_problem`."""
        self.panel.set_problem(loss, start, domain)

    def set_theme(self, theme: Theme) -> None:
        self.panel.set_theme(theme)

    def shutdown(self) -> None:
        self.panel.shutdown()

    def _basins_ready(self, m: BasinMap | None) -> None:
        y_range = None
        if m is not None and len(m.domain) == 1 and self._surface is not None:
            y_range = tuple(self._surface.getViewBox().viewRange()[1])
        self.layer.set_map(m, y_range)
        self.layer_action.setEnabled(m is not None)
        if m is not None and not self.layer_action.isChecked():
            self.layer.hide()

    def _layer_toggled(self, on: bool) -> None:
        self.layer.setVisible(on and self.layer.map is not None)


def _stop_thread(thread: QThread, worker: MapWorker) -> None:
    if _THREADS.pop(id(thread), None) is None:
        return  # already stopped
    worker.want(-1)  # a running map stops at its next progress report
    thread.quit()
    thread.wait()


@atexit.register
def _stop_all_threads() -> None:
    for thread, worker in list(_THREADS.values()):
        _stop_thread(thread, worker)


def _default_values(spec: Any, name: str) -> str:
    """A first range for a hyper-parameter axis, from its registry entry."""
    if name == "beta2":
        # What matters is 1 − β₂, the averaging window: space it by decades.
        return "0.9,0.99,0.995,0.999,0.9999"
    hp = spec.hyperparam(name)
    lo = hp.low if math.isfinite(hp.low) else (hp.ui_low or 0.0)
    hi = hp.ui_high if hp.ui_high is not None else hp.high
    if not math.isfinite(hi):
        hi = max(1.0, 10 * abs(float(hp.default)))
    if hp.log:
        lo = hp.ui_low if hp.ui_low is not None else max(lo, hi * 1e-6)
        return ",".join(f"{v:.0e}" for v in np.geomspace(max(lo, 1e-300), hi, 7))
    if hp.high_open or hi == 1.0:
        hi = 0.99 if hi == 1.0 else hi  # β = 1 never forgets; the range is open there
    if hp.low_open and lo == 0.0:
        lo = 0.05
    return f"{lo:g}:{hi:g}:12"


def _lr_range(text: str) -> tuple[float, float, int]:
    parts = [p.strip() for p in text.split(":")]
    try:
        if len(parts) == 3:
            lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
        elif len(parts) == 2:
            lo, hi, n = float(parts[0]), float(parts[1]), 60
        else:
            raise ValueError
    except ValueError:
        raise ValueError(f"learning rates {text!r}: write low:high:n, e.g. 1e-4:1:60") from None
    if not 1 <= n <= 2000:
        raise ValueError(f"learning rates {text!r}: n must be 1…2000")
    return lo, hi, n


def _sweep_summary(m: SweepMap) -> str:
    n = m.status.size
    conv = int((m.status == CONVERGED).sum())
    div = int((m.status == DIVERGED).sum())
    text = f"{conv} of {n} runs converged, {div} diverged"
    ok = m.status == CONVERGED
    if ok.any():
        rows, cols = np.nonzero(ok)
        best = int(np.argmin(m.stop_step[ok]))
        text += (
            f"; fastest: lr = {m.lrs[cols[best]]:.3g}"
            + (f", {m.y_param} = {m.y_label(rows[best])}" if m.y_param else "")
            + f" ({int(m.stop_step[ok][best])} steps)"
        )
    return text


def _basin_summary(m: BasinMap) -> str:
    if not m.minima:
        return "no run converged: try more steps or another learning rate"
    found = "; ".join(
        f"{i + 1}: ({', '.join(f'{v:.4g}' for v in mn.position)}) f = {mn.loss:.3g}"
        for i, mn in enumerate(m.minima[:6])
    )
    more = f" and {len(m.minima) - 6} more" if len(m.minima) > 6 else ""
    return f"{len(m.minima)} minima — {found}{more}"
