"""The loss column: run legend, loss plot and the optional ‖∇f‖ and learning-rate plots.

Every plot keeps a readable size. The plots are stacked while each gets at
least :func:`min_plot_height` pixels of plot area; in less room they become
tabs along the bottom of the column, and the chosen plot takes all the
height. Nothing is squeezed: before, ticking both extra plots at 1280×800
left three plots 2 px tall.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QGraphicsItem, QTabBar, QVBoxLayout, QWidget

from gdviz.ui.items.drawing import color
from gdviz.ui.items.legend import RunLegend
from gdviz.ui.items.series_plot import RunSeries, SeriesPlot
from gdviz.ui.items.trail import ChunkedCurve
from gdviz.ui.theme import DARK, Theme

__all__ = ["MIN_PLOT_SIZE", "LossColumn", "min_plot_height"]

#: The least plot area (width, height in pixels) any plot of the column gets.
MIN_PLOT_SIZE = (150, 100)
#: Lines of tick-label text a stacked plot's area must hold: a projector's
#: large fonts need taller plots for the same three or four labelled ticks.
MIN_PLOT_LINES = 6.0
#: Pixels a stacked plot needs beyond its plot area (layout spacing, borders).
PLOT_SPACING = 8


def min_plot_height(theme: Theme) -> float:
    """The least height (pixels) of a plot area in a stack, for ``theme``'s fonts."""
    font = QFont()
    font.setPointSizeF(theme.font_pt * 0.9)  # the tick font (see style_plot)
    return max(float(MIN_PLOT_SIZE[1]), MIN_PLOT_LINES * QFontMetricsF(font).height())


class LossColumn(QWidget):
    """The legend and the value-against-step plots, laid out so each stays readable.

    Attributes
    ----------
    view
        The graphics view holding the legend and the plots.
    legend
        The :class:`~gdviz.ui.items.legend.RunLegend` above the plots.
    loss, gnorm, lr
        The loss, ‖∇f‖ (log axis) and learning-rate
        :class:`~gdviz.ui.items.series_plot.SeriesPlot`\\ s; ‖∇f‖ and learning
        rate share the loss plot's step axis.
    tabs
        The tab bar shown when the chosen plots do not fit stacked.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = pg.GraphicsLayoutWidget()
        self.view.ci.setContentsMargins(4, 4, 4, 4)
        self.legend = RunLegend()
        # Rendered once into a cache, not redrawn every frame.
        self.legend.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.loss = SeriesPlot("loss")
        self.gnorm = SeriesPlot("‖∇f‖", log=True)
        self.lr = SeriesPlot("learning rate")
        for p in (self.gnorm, self.lr):
            p.setXLink(self.loss)
        self.tabs = QTabBar()
        self.tabs.setShape(QTabBar.Shape.RoundedSouth)
        self.tabs.setDocumentMode(True)
        self.tabs.setExpanding(False)
        self.tabs.hide()
        self.tabs.currentChanged.connect(lambda _i: self._lay_out())
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.tabs)
        self.theme = DARK
        self._extra = (False, False)  # ‖∇f‖ and learning-rate plots chosen
        self._left = 0  # pixels kept free at the left (towards the surface view)
        self._top = 0  # pixels kept free above the legend
        self._stacked: bool | None = None
        self._shown: tuple[SeriesPlot, ...] = ()
        self._margins: tuple[int, int, int, int] | None = None
        self._lay_out()

    # ------------------------------------------------------------ public
    def plots(self) -> list[SeriesPlot]:
        """The plots chosen (loss first), whether stacked or as tabs."""
        extra = zip((self.gnorm, self.lr), self._extra, strict=True)
        return [self.loss, *(p for p, on in extra if on)]

    def shown_plots(self) -> list[SeriesPlot]:
        """The plots on screen now (one of them in tabs)."""
        return list(self._shown)

    @property
    def stacked(self) -> bool:
        """Whether the chosen plots are stacked (else tabs, one plot at a time)."""
        return bool(self._stacked)

    def series_plots(self) -> tuple[SeriesPlot, SeriesPlot, SeriesPlot]:
        """The loss, ‖∇f‖ and learning-rate plots, chosen or not."""
        return (self.loss, self.gnorm, self.lr)

    def curves(self) -> list[ChunkedCurve]:
        """Every run's curve in every plot (loss first)."""
        return [c for p in self.series_plots() for c in p.run_curves]

    def set_count(self, k: int) -> None:
        """Keep one curve per run in every plot for ``k`` runs."""
        for p in self.series_plots():
            p.set_count(k)

    def set_runs(self, data: RunSeries) -> None:
        """Show the loss, ‖∇f‖ and learning rate of each run in ``data`` (fixed ranges)."""
        self.set_count(len(data.runs))
        for p, key in zip(self.series_plots(), ("loss", "gnorm", "lr"), strict=True):
            for curve, r in zip(p.run_curves, data.runs, strict=True):
                curve.set_series(data.steps, r[key])
        self.loss.getViewBox().setXRange(0, max(len(data.steps) - 1, 1), padding=0.02)
        for p, rng in zip(self.series_plots(), data.ranges, strict=True):
            if rng is not None:
                p.set_y_range(*rng)

    def set_titles(self, loss_label: str, log_loss: bool, theme: Theme) -> None:
        """Axis titles in ``theme``; the loss axis is ``loss_label``, logarithmic or not."""
        self.loss.set_title(loss_label, log_loss, theme)
        self.gnorm.set_title("‖∇f‖", True, theme)
        self.lr.set_title("learning rate", False, theme)

    def restyle(self, theme: Theme, colors: Sequence[str]) -> None:
        """One pen per run in its colour, in every plot."""
        for p in self.series_plots():
            p.restyle(theme, colors)

    def show_upto(
        self, i: int, visible: Sequence[bool], budget: list[int], rough: bool = False
    ) -> None:
        """Draw every visible run's curves up to step ``i`` (see :meth:`ChunkedCurve.show_upto`).

        Curves of plots not chosen are kept but not drawn.
        """
        on = (True, *self._extra)
        for p, chosen in zip(self.series_plots(), on, strict=True):
            p.set_step(i)
            for k, curve in enumerate(p.run_curves):
                if not (visible[k] if k < len(visible) else True):
                    curve.set_visible(False)
                    continue
                curve.visible = True
                if chosen:
                    curve.show_upto(i, budget, rough)

    def set_extra(self, grad_norm: bool, lr: bool) -> None:
        """Choose the ‖∇f‖ and learning-rate plots beside the loss plot."""
        extra = (bool(grad_norm), bool(lr))
        if extra != self._extra:
            self._extra = extra
            self._lay_out()

    def set_theme(self, theme: Theme) -> None:
        """Background, axes and fonts of ``theme`` (the stacking threshold follows the font)."""
        self.theme = theme
        self.view.setBackground(color(theme.background))
        for p in self.series_plots():
            p.set_theme(theme)
        self._lay_out()

    def set_margins(self, *, left: int | None = None, top: int | None = None) -> None:
        """Keep ``left`` pixels free at the left and ``top`` above the legend (plus 4 px).

        None keeps what was set before.
        """
        self._left = self._left if left is None else max(0, int(left))
        self._top = self._top if top is None else max(0, int(top))
        margins = (4 + self._left, 4 + self._top, 4, 4)
        if margins != self._margins:
            self._margins = margins
            self.view.ci.setContentsMargins(*margins)
            # Fit the layout to the view again: squeezed below its minimum (a
            # tall card over a short view) it grew past the view's bottom, and
            # nothing set it back when the room came back.
            self.view.ci.setGeometry(self.view.range)
            self._lay_out()

    # ------------------------------------------------------------ layout
    def needed_height(self) -> int:
        """Pixels of height the legend and one readable plot need (besides a top margin)."""
        axis = self.loss.getAxis("bottom").minimumHeight()
        return int(self.legend.minimumHeight() + axis + min_plot_height(self.theme) + 16)

    def needed_width(self, plot_width: int) -> int:
        """The column's width at which the loss plot's area is ``plot_width`` pixels wide."""
        box = self.loss.getViewBox()
        chrome = self.width() - box.width() if box.width() > 0 else 0
        return int(plot_width + max(chrome, 0))

    def fits_stacked(self, height: float | None = None) -> bool:
        """Whether the chosen plots fit stacked into a column ``height`` pixels tall."""
        plots = self.plots()
        if len(plots) == 1:
            return True
        h = float(self.height() if height is None else height)
        top, bottom = (self._margins or (4, 4, 4, 4))[1], 4
        axis = self.loss.getAxis("bottom").minimumHeight()  # each plot's step axis
        room = h - top - bottom - self.legend.minimumHeight()
        return room / len(plots) - axis - PLOT_SPACING >= min_plot_height(self.theme)

    def _lay_out(self) -> None:
        plots = self.plots()
        stacked = self.fits_stacked()
        names = [p.title for p in plots]
        if stacked or len(plots) == 1:
            shown = tuple(plots)
        else:
            self._set_tabs(names)
            shown = (plots[min(max(self.tabs.currentIndex(), 0), len(plots) - 1)],)
        self.tabs.setVisible(not stacked and len(plots) > 1)
        if stacked == self._stacked and shown == self._shown:
            return
        self._stacked, self._shown = stacked, shown
        layout = self.view.ci
        layout.clear()
        layout.addItem(self.legend, row=0, col=0)
        for r, p in enumerate(shown):
            layout.addItem(p, row=r + 1, col=0)
        for p in (self.loss, self.gnorm, self.lr):
            p.setVisible(p in shown)
        layout.setGeometry(self.view.range)

    def _set_tabs(self, names: list[str]) -> None:
        if [self.tabs.tabText(i) for i in range(self.tabs.count())] == names:
            return
        current = self.tabs.tabText(self.tabs.currentIndex()) if self.tabs.count() else ""
        self.tabs.blockSignals(True)
        while self.tabs.count():
            self.tabs.removeTab(0)
        for name in names:
            self.tabs.addTab(name)
        self.tabs.setCurrentIndex(names.index(current) if current in names else 0)
        self.tabs.blockSignals(False)

    def resizeEvent(self, ev: Any) -> None:
        super().resizeEvent(ev)
        self._lay_out()
