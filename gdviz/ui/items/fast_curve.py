"""A curve item whose bounding box costs little to ask for."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from gdviz.ui.items.drawing import cached_pixel_size

__all__ = ["FastCurve"]


class FastCurve(pg.PlotCurveItem):
    """A :class:`pyqtgraph.PlotCurveItem` whose bounds cost little to ask for.

    Qt asks every item for its bounding box several times a frame, and again
    for every item after each zoom or resize; pyqtgraph answers from
    ``nanmin``/``nanmax`` recomputed after every view change, plus pixel
    vectors measured per item. Here the data's min/max are computed once per
    data set (they do not depend on the view) and the pixel padding comes
    from the view box's pixel size, shared by all items in it
    (:func:`~gdviz.ui.items.drawing.cached_pixel_size`).

    The bounding box is cached here, not in pyqtgraph's own cache: it is
    dropped in :meth:`invalidateBounds`, which pyqtgraph calls whenever the
    data, pen, brush, fill level or view transform change.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._extent: tuple[tuple[float, float], tuple[float, float]] | None = None
        self._extent_valid = False
        self._bounds: QRectF | None = None
        super().__init__(*args, **kwargs)

    def updateData(self, *args: Any, **kwargs: Any) -> None:
        """New data (pyqtgraph's ``setData``): the data bounds are measured again."""
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

    def invalidateBounds(self) -> None:
        """Forget the bounding box (pyqtgraph calls this after any change that moves it)."""
        self._bounds = None
        super().invalidateBounds()

    def setClickable(self, s: bool, width: float | None = None) -> None:
        """As pyqtgraph's; a new click width also changes the bounding box."""
        self._bounds = None
        super().setClickable(s, width)

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
        """The data's range along ``ax`` (pyqtgraph's answer for partial ranges)."""
        if frac != 1.0 or orthoRange is not None:
            return super().dataBounds(ax, frac, orthoRange)
        extent = self._full_extent()
        return (None, None) if extent is None else extent[ax]

    def boundingRect(self) -> QRectF:
        """The data's extent plus the pen's padding, in data coordinates."""
        if self._bounds is None:
            extent = self._full_extent()
            if extent is None:
                return QRectF()
            (x0, x1), (y0, y1) = extent
            pad = self.pixelPadding()
            vb = self.getViewBox() if pad > 0 else None
            if not (isinstance(vb, pg.ViewBox) and self.parentItem() is vb.childGroup):
                return super().boundingRect()
            px = cached_pixel_size(vb)
            dx, dy = (0.0, 0.0) if px is None else (px[0] * pad, px[1] * pad)
            self._bounds = QRectF(x0 - dx, y0 - dy, x1 - x0 + 2 * dx, y1 - y0 + 2 * dy)
        return self._bounds
