"""Where each run is at the step shown: its marker, trail, −∇f arrow and next-step arrow.

Also the start marker a person drags to move every run's start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QPen

from gdviz.core.colors import run_color
from gdviz.core.session import ViewSettings
from gdviz.ui.items.drawing import arrow_segments, clear_curve, pen
from gdviz.ui.items.fast_curve import FastCurve
from gdviz.ui.items.trail import ChunkedCurve
from gdviz.ui.theme import Theme

__all__ = ["GRAD_ARROW_PX", "HEAD_PX", "RunItems", "RunMarkers"]

#: Length of the "downhill" (−∇f direction) arrow, in pixels before font scaling.
GRAD_ARROW_PX = 55.0
#: Arrow-head length in pixels before scaling.
HEAD_PX = 9.0


class RunItems:
    """The graphics items of one run in the surface (or 1-D curve) plot.

    Attributes
    ----------
    trail
        The path so far (a :class:`~gdviz.ui.items.trail.ChunkedCurve`).
    grad, step
        The −∇f arrow and the arrow to the next step (``connect="pairs"``
        segments: shaft and two head strokes).
    """

    def __init__(self, plot: pg.PlotItem) -> None:
        self.trail = ChunkedCurve(plot, 10)
        self.grad = FastCurve(connect="pairs")
        self.step = FastCurve(connect="pairs")
        for item in (self.grad, self.step):
            item.setZValue(12)
            plot.addItem(item)

    def remove(self, plot: pg.PlotItem) -> None:
        """Take the run's items out of ``plot``."""
        self.trail.remove()
        for item in (self.grad, self.step):
            plot.removeItem(item)


class RunMarkers:
    """Every run's marker and arrows in the surface plot, plus the start marker.

    Markers are one scatter item for all runs (a diverged run's is an ✕);
    arrows are measured in pixels, so they need the view's pixel size.
    """

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        self.runs: list[RunItems] = []
        self.points = pg.ScatterPlotItem(pxMode=True)
        self.points.setZValue(20)
        plot.addItem(self.points)
        self.target = pg.TargetItem(pos=(0, 0), size=16, symbol="crosshair", movable=True)
        self.target.setZValue(30)
        plot.addItem(self.target)
        self._brushes: list[QBrush] = []
        self._point_pen = QPen()

    def set_count(self, k: int) -> None:
        """Keep the items of ``k`` runs."""
        while len(self.runs) < k:
            self.runs.append(RunItems(self.plot))
        while len(self.runs) > k:
            self.runs.pop().remove(self.plot)

    def set_style(self, theme: Theme, colors: Sequence[str]) -> None:
        """Pens and brushes of ``theme`` in each run's colour (``#rrggbb``)."""
        t = theme
        self._brushes = [pg.mkBrush(c) for c in colors]
        self._point_pen = pen(t.path_shadow[:7], 1.5 * t.font_scale)
        self.target.setPen(pen(t.foreground, 2.0))
        for k, items in enumerate(self.runs):
            c = colors[k] if k < len(colors) else run_color(k)
            items.trail.set_style(
                pen(c, t.line_px), pen(t.path_shadow, t.line_px + 2.5 * t.font_scale)
            )
            items.grad.setPen(pen(c, 1.6 * t.font_scale, Qt.PenStyle.DashLine))
            items.step.setPen(pen(c, 2.0 * t.font_scale))

    def set_start(self, point: tuple[float, float] | None) -> None:
        """Put the start marker at ``point`` (None hides it)."""
        self.target.setVisible(point is not None)
        if point is not None:
            self.target.setPos(*point)

    def show_trails(
        self, i: int, visible: Sequence[bool], budget: list[int], rough: bool = False
    ) -> None:
        """Draw every visible run's trail up to step ``i`` (see :meth:`ChunkedCurve.show_upto`)."""
        for k, items in enumerate(self.runs):
            if k < len(visible) and not visible[k]:
                items.trail.set_visible(False)
            else:
                items.trail.visible = True
                items.trail.show_upto(i, budget, rough)

    def clear(self) -> None:
        """No markers (no trajectory)."""
        self.points.setData([])

    def draw(
        self,
        i: int,
        traj: Any,
        runs: Sequence[dict[str, np.ndarray]],
        visible: Sequence[bool],
        view: ViewSettings,
        theme: Theme,
        px: tuple[float, float] | None,
    ) -> None:
        """Markers and arrows of step ``i``.

        ``runs`` holds each run's plotted ``x`` and ``y``; ``px`` is the view's
        pixel size (None while it has no area: no arrows then). Hidden runs
        lose their arrows; trails are drawn by their owner.
        """
        n = int(traj.positions.shape[0] - 1)
        xs, ys, brushes, symbols = [], [], [], []
        status = getattr(traj, "status", None) or []
        stop = np.asarray(getattr(traj, "stop_step", np.full(len(runs), -1)))
        scale = theme.font_scale
        two_d = traj.positions.shape[2] > 1
        for k, r in enumerate(runs):
            items = self.runs[k]
            vis = visible[k] if k < len(visible) else True
            items.grad.setVisible(vis)
            items.step.setVisible(vis)
            if not vis:
                continue
            x, y = float(r["x"][i]), float(r["y"][i])
            diverged = k < len(status) and status[k] == "diverged" and 0 <= stop[k] <= i
            if np.isfinite(x) and np.isfinite(y):  # (a 1-D run's height may be inf or nan)
                xs.append(x)
                ys.append(y)
                brushes.append(self._brushes[k])
                symbols.append("x" if diverged else "o")
            seg = None
            if two_d and view.grad_arrows and not diverged and px is not None:
                g = np.asarray(traj.grads[i, k], dtype=np.float64)
                gpx = np.hypot(g[0] / px[0], g[1] / px[1])
                if np.isfinite(gpx) and gpx > 0:
                    vec = -g / gpx * GRAD_ARROW_PX * scale
                    seg = arrow_segments(np.array([[x, y]]), vec[None, :], px, HEAD_PX * scale)
            _set_arrow(items.grad, seg)
            seg = None
            if view.step_arrows and i < n and not diverged and px is not None:
                vec = np.array([[float(r["x"][i + 1]) - x, float(r["y"][i + 1]) - y]])
                if np.all(np.isfinite(vec)) and np.any(vec != 0):
                    seg = arrow_segments(np.array([[x, y]]), vec, px, HEAD_PX * scale)
            _set_arrow(items.step, seg)
        # The same brush and pen objects every frame: pyqtgraph then reuses its
        # rendered symbols instead of drawing them anew.
        self.points.setData(
            x=xs, y=ys, brush=brushes, symbol=symbols, size=theme.marker_px, pen=self._point_pen
        )


def _set_arrow(item: FastCurve, seg: np.ndarray | None) -> None:
    if seg is None:
        clear_curve(item)
    else:
        item.setData(seg[:, 0], seg[:, 1], connect="pairs")
