"""The step caption: "step 12 · f = x^2 + 3y^2" in a corner of the plot.

A paused projector or a clip in a slide then says where it is. The same item
is drawn by the window (presentation mode turns it on) and by the exporter
(on by default), because both draw the one :class:`~gdviz.ui.scene.Scene`.

The function is text a person typed (or a file held), so it is drawn as plain
text with ``QPainter.drawText``, never through a rich-text label: pyqtgraph's
``LabelItem``/``TextItem.setHtml`` would interpret ``<b>`` or ``&lt;``.
"""

from __future__ import annotations

import re
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen

from gdviz.ui.theme import DARK, Theme

__all__ = ["StepCaption", "caption_text", "function_label"]

#: Longest function text kept before eliding (a pasted novel stays one line).
MAX_FUNCTION_CHARS = 500
_SPACE = re.compile(r"\s+")


def function_label(text: str, value_name: str = "f") -> str:
    """``"f = x^2 + 3y^2"``; for a loss over data (``value_name`` ``"L"``) the
    mean of the per-sample text: ``"L = mean of (w*x + b - y)^2"``.

    Line breaks, tabs and runs of spaces become single spaces and control
    characters are dropped, so the caption stays one line whatever was typed.
    """
    clean = "".join(c for c in str(text) if c.isprintable() or c.isspace())
    clean = _SPACE.sub(" ", clean).strip()[:MAX_FUNCTION_CHARS]
    if value_name == "f":
        return f"f = {clean}"
    return f"{value_name} = mean of {clean}"


def caption_text(step: int, label: str) -> str:
    """``"step 12 · f = x^2 + 3y^2"`` (``label`` from :func:`function_label`)."""
    return f"step {int(step)} · {label}" if label else f"step {int(step)}"


class StepCaption(pg.GraphicsWidgetAnchor, pg.GraphicsWidget):
    """One line of plain text on a translucent box, anchored in a view's corner.

    Hidden until shown (``setVisible(True)``). The text is elided in the
    middle of the function when the view is too narrow for it, so the step
    number always shows. In a view too small to hold it beside the plot (a
    thumbnail-sized export) nothing is drawn: it would cover the picture.
    """

    #: Pixels between the caption and the view's edge, and inside the box.
    MARGIN = 6.0
    PADDING = 4.0

    def __init__(self) -> None:
        pg.GraphicsWidget.__init__(self)
        pg.GraphicsWidgetAnchor.__init__(self)
        self.setZValue(100)  # over paths and markers
        self._step = 0
        self._label = ""
        self._shown = ""
        self._font = QFont()
        self._text = QColor(DARK.foreground)
        self._box = QColor(DARK.background)
        self._corner = (0.0, 1.0)
        self.set_theme(DARK)
        self.setVisible(False)

    # ------------------------------------------------------------ content
    def set_function(self, text: str, value_name: str = "f") -> None:
        """The function the caption names (plain text)."""
        self._label = function_label(text, value_name) if text else ""
        self._relayout()

    def set_step(self, step: int) -> None:
        """The step the caption names."""
        step = int(step)
        if step != self._step:
            self._step = step
            self._relayout()

    def text(self) -> str:
        """The whole caption, e.g. ``"step 12 · f = x^2 + 3y^2"``."""
        return caption_text(self._step, self._label)

    def shown_text(self) -> str:
        """What is drawn: :meth:`text`, elided if the view is too narrow ("" if far too small)."""
        return self._shown

    def set_theme(self, theme: Theme) -> None:
        """Plot text colour on a box of the plot background, sized with the theme's text."""
        self._font = QFont()
        self._font.setPointSizeF(theme.font_pt)
        self._text = QColor(theme.foreground)
        self._box = QColor(theme.background)
        self._box.setAlpha(215)  # the heat-map shows through a little
        self._relayout()

    # ------------------------------------------------------------ placement
    def attach(self, view: pg.ViewBox, corner: tuple[float, float] = (0.0, 1.0)) -> None:
        """Put the caption in ``view``'s ``corner`` ((0, 1): bottom left; (1, 0): top right)."""
        self._corner = (float(corner[0]), float(corner[1]))
        self.setParentItem(view)
        view.geometryChanged.connect(self._relayout)
        self._relayout()

    def _room(self) -> tuple[float, float]:
        """Width the text may take, and the height of the view."""
        parent = self.parentItem()
        if parent is None:
            return 1e6, 1e6
        rect = parent.boundingRect()
        return max(rect.width() - 2 * self.MARGIN - 2 * self.PADDING, 20.0), rect.height()

    def _relayout(self) -> None:
        fm = QFontMetricsF(self._font)
        full = self.text()
        room, height = self._room()
        shown = full
        # "step 1000 · f = x^2 …" in at most two thirds of the view's width
        # and a quarter of its height, or the caption would hide the plot.
        least = fm.horizontalAdvance(caption_text(1000, "f = x^2 …"))
        if room < 1.5 * least or height < 4 * (fm.height() + 2 * self.PADDING):
            shown = ""
        elif fm.horizontalAdvance(full) > room:
            # Keep "step N · " whole and elide the function.
            head = caption_text(self._step, "")
            rest = full[len(head) :]
            left = max(room - fm.horizontalAdvance(head), 0.0)
            shown = head + fm.elidedText(rest, Qt.TextElideMode.ElideMiddle, left)
        self._shown = shown
        pad = self.PADDING
        width = min(fm.horizontalAdvance(shown), room) + 2 * pad
        self.prepareGeometryChange()
        self.resize(width + 1, fm.height() + 2 * pad)
        if self.parentItem() is not None:
            x, y = self._corner
            m = self.MARGIN
            self.anchor(itemPos=(x, y), parentPos=(x, y), offset=(m - 2 * m * x, m - 2 * m * y))
        self.update()

    # ------------------------------------------------------------ drawing
    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.size().width(), self.size().height())

    def paint(self, p: QPainter, *args: Any) -> None:
        if not self._shown:
            return
        rect = self.boundingRect()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(self._box)
        p.drawRoundedRect(rect, 4, 4)
        p.setPen(QPen(self._text))
        p.setFont(self._font)
        inner = rect.adjusted(self.PADDING, self.PADDING, -self.PADDING, -self.PADDING)
        # drawText with a string is always plain text: no markup is read.
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        p.drawText(inner, int(align), self._shown)
