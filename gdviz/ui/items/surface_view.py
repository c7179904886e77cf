"""The surface view: the surface plot and its colour bar, shaped to their view window."""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal

from gdviz.ui.items.colorbar import ColourBar
from gdviz.ui.items.drawing import color, set_labels, style_plot
from gdviz.ui.theme import Theme

__all__ = ["MAX_EQUAL_ASPECT", "SurfaceView", "equal_aspect"]

#: The 2-D plot keeps one unit as long on x as on y while its view window is
#: at most this many times longer one way than the other (see :func:`equal_aspect`).
MAX_EQUAL_ASPECT = 4.0


def equal_aspect(domain: tuple[tuple[float, float], ...]) -> float | None:
    """The shape (width / height) a plot of ``domain`` needs for equal units, or None.

    None for a 1-D window, and for one much longer one way than the other
    (more than :data:`MAX_EQUAL_ASPECT`): it would be a sliver, and then x and
    y are not the same kind of quantity, so each fills its side.
    """
    if len(domain) < 2:
        return None
    (x0, x1), (y0, y1) = domain[0], domain[1]
    aspect = (x1 - x0) / (y1 - y0)  # of the view window, in data units
    return aspect if 1.0 / MAX_EQUAL_ASPECT <= aspect <= MAX_EQUAL_ASPECT else None


class SurfaceView(pg.GraphicsLayoutWidget):
    """The surface plot with the colour bar beside it.

    With an aspect set (:meth:`set_aspect`), the plot area takes the shape of
    its view window, so one unit is as long on x as on y: without it a round
    bowl was drawn as an ellipse, a ravine looked half as narrow as it is,
    and −∇f arrows did not meet the contour lines at right angles. The room
    the shape leaves is shared out as margin around the plot; the view box
    also keeps x and y locked together while a person zooms and pans.

    Signals
    -------
    picked(QPointF)
        A left click inside the plot area, in data coordinates.
    """

    picked = Signal(QPointF)

    def __init__(self) -> None:
        super().__init__()
        self.plot = pg.PlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.colorbar = ColourBar()
        self.addItem(self.plot, row=0, col=0)
        self.addItem(self.colorbar, row=0, col=1)
        self._gap = 0  # room kept free at the right, towards the loss view
        self._aspect: float | None = None
        self._room = (0, 0)  # margin that gives the plot its shape
        self._margins: tuple[int, ...] | None = None
        self._set_margins()
        self.plot.getAxis("bottom").geometryChanged.connect(self.fit_colorbar)
        self.plot.getViewBox().sigResized.connect(lambda *_: self.fit_aspect())
        self.scene().sigMouseClicked.connect(self._clicked)

    def set_theme(self, theme: Theme) -> None:
        """Background, axes and colour bar in ``theme``."""
        self.setBackground(color(theme.background))
        style_plot(self.plot, theme)
        self.colorbar.set_theme(theme)
        self.fit_colorbar()

    def set_axis_titles(self, names: tuple[str, ...], value: str, theme: Theme) -> None:
        """Title the axes by the variables' ``names`` (a 1-D graph: ``value(x)`` up the side)."""
        if len(names) == 1:
            set_labels(self.plot, theme, bottom=names[0], left=f"{value}({names[0]})")
        else:
            set_labels(self.plot, theme, bottom=names[0], left=names[1] if len(names) > 1 else "")

    def set_gap(self, pixels: int) -> None:
        """Keep ``pixels`` free at the right edge (between this view and the next)."""
        self._gap = int(pixels)
        self._set_margins()

    def set_aspect(self, aspect: float | None, *, fit: bool = True) -> None:
        """Shape the plot area ``aspect`` wide per unit of height (None: fill the view).

        With ``fit=False`` the shape is taken at the next resize (or :meth:`fit_aspect`).
        """
        self._aspect = aspect
        if fit:
            self.fit_aspect()

    def fit_aspect(self) -> None:
        """Give the plot area the shape set with :meth:`set_aspect`."""
        vb = self.plot.getViewBox()
        if vb.width() < 1 or vb.height() < 1:
            return  # not laid out yet: nothing to give a shape to
        ex, ey = self._room
        width, height = vb.width() + ex, vb.height() + ey  # the room without the margin
        aspect, room = self._aspect, (0, 0)
        if aspect is not None:
            if width / height > aspect:
                room = (round(width - height * aspect), 0)
            else:
                room = (0, round(height - width / aspect))
        vb.setAspectLocked(aspect is not None, 1.0)  # does nothing when already so
        if room != self._room:
            self._room = room
            self._set_margins()

    def wanted_width_change(self) -> int | None:
        """Pixels of width to add (negative: to give away) for the plot to fill the height.

        With a fixed shape (:meth:`set_aspect`) the plot area is as tall as the
        view only at one width; a layout uses this to give the surface exactly
        that width. None without a fixed shape; 0 before the first layout.
        """
        vb = self.plot.getViewBox()
        if self._aspect is None:
            return None
        if vb.width() < 1 or vb.height() < 1:
            return 0
        ex, ey = self._room
        return round((vb.height() + ey) * self._aspect - (vb.width() + ex))

    def fit_colorbar(self) -> None:
        """End the colour bar where the plot area ends, not below the x axis.

        Called again whenever the x axis changes height: it grows when its
        title is set and when it first measures its tick labels.
        """
        self.colorbar.fit_bottom(self.plot.getAxis("bottom").height())

    def _set_margins(self) -> None:
        ex, ey = self._room
        lo_x, lo_y = ex // 2, ey // 2
        margins = (4 + lo_x, 4 + lo_y, 4 + self._gap + ex - lo_x, 4 + ey - lo_y)
        if margins != self._margins:
            self._margins = margins
            self.ci.setContentsMargins(*margins)
            # Laid out now, not in a later turn: the range set next (a new
            # view window) is then shown exactly, never first stretched to
            # the old shape.
            self.ci.layout.activate()

    def _clicked(self, ev: Any) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or ev.double():
            return
        vb = self.plot.getViewBox()
        if vb.sceneBoundingRect().contains(ev.scenePos()):
            p = vb.mapSceneToView(ev.scenePos())
            if math.isfinite(p.x()) and math.isfinite(p.y()):
                self.picked.emit(p)
