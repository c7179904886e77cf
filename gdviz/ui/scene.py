"""The scene: surface (or 1-D curve) view and loss view, drawn for one step index.

The window and the exporter both draw with :class:`Scene`, so a visual fix lands
in both. It holds no numbers of its own: :meth:`Scene.set_problem` gives it a
compiled loss and a view window, :meth:`Scene.set_runs` a computed
:class:`~gdviz.core.engine.Trajectory`, and :meth:`Scene.set_step` says which step
to show. Every view draws the whole trail up to that step, so any playback speed
or scrub position shows every step taken so far.

The scene is a composition of the graphics items in :mod:`gdviz.ui.items`, one
per file: the surface layer (heat-map, contours, gradient field or 1-D curve,
refined progressively when expensive), the colour bar, each run's trail,
marker and arrows, and the loss column (legend, loss, ‖∇f‖ and learning-rate
plots). The scene wires them to its inputs. The exporter renders it
offscreen at a fixed size, always sampling in full.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QWidget

from gdviz.core.colors import run_color
from gdviz.core.session import ViewSettings
from gdviz.core.surface import Grid, normalize_domain
from gdviz.ui.items import part
from gdviz.ui.items.drawing import cached_pixel_size, title_height
from gdviz.ui.items.loss_column import LossColumn
from gdviz.ui.items.run_markers import RunItems, RunMarkers
from gdviz.ui.items.series_plot import run_series
from gdviz.ui.items.step_caption import StepCaption
from gdviz.ui.items.surface_layer import (
    COARSE_SAMPLES,
    COARSE_SECONDS,
    PROBE_SAMPLES,
    SURFACE_SAMPLES,
    SURFACE_SYNC_SECONDS,
    SurfaceLayer,
    value_name,
)
from gdviz.ui.items.surface_view import SurfaceView, equal_aspect
from gdviz.ui.items.trail import ChunkedCurve
from gdviz.ui.theme import DARK, Theme

__all__ = [
    "COARSE_SAMPLES",
    "COARSE_SECONDS",
    "PANELS",
    "PROBE_SAMPLES",
    "SURFACE_SAMPLES",
    "SURFACE_SYNC_SECONDS",
    "Scene",
]

PANELS = ("both", "surface", "loss")
#: The view settings the surface layer is drawn from.
SURFACE_SETTINGS = ("heatmap", "contours", "n_contours", "log_levels", "gradient_field")

#: New trail chunks cached per drawn frame, over all runs and plots.
CHUNKS_PER_FRAME = 6
#: Room between the surface view and the loss view (when both are shown), in
#: lines of the axis-title font: the colour bar's title and the loss plot's
#: title are both drawn rotated at that border, and closer together they read
#: as one label ("f loss").
PANEL_GAP_LINES = 1.5


class Scene(QWidget):
    """Surface (2-D heat-map + contours, or 1-D curve) and loss views for one step.

    Parameters
    ----------
    panels
        ``"both"`` (surface left, loss right), ``"surface"`` or ``"loss"``.
    theme
        Colours and sizes; change later with :meth:`set_theme`.

    Attributes
    ----------
    surface_view, column
        The :class:`~gdviz.ui.items.surface_view.SurfaceView` and the
        :class:`~gdviz.ui.items.loss_column.LossColumn` side by side.
    layer, run_markers
        The surface layer and the runs' markers, trails and arrows in it.

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
        self._runs: list[dict[str, np.ndarray]] = []  # per run: x, y, loss, gnorm, lr
        self._colors: list[str] = []
        self._labels: list[str] = []
        self._visible: list[bool] = []
        self._step = 0
        self._start: tuple[float, ...] | None = None
        self._run_notes: list[str | None] = []  # words after the legend's names
        self._loss_label = "loss"
        self._keys: dict[str, Any] = {}  # what labels, pens and legend were last set from
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
        self._build()
        self.set_theme(theme)

    # ------------------------------------------------------------------ build
    def _build(self) -> None:
        # Two views side by side in a box layout: the split (3 : 2) is then a
        # plain widget stretch, and either side can be left out.
        self.surface_view = SurfaceView()
        self.glw = self.surface_view  # the view whose clicks set the start
        self.column = LossColumn()
        self.loss_view = self.column.view
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.surface_view, 3)
        lay.addWidget(self.column, 2)
        self.layer = SurfaceLayer(self.surface, self.colorbar, self._surface_sync)
        self.run_markers = RunMarkers(self.surface)
        #: "step 12 · f = …" in a corner (hidden unless presenting or exporting).
        self.caption = StepCaption()
        loss_only = self.panels == "loss"
        host = self.loss_plot if loss_only else self.surface
        self.caption.attach(host.getViewBox(), (1, 0) if loss_only else (0, 1))
        self.target.sigPositionChangeFinished.connect(lambda t: self._emit_start(t.pos()))
        self.surface_view.picked.connect(self._emit_start)
        self._layout_panels()
        # Arrows are measured in pixels: redraw them once the view has its
        # size (it may have none when the first step is drawn) and after a
        # resize or zoom changed what a pixel is.
        surface_vb = self.surface.getViewBox()
        surface_vb.sigResized.connect(lambda *_: self._catch_up.start())
        surface_vb.sigRangeChanged.connect(lambda *_: self._catch_up.start())
        # Cached trail and curve chunks go stale with the scale of their view;
        # re-cache them a few per turn instead of all in one paint.
        for plot, series in (
            (self.surface, lambda: [items.trail for items in self.run_items]),
            *((p, lambda p=p: p.run_curves) for p in self.column.series_plots()),
        ):
            vb = plot.getViewBox()
            for sig in (vb.sigResized, vb.sigRangeChanged):
                sig.connect(lambda *_, series=series: self._rescaled(series()))

    # Items of the composition, by the names the rest of the app knows them.
    surface = part("surface_view.plot", "The surface plot (a PlotItem).")
    colorbar = part("surface_view.colorbar", "The colour bar beside the heat-map.")
    image = part("layer.image", "The heat-map (an ImageItem).")
    contours = part("layer.contours", "The contour lines.")
    field = part("layer.field", "The gradient field's arrows.")
    curve = part("layer.curve", "A 1-D function's graph.")
    points = part("run_markers.points", "Every run's marker (one scatter item).")
    target = part("run_markers.target", "The draggable start marker.")
    legend = part("column.legend", "The run legend above the loss plot.")
    loss_plot = part("column.loss", "The loss plot.")
    gnorm_plot = part("column.gnorm", "The ‖∇f‖ plot.")
    lr_plot = part("column.lr", "The learning-rate plot.")

    @property
    def run_items(self) -> list[RunItems]:
        """Each run's trail and arrows in the surface plot, in run order."""
        return list(self.run_markers.runs)

    def _layout_panels(self) -> None:
        self.surface_view.setVisible(self.panels in ("both", "surface", "detached"))
        self.column.setVisible(self.panels in ("both", "loss", "detached"))
        self.column.set_extra(self.view.show_grad_norm, self.view.show_lr)

    def detach_views(self) -> tuple[QWidget, QWidget]:
        """Hand the surface view and the loss column to the caller's layout.

        The scene keeps drawing into both (the window puts the surface in a
        tab beside the 3-D view, and the numbers between the two).
        """
        for w in (self.surface_view, self.column):
            self.layout().removeWidget(w)
        self.panels = "detached"  # the caller's layout spaces the views apart
        self._space_panels()
        return self.surface_view, self.column

    def surface_width_change(self) -> int | None:
        """Pixels of width that let the 2-D plot fill its height (see SurfaceView)."""
        return self.surface_view.wanted_width_change()

    # ------------------------------------------------------------------ theme
    def set_theme(self, theme: Theme) -> None:
        """Restyle every item (pyqtgraph reads global config only at creation)."""
        self.theme = theme
        self.surface_view.set_theme(theme)
        self.column.set_theme(theme)
        self._space_panels()
        self.layer.set_theme(theme)
        self.caption.set_theme(theme)
        self._label_axes()
        self._redraw_problem()
        self._restyle_runs()
        self.set_step(self._step)

    def _space_panels(self) -> None:
        """Leave :data:`PANEL_GAP_LINES` of the title font between the two views.

        Half of it on each side of their border, inside each view (so the gap
        has the plots' background, also in an exported picture). It depends
        on the theme alone: the surface never resizes when the function
        changes.
        """
        both = self.panels == "both"
        gap = math.ceil(0.5 * PANEL_GAP_LINES * title_height(self.theme)) if both else 0
        self.surface_view.set_gap(gap)
        self.column.set_margins(left=gap)

    def _fit_aspect(self, *, fit: bool = True) -> None:
        """Shape the 2-D plot so one unit is as long on x as on y (``ViewSettings.equal_axes``).

        A 1-D curve, or a view window much longer one way than the other,
        fills its area (see :func:`~gdviz.ui.items.surface_view.equal_aspect`).
        """
        two_d = self._loss is not None and self._loss.dim == 2 and self.view.equal_axes
        self.surface_view.set_aspect(equal_aspect(self._domain) if two_d else None, fit=fit)

    def _label_axes(self) -> None:
        t = self.theme
        names = tuple(self._loss.variables) if self._loss is not None else ("x", "y")
        name = value_name(self._loss)
        key = (t, names, name, self.view.log_loss, self._loss_label)
        if key == self._keys.get("labels"):
            return  # unchanged: setting axis labels re-lays out the plots
        self._keys["labels"] = key
        self.surface_view.set_axis_titles(names, name, t)
        self.column.set_titles(self._loss_label, self.view.log_loss, t)

    # ----------------------------------------------------------------- inputs
    def set_view(self, view: ViewSettings) -> None:
        """Change drawing settings (heat-map, contours, arrows, log scales, extra plots)."""
        old = self.view
        self.view = view
        if (old.show_grad_norm, old.show_lr) != (view.show_grad_norm, view.show_lr):
            self._layout_panels()
        if any(getattr(old, k) != getattr(view, k) for k in SURFACE_SETTINGS):
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
        self.caption.set_function(getattr(loss, "text", ""), value_name(loss))
        self._label_axes()
        self._redraw_problem()
        self._fit_aspect(fit=False)  # taken at the next resize, or now by reset_range
        if reset_view:
            self.reset_range()

    def reset_range(self) -> None:
        """Show exactly the problem's view window (undo mouse zoom and pan)."""
        self._fit_aspect()
        (x0, x1) = self._domain[0]
        if self._loss is not None and self._loss.dim == 1:
            y0, y1 = self.layer.curve_yrange
        else:
            (y0, y1) = self._domain[1] if len(self._domain) > 1 else (0.0, 1.0)
        self.surface.getViewBox().setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)

    def set_start(self, point: Sequence[float] | None) -> None:
        """Show the start marker at ``point`` (None hides it)."""
        self._start = None if point is None else tuple(float(v) for v in point)
        if self._start is not None and len(self._start) == 1 and self._loss is not None:
            with np.errstate(all="ignore"):
                y = float(np.asarray(self._loss.value(np.asarray(self._start, dtype=float))))
            self.run_markers.set_start((self._start[0], y if np.isfinite(y) else 0.0))
        else:
            self.run_markers.set_start(self._start)  # type: ignore[arg-type]

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
        self.run_markers.set_count(k)
        self.column.set_count(k)
        self._prepare_runs()
        self._restyle_runs()
        self.set_step(min(self._step, self.n_steps))

    @property
    def n_steps(self) -> int:
        """Number of steps available to show (0 without a trajectory)."""
        return 0 if self._traj is None else int(self._traj.positions.shape[0] - 1)

    @property
    def step(self) -> int:
        """The step shown."""
        return self._step

    # --------------------------------------------------------------- drawing
    def _redraw_problem(self) -> None:
        self.layer.draw(self._loss, self._domain, self.view)

    def _offscreen(self) -> bool:
        """Whether the scene sits in a window never shown on screen (the exporter's).

        Such a scene paints each frame right after setting it: a coarse
        surface or a stand-in for trail chunks not yet cached would end up in
        the exported file, so it samples in full and lets Qt re-render caches.
        """
        return self.window().testAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)

    def _surface_sync(self) -> bool:
        return not self.progressive_surface or self._offscreen()

    def _prepare_runs(self) -> None:
        """Turn the trajectory into contiguous per-run arrays once, not every frame."""
        if self._traj is None:
            self._runs = []
            return
        data = run_series(self._traj, self.view.log_loss)
        self._runs, self._loss_label = data.runs, data.loss_label
        for items, r in zip(self.run_markers.runs, data.runs, strict=True):
            items.trail.set_series(r["x"], r["y"])
        self.column.set_runs(data)
        self._label_axes()

    def _restyle_runs(self) -> None:
        t = self.theme
        n = len(self.run_markers.runs)
        key = (t, tuple(self._colors), n)
        if key != self._keys.get("style"):  # else: keep pens and cached chunks
            self._keys["style"] = key
            colors = [*self._colors, *(run_color(k) for k in range(len(self._colors), n))]
            self.run_markers.set_style(t, colors)
            self.column.restyle(t, colors)
        self._update_legend()

    def set_run_notes(self, notes: Sequence[str | None]) -> None:
        """A line under each run's name in the legend (None: none), e.g. "diverged at 12".

        Presentation mode hides the numbers table; the legend then tells a
        class which run diverged, converged or stopped. Empty: names only.
        """
        self._run_notes = [n or None for n in notes]
        self._update_legend()

    def _update_legend(self) -> None:
        self.legend.show_runs(
            self.theme, self._colors, self._labels, self._visible, self._run_notes, self.n_steps
        )

    def set_step(self, i: int) -> None:
        """Draw every run up to and including step ``i`` (clamped to what is computed)."""
        i = int(max(0, min(int(i), self.n_steps)))
        self._step = i
        self.caption.set_step(i)
        # New cached chunks per call, for all runs together: building them is
        # what costs, so a jump to step 5000 spreads the work over a few turns
        # of the event loop (the tail items draw the rest meanwhile).
        budget, rough = [CHUNKS_PER_FRAME], self._rough_ok()
        runs = self._runs if self._traj is not None else []
        self.run_markers.show_trails(i, self._visible, budget, rough)
        self.column.show_upto(i, self._visible, budget, rough)
        if not runs:
            self.run_markers.clear()
            return
        px = cached_pixel_size(self.surface.getViewBox())  # None: no area yet, no arrows
        self.run_markers.draw(i, self._traj, runs, self._visible, self.view, self.theme, px)
        if any(c.pending() for c in self.all_series()):
            self._catch_up.start()  # cache the remaining chunks in later event-loop turns

    def _rough_ok(self) -> bool:
        return self.rough_catch_up and not self._offscreen()

    def _rescaled(self, series: Sequence[ChunkedCurve]) -> None:
        # Every one is asked (each records the new scale); any dropped: cache
        # the chunks again over the next turns.
        if self._rough_ok() and any([c.rescaled() for c in series]):
            self._catch_up.start()

    @property
    def surface_grid(self) -> Grid | None:
        """The grid the heat-map and contours are drawn from (None for a 1-D function).

        While an expensive surface is refined this is the coarse grid; once
        :meth:`settled`, the full one (the same as
        :func:`~gdviz.core.surface.sample_grid` of the loss over the view window).
        """
        return self.layer.grid

    def settled(self) -> bool:
        """Whether the surface, every trail and curve are drawn in final, full quality."""
        if not self.layer.settled():
            return False
        return all(c.settled() for c in self.all_series())

    def all_series(self) -> list[ChunkedCurve]:
        """Every cached curve: each run's trail, then its loss, ‖∇f‖ and learning-rate curves."""
        return [*(items.trail for items in self.run_markers.runs), *self.column.curves()]

    # ------------------------------------------------------------------ mouse
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
