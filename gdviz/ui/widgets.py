"""Small layout pieces that keep the desk window usable at every text size.

* :class:`ElidedLabel`: one line of plain text cut with "…" to the width it is
  given; the whole text stays in :meth:`ElidedLabel.text` and the tooltip.
* :class:`ColumnsLayout`: items in equal columns, as many as fit the width (a
  row of buttons becomes two rows when the text grows, instead of being cut).
* :class:`SideScrollArea`: a vertical scroll area that is never narrower than
  what its content needs, so nothing in it is cut at the right edge; the
  wheel scrolls it, and changes a field in it only when that field has focus
  (:class:`WheelGuard`).
"""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QObject, QRect, QSize, Qt
from PySide6.QtGui import QMouseEvent, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLayout,
    QLayoutItem,
    QScrollArea,
    QSizePolicy,
    QStyle,
    QWidget,
)

__all__ = [
    "ColumnsLayout",
    "ElidedLabel",
    "SideScrollArea",
    "WheelGuard",
    "rich_tooltip",
]


def rich_tooltip(text: str) -> str:
    """``text`` as a tooltip that wraps (Qt wraps rich text only) and shows no markup."""
    return f"<p>{html.escape(text)}</p>" if text else ""


class ElidedLabel(QLabel):
    """A one-line plain-text label that elides to its width instead of widening the window.

    :meth:`text` always returns the whole text; the tooltip carries it while
    the label shows it cut. With ``expandable``, a click on a cut label shows
    the whole text wrapped over as many lines as it needs, and a second click
    folds it back to one line.

    Parameters
    ----------
    text
        The text (plain: markup is shown as typed).
    expandable
        Whether a click unfolds the whole text.
    parent
        The parent widget.
    """

    def __init__(
        self, text: str = "", *, expandable: bool = False, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self._full = ""
        self._expandable = expandable
        self._expanded = False
        self._elided = False
        self._tip: str | None = None
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setText(text)

    # -- the text
    def text(self) -> str:  # type: ignore[override]
        """The whole text, however much of it is shown."""
        return self._full

    def setText(self, text: str) -> None:  # type: ignore[override]
        self._full = str(text)
        self._refresh()
        self.updateGeometry()

    def set_tip(self, tip: str | None, *, preformatted: bool = False) -> None:
        """A tooltip to show always (plain text), instead of the whole text when cut; None: that.

        ``preformatted`` keeps its spaces and line breaks (a caret under a column).
        """
        self._tip = (
            None
            if tip is None
            else (f"<pre>{html.escape(tip)}</pre>" if preformatted else rich_tooltip(tip))
        )
        self._refresh()

    def is_elided(self) -> bool:
        """Whether the label shows less than its whole text now."""
        return self._elided

    def is_expanded(self) -> bool:
        return self._expanded

    def set_expanded(self, expanded: bool) -> None:
        """Show the whole text wrapped (True) or one elided line (False)."""
        expanded = bool(expanded) and self._expandable
        if expanded == self._expanded:
            return
        self._expanded = expanded
        self.setWordWrap(expanded)
        self._refresh()
        self.updateGeometry()

    def _one_line(self) -> str:
        return " ".join(self._full.split("\n"))

    def _refresh(self) -> None:
        if self._expanded:
            shown = self._full
            self._elided = False
        else:
            room = max(self.contentsRect().width(), 0)
            line = self._one_line()
            shown = self.fontMetrics().elidedText(line, Qt.TextElideMode.ElideRight, room)
            self._elided = shown != line
        if super().text() != shown:
            super().setText(shown)
        if self._tip is not None:
            self.setToolTip(self._tip)
        else:
            self.setToolTip(rich_tooltip(self._full) if self._elided or self._expanded else "")
        cut = self._expandable and (self._elided or self._expanded)
        if cut:
            self.setCursor(Qt.CursorShape.PointingHandCursor)
        else:
            self.unsetCursor()

    # -- sizes: the whole line is preferred, a few characters are enough
    def sizeHint(self) -> QSize:
        if self._expanded:
            return super().sizeHint()
        fm = self.fontMetrics()
        m = self.contentsMargins()
        width = fm.horizontalAdvance(self._one_line()) + m.left() + m.right() + 2
        return QSize(width, fm.height() + m.top() + m.bottom())

    def minimumSizeHint(self) -> QSize:
        if self._expanded:
            return super().minimumSizeHint()
        fm = self.fontMetrics()
        m = self.contentsMargins()
        width = fm.horizontalAdvance("Mmm…") + m.left() + m.right()
        return QSize(min(width, self.sizeHint().width()), fm.height() + m.top() + m.bottom())

    # -- events
    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if not self._expanded:
            self._refresh()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            # A new text size (style sheet or theme): cut again and ask for room again.
            self._refresh()
            self.updateGeometry()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if (
            self._expandable
            and event.button() == Qt.MouseButton.LeftButton
            and (self._elided or self._expanded)
        ):
            self.set_expanded(not self._expanded)
            event.accept()
            return
        super().mouseReleaseEvent(event)


class ColumnsLayout(QLayout):
    """Items in columns, as many columns as fit (at most ``max_columns``).

    Reading order is row by row. With ``uniform`` every column is as wide as
    the widest item (check boxes line up); without, a row fits when its items'
    own widths do, and each item gets its width plus an even share of the
    rest (a row of buttons). The layout asks for the height its rows need at a
    given width (height-for-width), so a scroll area or box layout above it
    makes room when the items wrap onto more rows.

    Parameters
    ----------
    max_columns
        The most columns used, however wide the layout is.
    uniform
        Equal columns (True) or items at their own widths (False).
    parent
        The widget the layout manages.
    """

    def __init__(
        self, max_columns: int = 2, uniform: bool = True, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._max = max(1, int(max_columns))
        self._uniform = bool(uniform)
        self.setContentsMargins(0, 0, 0, 0)

    # -- QLayout's item interface
    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)
        self.invalidate()

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # type: ignore[override]
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # type: ignore[override]
        if 0 <= index < len(self._items):
            item = self._items.pop(index)
            self.invalidate()
            return item
        return None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._place(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._place(rect, apply=True)

    # -- sizes
    def _visible(self) -> list[QLayoutItem]:
        return [it for it in self._items if not it.isEmpty()]

    def _gaps(self) -> tuple[int, int]:
        """(between columns, between rows) in pixels."""
        sp = self.spacing()
        if sp < 0:  # the style's default spacing
            parent = self.parentWidget()
            style = parent.style() if parent is not None else None
            sp = style.pixelMetric(QStyle.PixelMetric.PM_LayoutHorizontalSpacing) if style else 6
            sp = sp if sp >= 0 else 6
        return sp, sp

    def _cell(self) -> tuple[int, int]:
        """(hint width, minimum width) of the widest item."""
        items = self._visible()
        hint = max((it.sizeHint().width() for it in items), default=0)
        low = max((it.minimumSize().width() for it in items), default=0)
        return hint, low

    def columns_for(self, width: int) -> int:
        """How many columns the items take at ``width`` pixels (margins included)."""
        n = len(self._visible())
        if n == 0:
            return 1
        m = self.contentsMargins()
        room = width - m.left() - m.right()
        gap, _ = self._gaps()
        if not self._uniform:
            hints = [it.sizeHint().width() for it in self._visible()]
            for cols in range(min(n, self._max), 1, -1):
                rows = [hints[r : r + cols] for r in range(0, n, cols)]
                if all(sum(row) + gap * (len(row) - 1) <= room for row in rows):
                    return cols
            return 1
        cell, _low = self._cell()
        cols = (room + gap) // max(cell + gap, 1)
        return int(max(1, min(cols, n, self._max)))

    def _rows_height(self, cols: int) -> int:
        items = self._visible()
        _, vgap = self._gaps()
        heights = []
        for r in range(0, len(items), cols):
            heights.append(max(it.sizeHint().height() for it in items[r : r + cols]))
        return sum(heights) + vgap * max(len(heights) - 1, 0)

    def sizeHint(self) -> QSize:
        items = self._visible()
        m = self.contentsMargins()
        if not items:
            return QSize(m.left() + m.right(), m.top() + m.bottom())
        cols = min(len(items), self._max)
        gap, _ = self._gaps()
        cell, _ = self._cell()
        if self._uniform:
            w = cols * cell + (cols - 1) * gap + m.left() + m.right()
        else:
            rows = [items[r : r + cols] for r in range(0, len(items), cols)]
            w = max(sum(it.sizeHint().width() for it in row) + gap * (len(row) - 1) for row in rows)
            w += m.left() + m.right()
        return QSize(w, self._rows_height(cols) + m.top() + m.bottom())

    def minimumSize(self) -> QSize:
        items = self._visible()
        m = self.contentsMargins()
        if not items:
            return QSize(m.left() + m.right(), m.top() + m.bottom())
        # One column as narrow as the widest item allows: wrapping never needs more.
        _, low = self._cell()
        return QSize(low + m.left() + m.right(), self._rows_height(1) + m.top() + m.bottom())

    def _place(self, rect: QRect, apply: bool) -> int:
        items = self._visible()
        m = self.contentsMargins()
        if not items:
            return m.top() + m.bottom()
        cols = self.columns_for(rect.width())
        gap, vgap = self._gaps()
        inner = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        cell = max((inner.width() - (cols - 1) * gap) // cols, 1)
        y = inner.y()
        for r in range(0, len(items), cols):
            row = items[r : r + cols]
            h = max(it.sizeHint().height() for it in row)
            if apply and self._uniform:
                for c, it in enumerate(row):
                    x = inner.x() + c * (cell + gap)
                    it.setGeometry(QRect(x, y, cell, h))
            elif apply:
                hints = [it.sizeHint().width() for it in row]
                spare = max(inner.width() - sum(hints) - gap * (len(row) - 1), 0)
                x = inner.x()
                for c, it in enumerate(row):
                    # The spare width in even shares (the last item takes the remainder).
                    share = spare // len(row) + (spare % len(row) if c == len(row) - 1 else 0)
                    w = min(hints[c] + share, inner.right() + 1 - x)
                    it.setGeometry(QRect(x, y, max(w, 1), h))
                    x += w + gap
            y += h + vgap
        return y - vgap - rect.y() + m.bottom()


class WheelGuard(QObject):
    """Lets a spin box, combo box or slider take the wheel only when it has the focus.

    Over a panel that scrolls, a wheel turn meant for the panel changed
    whichever field happened to be under the pointer (3000 steps became
    2990). A guarded field takes focus from a click or Tab, not from the
    wheel (:attr:`Qt.FocusPolicy.StrongFocus`), and hands a wheel turn it
    gets without focus to ``scroll``, which scrolls.

    Parameters
    ----------
    scroll
        The scroll area the fields are in (also the guard's parent).
    """

    #: The widgets whose value a wheel turn changes.
    KINDS = (QAbstractSpinBox, QComboBox, QAbstractSlider)

    def __init__(self, scroll: QAbstractScrollArea) -> None:
        super().__init__(scroll)
        self._scroll = scroll

    def guard(self, widget: QWidget) -> None:
        """Guard ``widget`` (again is harmless)."""
        if widget.property("wheelGuarded"):
            return
        widget.setProperty("wheelGuarded", True)
        if widget.focusPolicy() != Qt.FocusPolicy.NoFocus:
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        widget.installEventFilter(self)

    def guard_all(self, root: QWidget) -> None:
        """Guard every field of :attr:`KINDS` inside ``root``, and those made in it later.

        Every other widget inside is watched for new children (a run's
        settings are made when the run is selected); a child is guarded when
        Qt polishes it, before it is first shown.
        """
        for w in (root, *root.findChildren(QWidget)):
            if isinstance(w, self.KINDS):
                self.guard(w)
            elif not w.property("wheelWatched"):
                w.setProperty("wheelWatched", True)
                w.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.ChildPolished:
            child = event.child()  # type: ignore[attr-defined]
            if isinstance(child, QWidget):
                self.guard_all(child)
            return False
        if kind != QEvent.Type.Wheel or not isinstance(obj, self.KINDS) or obj.hasFocus():
            return False
        assert isinstance(event, QWheelEvent)
        # The scroll area gets the turn (its viewport, where its own wheel
        # handling starts) and the field never sees it.
        viewport = self._scroll.viewport()
        turn = QWheelEvent(
            viewport.mapFromGlobal(event.globalPosition()),
            event.globalPosition(),
            event.pixelDelta(),
            event.angleDelta(),
            event.buttons(),
            event.modifiers(),
            event.phase(),
            event.inverted(),
        )
        QApplication.sendEvent(viewport, turn)
        event.accept()
        return True


class SideScrollArea(QScrollArea):
    """A scroll area for side panels: scrolls up and down, never sideways.

    Its minimum width is what its content needs (plus the frame and the
    vertical scroll bar), so a splitter or layout can never squeeze the
    content under the right edge where it could not be reached. It follows the
    content: when a control or the text size changes what the content needs,
    the area asks its parent for the new width.

    The wheel scrolls the area; it changes a spin box, combo box or slider
    in it only when that field has the focus (:class:`WheelGuard`, applied to
    the fields the content has and to those it gains later).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.wheel_guard = WheelGuard(self)

    def setWidget(self, widget: QWidget) -> None:
        super().setWidget(widget)
        widget.installEventFilter(self)
        self.wheel_guard.guard_all(widget)
        self.updateGeometry()

    def _chrome(self) -> int:
        # Frame on both sides, and room for the vertical bar even when it is
        # hidden, so showing it later never pushes the content under it.
        bar = self.verticalScrollBar().sizeHint().width()
        return 2 * self.frameWidth() + bar

    def minimumSizeHint(self) -> QSize:
        base = super().minimumSizeHint()
        w = self.widget()
        if w is None:
            return base
        return QSize(w.minimumSizeHint().width() + self._chrome(), base.height())

    def sizeHint(self) -> QSize:
        base = super().sizeHint()
        w = self.widget()
        if w is None:
            return base
        return QSize(w.sizeHint().width() + self._chrome(), base.height())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()
        return super().eventFilter(watched, event)
