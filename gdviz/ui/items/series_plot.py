"""A plot of one number per run against the step: the loss, ‖∇f‖ or learning-rate plot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg

from gdviz.core.colors import run_color
from gdviz.ui.items.drawing import mix, pen, readable_range, set_labels, style_plot
from gdviz.ui.items.trail import ChunkedCurve
from gdviz.ui.theme import Theme

__all__ = [
    "LOSS_DECADES",
    "RunSeries",
    "SeriesPlot",
    "loss_series",
    "loss_y_range",
    "run_series",
]

#: On a log loss axis the plot shows at most this many decades below the largest
#: starting loss. float64 keeps ~16 significant digits, so a run that converges
#: "to machine precision" ends 13–16 decades down in rounding noise; showing all
#: of that would squash the descent itself into the top third of the plot.
#: Ten decades keep every meaningful drop (a loss down to 1e-10 of its start)
#: and let the noise run off the bottom edge (the numbers table has the values).
LOSS_DECADES = 10.0


class SeriesPlot(pg.PlotItem):
    """One curve per run (value against step), drawn up to the step shown, and a step marker.

    Each run's curve (:attr:`run_curves`) is a
    :class:`~gdviz.ui.items.trail.ChunkedCurve`, so a long run is not stroked
    anew every frame. The plot never ranges itself: its
    owner sets the y range once per trajectory (a range that follows playback
    makes every curve jump).

    Parameters
    ----------
    title
        The y axis title ("loss", "‖∇f‖", "learning rate").
    log
        Whether the values given are base-10 logarithms (the axis then
        labels them as powers of ten).
    """

    def __init__(self, title: str, *, log: bool = False) -> None:
        super().__init__()
        self.setMenuEnabled(False)
        self.hideButtons()
        self.title = title
        self.log = log
        #: One curve per run. (Not ``curves``: that is pyqtgraph's own list of
        #: the plot's data items, which others add to, e.g. dataset mode.)
        self.run_curves: list[ChunkedCurve] = []
        self.marker = pg.InfiniteLine(angle=90, movable=False)
        self.marker.setZValue(30)
        self.addItem(self.marker)

    def set_count(self, k: int) -> None:
        """Keep one curve per run for ``k`` runs (new ones empty, extra ones removed)."""
        while len(self.run_curves) < k:
            self.run_curves.append(ChunkedCurve(self, 5, connect="finite"))
        while len(self.run_curves) > k:
            self.run_curves.pop().remove()

    def set_title(self, title: str, log: bool, theme: Theme) -> None:
        """Change the y axis title and scale (and label the axes in ``theme``)."""
        self.title, self.log = title, log
        set_labels(self, theme, left=title, bottom="step")
        self.getAxis("left").setLogMode(log)

    def set_theme(self, theme: Theme) -> None:
        """Axis style, titles and step marker of ``theme`` (see :meth:`restyle` for the runs)."""
        style_plot(self, theme)
        # Solid, opaque and thin (a mix of the two theme colours): a dashed
        # or translucent line across the plot cost 2–3 ms a frame.
        self.marker.setPen(pen(mix(theme.foreground, theme.background), 1.0 * theme.font_scale))
        self.set_title(self.title, self.log, theme)

    def restyle(self, theme: Theme, colors: Sequence[str]) -> None:
        """One pen per run in its colour (cached curves survive an unchanged pen)."""
        for k, curve in enumerate(self.run_curves):
            c = colors[k] if k < len(colors) else run_color(k)
            curve.set_style(pen(c, max(1.5, theme.line_px * 0.8)))

    def set_step(self, i: int) -> None:
        """Move the step marker to ``i``."""
        self.marker.setValue(i)

    def set_y_range(self, lo: float, hi: float) -> None:
        """Show values from ``lo`` to ``hi`` (logarithms on a log axis), with a small margin."""
        self.getViewBox().setYRange(lo, hi, padding=0.05)


def loss_series(losses: np.ndarray, log: bool) -> tuple[np.ndarray, str]:
    """The loss values as plotted, and the axis title.

    On a log axis the values are base-10 logarithms; a loss that goes to zero
    or below is shown as "loss − min" (shifted a hair above zero), so every
    step has a logarithm.
    """
    if not log:
        return losses, "loss"
    finite = losses[np.isfinite(losses)]
    lo = float(finite.min()) if finite.size else 1.0
    if lo > 0:
        shown, title = losses, "loss"
    else:
        span = float(finite.max() - lo) if finite.size else 1.0
        shown, title = losses - lo + max(span, 1.0) * 1e-12, "loss − min"
    with np.errstate(all="ignore"):
        return np.log10(np.where(shown > 0, shown, np.nan)), title


def loss_y_range(shown: np.ndarray, log: bool) -> tuple[float, float] | None:
    """The y range of a loss plot of ``shown`` (steps × runs, as :func:`loss_series` gives).

    A diverging run cannot squash the others (top capped at 10× the largest
    starting value, or one decade above it in log), and a run that reaches
    machine precision cannot either (bottom at most :data:`LOSS_DECADES` below
    the largest starting loss in log; curves under it leave the plot). A
    nearly flat range is widened until its tick labels differ. None when
    there is no finite value.
    """
    fin = shown[np.isfinite(shown)]
    if not fin.size:
        return None
    lo, hi = float(fin.min()), float(fin.max())
    first = shown[0][np.isfinite(shown[0])]
    if first.size:
        if log:
            hi = min(hi, float(first.max()) + 1.0)
            lo = max(lo, float(first.max()) - LOSS_DECADES)
        else:
            hi = min(hi, float(first.max()) + 9 * abs(float(first.max()) - lo))
    return readable_range(lo, hi, log=log)


@dataclass(frozen=True)
class RunSeries:
    """A trajectory as the scene plots it: contiguous arrays per run and fixed y ranges.

    Attributes
    ----------
    runs
        Per run: ``x`` and ``y`` of its path in the surface plot (for a 1-D
        function, ``y`` is the loss), and the ``loss`` (as :func:`loss_series`
        gives it), ``gnorm`` (log₁₀ ‖∇f‖) and ``lr`` series against the step.
    steps
        ``0 … T`` as floats.
    loss_label
        The loss axis title.
    ranges
        The y ranges of the loss, ‖∇f‖ and learning-rate plots (None: no
        finite value to range on).
    """

    runs: list[dict[str, np.ndarray]]
    steps: np.ndarray
    loss_label: str
    ranges: tuple[tuple[float, float] | None, ...]


def run_series(traj: Any, log_loss: bool) -> RunSeries:
    """Turn ``traj`` (a :class:`~gdviz.core.engine.Trajectory`) into what the plots draw.

    Done once per trajectory, not every frame. The ranges are fixed, so the
    plots do not rescale during playback (a range that follows playback makes
    every curve jump); see :func:`loss_y_range` for the loss plot's.
    """
    pos = np.asarray(traj.positions, dtype=np.float64)
    losses = np.asarray(traj.losses, dtype=np.float64)
    shown, label = loss_series(losses, log_loss)
    with np.errstate(all="ignore"):
        gn = np.linalg.norm(np.asarray(traj.grads, dtype=np.float64), axis=-1)
        gn_log = np.log10(np.where(gn > 0, gn, np.nan))
    lrs = np.asarray(traj.lrs, dtype=np.float64)
    d = pos.shape[2]
    runs = [
        {
            "x": np.ascontiguousarray(pos[:, k, 0]),
            "y": np.ascontiguousarray(pos[:, k, 1] if d > 1 else losses[:, k]),
            "loss": np.ascontiguousarray(shown[:, k]),
            "gnorm": np.ascontiguousarray(gn_log[:, k]),
            "lr": np.ascontiguousarray(lrs[:, k]),
        }
        for k in range(pos.shape[1])
    ]
    gnorm_range = lr_range = None
    gfin = gn_log[np.isfinite(gn_log)]
    if gfin.size:
        glo, ghi = float(gfin.min()), float(gfin.max())
        gnorm_range = (glo, max(ghi, glo + 1.0))
    lfin = lrs[np.isfinite(lrs)]
    if lfin.size:
        lr_range = (0.0, max(float(lfin.max()), 1e-12))
    steps = np.arange(pos.shape[0], dtype=np.float64)
    return RunSeries(runs, steps, label, (loss_y_range(shown, log_loss), gnorm_range, lr_range))
