"""The window's plot area, laid out by one rule: the surface is the largest thing on screen.

:class:`PlotsArea` holds the surface (the 2-D/3-D tabs), the loss column, the
side panel and the numbers table, and gives them their room:

* the surface takes the area's whole height on the left and every pixel of
  width its shape can use (a square view window: as wide as it is tall), never
  less than :data:`SURFACE_MIN_SHARE` of the width;
* the loss column and the side panel share what is left, the loss plot never
  narrower than :data:`LOSS_MIN_PLOT_WIDTH`;
* the numbers go under those two, or under everything when their text is too
  wide for that (:data:`NUMBERS_RIGHT_SHARE`).

The split is worked out again after every resize, new view window or text
size (:meth:`PlotsArea.fit`); a splitter the person drags keeps its place
until then.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

__all__ = [
    "LOSS_MIN_PLOT_WIDTH",
    "LOSS_MIN_WIDTH",
    "NUMBERS_RIGHT_SHARE",
    "SIDE_PANEL_WIDTH",
    "SURFACE_MIN_SHARE",
    "SURFACE_SHARE_1D",
    "PlotsArea",
]

#: The side panel's width when its content needs no more (1× text).
SIDE_PANEL_WIDTH = 330
#: The numbers go under the right column while their compact width is at most
#: this share of the plots' width (else under everything, the window's width).
NUMBERS_RIGHT_SHARE = 0.5
#: The loss plots' column is never narrower than this (pixels)…
LOSS_MIN_WIDTH = 230
#: …nor than what leaves the loss plot's area this wide, whatever the text size.
LOSS_MIN_PLOT_WIDTH = 152
#: The surface never gets less than this share of the plots' width.
SURFACE_MIN_SHARE = 0.4
#: A 1-D curve (no fixed shape) gets this share of the plots' width.
SURFACE_SHARE_1D = 0.55


class PlotsArea(QWidget):
    """The surface, the loss column, the side panel and the numbers, sized by rule.

    Parameters
    ----------
    surface
        The surface's widget (the 2-D/3-D tabs).
    scene
        The :class:`~gdviz.ui.scene.Scene` whose loss column and surface
        shape decide the split.
    side
        The side panel (a scroll area).
    numbers
        The numbers table (:class:`~gdviz.ui.stats_table.StatsTable`).
    font_scale
        Returns the current text scale.

    Attributes
    ----------
    body
        The splitter between the surface and the right column.
    splitter
        The splitter between the loss column and the side panel.
    """

    def __init__(
        self, surface: QWidget, scene: Any, side: QWidget, numbers: Any, font_scale: Any
    ) -> None:
        super().__init__()
        self.scene = scene
        self.side = side
        self.numbers = numbers
        self._font_scale = font_scale
        self._loss_key: tuple[int, int, float] | None = None
        self._loss_floor = 0
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(scene.column)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)  # widths: fit_side_panel
        right = QWidget()
        self._right = QVBoxLayout(right)
        self._right.setContentsMargins(0, 0, 0, 0)
        self._right.addWidget(self.splitter, 1)
        # The numbers, as tall as their rows (StatsTable.sizeHint).
        self._right.addWidget(numbers)
        self.body = QSplitter(Qt.Orientation.Horizontal)
        self.body.setChildrenCollapsible(False)
        self.body.addWidget(surface)
        self.body.addWidget(right)
        self.body.setStretchFactor(0, 1)
        self.body.setStretchFactor(1, 0)
        self._outer = QVBoxLayout(self)
        self._outer.setContentsMargins(0, 0, 0, 0)
        self._outer.setSpacing(4)
        self._outer.addWidget(self.body, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(20)  # after the layout the change started
        self._timer.timeout.connect(self.fit)
        # Axes that grow with the text or the tick labels change what each
        # column needs: measured again once the plots have their new size.
        for plot in (scene.surface, scene.loss_plot):
            plot.getViewBox().sigResized.connect(lambda *_: self._timer.start())

    def refit_soon(self) -> None:
        """Work the split out again once the layout has settled (a new view window, a toggle)."""
        self._timer.start()

    def refit_now(self) -> None:
        """Work the split out and lay it out at once (a new text size: the numbers may move)."""
        self.fit_side_panel()
        self.fit()
        self.layout().activate()
        self._timer.start()

    def fit_side_panel(self) -> None:
        """Split the right column's width between the loss plots and the side panel.

        The panel gets the width its content prefers, from its 1× width up to
        that times the square root of the text scale (it grows less than the
        text: the plots matter more), as long as the loss plots keep their
        least width. It never gets less than its content's minimum, so every
        control stays reachable whatever the splitter is dragged to.
        """
        if self.splitter.isVisible():
            total = sum(self.splitter.sizes())
        else:  # not laid out yet: what fit will leave the right column
            total = self._right_width()
        cap = round(SIDE_PANEL_WIDTH * max(1.0, self._font_scale()) ** 0.5)
        want = max(SIDE_PANEL_WIDTH, min(self.side.sizeHint().width(), cap))
        room = total - self._loss_min()
        side = max(self.side.minimumSizeHint().width(), min(want, room))
        self.splitter.setSizes([max(total - side, 1), side])

    def fit(self) -> None:
        """Give the surface the width its plot needs to fill the height, the rest to the right."""
        sizes = self.body.sizes()
        total = sum(sizes)
        if total <= 0 or not self.body.isVisible():
            return
        self._place_numbers(total)
        change = self.scene.surface_width_change()
        want = round(total * SURFACE_SHARE_1D) if change is None else sizes[0] + change
        least = round(total * SURFACE_MIN_SHARE)
        most = max(least, total - self._right_width())
        surface = max(least, min(want, most))
        if abs(surface - sizes[0]) > 1:
            self.body.setSizes([surface, total - surface])
            if self.side.isVisible():
                self.fit_side_panel()

    def numbers_below(self) -> bool:
        """Whether the numbers span the whole width under the plots (large text)."""
        return self._outer.indexOf(self.numbers) >= 0

    def _place_numbers(self, total: int) -> None:
        """The numbers under the right column, or under everything when too wide for it."""
        below = self.numbers.needed_width(compact=True) > NUMBERS_RIGHT_SHARE * total
        if below == self.numbers_below():
            return
        if below:
            self._outer.addWidget(self.numbers)
        else:
            self._right.addWidget(self.numbers)

    def _right_width(self) -> int:
        """The least the right column needs: the numbers whole, the loss plots and the panel."""
        shown = self.side.isVisibleTo(self)
        side = self.side.minimumSizeHint().width() if shown else 0
        # The table gives up the position's last digits first: the surface's
        # width matters more.
        beside = not self.numbers_below() and self.numbers.isVisibleTo(self)
        numbers = self.numbers.needed_width(compact=True) if beside else 0
        handle = self.splitter.handleWidth() if side else 0
        loss = self._loss_min()
        return max(numbers, loss + handle + max(side, SIDE_PANEL_WIDTH if side else 0))

    def _loss_min(self) -> int:
        """The loss column's least width; it only grows while the area and text keep their size.

        What the column needs depends on its axis labels, which depend on its
        height, which the legend's wrapping (and so the width) changes: a
        width that could also shrink again made the split swing back and forth.
        """
        key = (self.width(), self.height(), self._font_scale())
        if key != self._loss_key:
            self._loss_key, self._loss_floor = key, 0
        need = max(LOSS_MIN_WIDTH, self.scene.column.needed_width(LOSS_MIN_PLOT_WIDTH))
        self._loss_floor = max(self._loss_floor, need)
        return self._loss_floor

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._timer.start()
