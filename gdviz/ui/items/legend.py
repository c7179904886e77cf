"""The run legend: a line in each run's colour and its name, above the loss plot."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy

from gdviz.core.colors import run_color
from gdviz.ui.items.drawing import color, pen
from gdviz.ui.theme import Theme

__all__ = ["RunLegend"]


class RunLegend(pg.GraphicsWidget):
    """Run names, each after a short line in its colour, in as many columns as fit.

    It sits in the layout above the loss plot, never on it: every corner of a
    loss plot can hold data (diverging runs climb to the upper right, slow ones
    stay along the top, converging ones fall to the lower right), and a box
    over the curves hides exactly what a class is asked to look at. Text is
    painted as plain text (run names may come from files and contain ``<``),
    and a name too long for the width is elided, so the legend never widens
    the plot's column.
    """

    def __init__(self) -> None:
        super().__init__()
        self._entries: list[tuple[QPen, str]] = []
        self._notes: list[str | None] = []  # a second line under each name, if any
        self._widest_note = ""
        self._inline = False  # notes after the names (True) or under them
        self._font = QFont()
        self._text = QColor("#000000")
        self._scale = 1.0
        self._cols = 1
        self._width = 0.0
        self._key: tuple | None = None  # what show_runs last showed
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(0)
        self.setPreferredWidth(0)
        self._fit(0.0)

    def set_entries(
        self,
        entries: Sequence[tuple[QPen, str]],
        font: QFont,
        text: QColor,
        scale: float,
        notes: Sequence[str | None] = (),
        widest_note: str = "",
    ) -> None:
        """Show ``(pen, name)`` entries in ``font`` and ``text`` colour (sizes times ``scale``).

        ``notes`` (one per entry, None for none) go on a second line under the
        names; with any note every entry takes two lines, and the columns are
        as wide as ``widest_note`` needs too, so the legend's size does not
        change as notes come and go (a new size would move the loss plot).
        """
        self._widest_note = widest_note
        self._entries = list(entries)
        self._notes = [notes[i] if i < len(notes) else None for i in range(len(self._entries))]
        if not any(self._notes):
            self._notes = []
        self._font = QFont(font)
        self._text = QColor(text)
        self._scale = float(scale)
        self._fit(self.size().width())

    def show_runs(
        self,
        theme: Theme,
        colors: Sequence[str],
        labels: Sequence[str],
        visible: Sequence[bool],
        notes: Sequence[str | None],
        n_steps: int,
    ) -> None:
        """One entry per visible run: a line in its colour, its label, its note if any.

        Nothing is laid out again when nothing changed. The columns keep room
        for the longest note a run of ``n_steps`` can get ("converged at 5000").
        """
        widest = "converged at " + "0" * len(str(max(n_steps, 0)))
        key = (theme, tuple(colors), tuple(labels), tuple(visible), tuple(notes), widest)
        if key == self._key:
            return  # unchanged: setting the entries lays the legend out again
        self._key = key
        entries, shown_notes = [], []
        for k, label in enumerate(labels):
            if k >= len(visible) or visible[k]:
                c = colors[k] if k < len(colors) else run_color(k)
                entries.append((pen(c, max(2.0, theme.line_px)), label))
                shown_notes.append(notes[k] if k < len(notes) else None)
        font = QFont()
        font.setPointSizeF(theme.font_pt * 0.9)
        self.set_entries(
            entries, font, color(theme.foreground), theme.font_scale, shown_notes, widest
        )

    def entries(self) -> list[str]:
        """The names shown, in order."""
        return [name for _pen, name in self._entries]

    def notes(self) -> list[str | None]:
        """The second lines under the names (empty: one line per entry)."""
        return list(self._notes)

    _SEP = " — "  # between a name and its note on one line

    def _lines(self) -> int:
        return 2 if self._notes and not self._inline else 1

    # Sizes in pixels: line sample, gap after it, gap between columns, margin.
    def _sizes(self) -> tuple[float, float, float, float, float]:
        s = self._scale
        fm = QFontMetricsF(self._font)
        return 18.0 * s, 5.0 * s, 14.0 * s, 2.0 * s, fm.height()

    def _cell_width(self, inline: bool) -> float:
        sample, gap, _col_gap, _margin, _h = self._sizes()
        fm = QFontMetricsF(self._font)
        text = max((fm.horizontalAdvance(name) for _pen, name in self._entries), default=0.0)
        if not self._notes:
            return sample + gap + text
        note = max((fm.horizontalAdvance(n) for n in self._notes if n), default=0.0)
        note = max(note, fm.horizontalAdvance(self._widest_note))
        if inline:
            return sample + gap + text + fm.horizontalAdvance(self._SEP) + note
        return sample + gap + max(text, note)

    def _fit(self, width: float) -> None:
        """Choose the columns for ``width`` and take the height their rows need.

        Notes go after the names on the same line when the longest name and
        the widest note fit there, else on a line of their own; either way the
        choice does not depend on which notes are shown.
        """
        _sample, _gap, col_gap, margin, line = self._sizes()
        n = len(self._entries)
        self._width = width
        self._inline = bool(self._notes) and self._cell_width(True) <= width - 2 * margin
        if n == 0:
            height = 0.0
        else:
            cell = self._cell_width(self._inline)
            self._cols = max(1, min(n, int((width - 2 * margin + col_gap) // (cell + col_gap))))
            height = math.ceil(n / self._cols) * line * self._lines() + 2 * margin
        height = float(math.ceil(height))
        if self.minimumHeight() != height or self.maximumHeight() != height:
            self.setMinimumHeight(height)
            self.setMaximumHeight(height)
            self.updateGeometry()
        self.update()

    def resizeEvent(self, ev: Any) -> None:
        super().resizeEvent(ev)
        if ev.newSize().width() != self._width:
            self._fit(ev.newSize().width())

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.size().width(), self.size().height())

    def paint(self, p: QPainter, *args: Any) -> None:
        if not self._entries:
            return
        sample, gap, col_gap, margin, line = self._sizes()
        width = self.size().width()
        cols = self._cols
        cell = (width - 2 * margin - (cols - 1) * col_gap) / cols
        fm = QFontMetricsF(self._font)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setFont(self._font)
        lines = self._lines()
        for i, (line_pen, name) in enumerate(self._entries):
            row, col = divmod(i, cols)
            x = margin + col * (cell + col_gap)
            y = margin + row * line * lines
            mid = y + line / 2
            p.setPen(line_pen)
            p.drawLine(QPointF(x, mid), QPointF(x + sample, mid))
            p.setPen(self._text)
            room = max(cell - sample - gap, 0.0)
            note = self._notes[i] if self._notes else None
            if self._inline and note:
                texts = [f"{name}{self._SEP}{note}"]
            else:
                texts = [name] + ([note or ""] if lines == 2 else [])
            for j, t in enumerate(texts):
                p.drawText(
                    QRectF(x + sample + gap, y + j * line, room + 1, line),
                    int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                    fm.elidedText(t, Qt.TextElideMode.ElideRight, room),
                )
