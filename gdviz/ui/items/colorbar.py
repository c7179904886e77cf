"""The colour bar beside the heat-map, with an axis as wide as its labels need."""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetricsF

from gdviz.ui.items.drawing import color, plain_ticks
from gdviz.ui.theme import DARK, Theme

__all__ = ["ColourBar"]


class ColourBar(pg.ColorBarItem):
    """pyqtgraph's colour bar, fitted to the theme's fonts and to the plot beside it.

    pyqtgraph gives the bar's axis a fixed 45 px, so at larger fonts the
    rotated title sat on the tick labels; :meth:`fit_axis` measures the width
    the labels and the title need. :meth:`fit_bottom` ends the bar where the
    plot area beside it ends, not below its x axis.
    """

    def __init__(self) -> None:
        super().__init__(
            values=(0, 1), colorMap=pg.colormap.get("viridis"), interactive=False, width=16
        )
        self.theme = DARK
        self._title: str | None = None  # none set on the axis yet
        self._width = 0  # the axis width so far (see fit_axis)

    def set_theme(self, theme: Theme) -> None:
        """Axis colours and tick font of ``theme``; the width is measured afresh."""
        self.theme = theme
        self._width = 0
        axis = self.axis
        axis.setPen(color(theme.foreground))
        axis.setTextPen(color(theme.foreground))
        font = QFont()
        font.setPointSizeF(theme.font_pt * 0.85)
        axis.setTickFont(font)
        plain_ticks(axis)
        self.set_title(self._title or "f", force=True)

    def set_title(self, title: str, *, force: bool = False) -> None:
        """The axis title (what the colours stand for), in the theme's title font."""
        if title == self._title and not force:
            return
        self._title = title
        t = self.theme
        self.axis.setLabel(title, color=t.foreground, **{"font-size": f"{t.font_pt:.1f}pt"})
        self.fit_axis()

    def show_levels(self, cmap: Any, lo: float, hi: float, title: str) -> None:
        """Show ``cmap`` from ``lo`` to ``hi`` under ``title``."""
        self.setColorMap(cmap)
        self.setLevels((lo, hi))
        self.set_title(title)
        self.fit_axis()

    def fit_bottom(self, margin: float) -> None:
        """Leave ``margin`` pixels free below the bar (the height of the plot's x axis)."""
        if self.getContentsMargins()[3] != margin:
            self.setContentsMargins(0, 0, 0, margin)

    def fit_axis(self) -> None:
        """Make the axis as wide as its widest tick label plus its title.

        The width is measured from the tick strings pyqtgraph draws for the
        current levels (at a short bar and at the bar's height) in the tick
        font, plus the title's height.

        Within a theme the width only grows. Any change of it resizes the
        surface plot, and a resized plot re-renders the cached picture of
        every trail chunk in one paint (over 100 ms with 8 runs of 5,000
        steps): typing a function whose labels are a little narrower must not
        cost that. A few pixels of spare room after the labels are harmless.
        """
        axis = self.axis
        lo, hi = (float(v) for v in self.levels())
        font = axis.style.get("tickFont") or QFont()
        fm = QFontMetricsF(font)
        text = 0.0
        if hi > lo and math.isfinite(lo) and math.isfinite(hi):
            # Text goes on the first two tick levels at most (pyqtgraph's
            # textFillLimits leave finer levels bare on a bar this tall).
            tall = max(float(self.height()), 400.0)
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
        width = max(math.ceil(width + 2 * self.theme.font_scale), self._width)
        self._width = width
        if width != axis.fixedWidth:
            axis.setWidth(width)
