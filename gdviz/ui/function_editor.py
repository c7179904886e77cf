"""The one-line function editor: debounced validation, error marks, the formulas.

Typing restarts a short timer; when it fires, :attr:`FunctionEditor.textSettled`
carries the text to be compiled (on the worker thread). The window answers with
:meth:`show_ok` (the function and gradient as Unicode mathematics) or
:meth:`show_error` (the message, and a mark on the column it names, drawn in
the line edit itself). The last good function stays on screen until a new one
compiles.

The message takes the place of the note under the formulas while it is
shown, so an error neither moves the plots nor makes the whole window lay
itself out again (which took 40–80 ms at every typo and its fix).

The formulas and the one-line note under them (a preset's description) are
packed into as few lines as the width allows (:func:`pack_lines`): every line
the header takes is a line the plots lose, most of all at 2× text.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from gdviz.ui.widgets import ElidedLabel

__all__ = [
    "DEBOUNCE_MS",
    "FormulaView",
    "FunctionEditor",
    "MarkedLineEdit",
    "caret_line",
    "pack_lines",
]

#: Quiet time after the last keystroke before the text is compiled.
DEBOUNCE_MS = 300


def caret_line(text: str, column: int | None) -> str:
    """The text with a ``^`` under 1-based ``column`` (two lines), or "" without a column."""
    if column is None or column < 1:
        return ""
    column = min(column, len(text) + 1)
    return f"{text}\n{' ' * (column - 1)}^"


def pack_lines(widths: Sequence[int], room: int, gap: int) -> list[list[int]]:
    """Columns (lists of line indices) that show lines of ``widths`` in ``room`` pixels.

    All lines side by side in one row if they fit; else two columns, the
    first holding the first ``k`` lines (the function, say) and the second the
    rest (its gradient), with ``k`` chosen for the fewest rows and, among
    those, the shortest first column; else one line under the other.

    >>> pack_lines([100, 120, 80], 400, 20)
    [[0], [1], [2]]
    >>> pack_lines([100, 120, 80], 300, 20)
    [[0], [1, 2]]
    >>> pack_lines([100, 120, 80], 200, 20)
    [[0, 1, 2]]
    """
    n = len(widths)
    if n <= 1:
        return [list(range(n))]
    if sum(widths) + gap * (n - 1) <= room:
        return [[i] for i in range(n)]
    best: tuple[int, int] | None = None
    for k in range(1, n):
        if max(widths[:k]) + gap + max(widths[k:]) <= room:
            rows = max(k, n - k)
            if best is None or rows < best[0]:
                best = (rows, k)
    if best is not None and best[0] < n:
        k = best[1]
        return [list(range(k)), list(range(k, n))]
    return [list(range(n))]


class FormulaView(QWidget):
    """The formula lines (function, gradient) and an optional note, packed to the width.

    :meth:`text` is the formulas as given (one per line). Lines that do not fit
    even one under the other are cut with "…" (the whole line is in its
    tooltip), so a long function never widens the window. The note goes in
    the space left under the first column when there is some, else on its own
    line below; it is one line, cut to fit (see :class:`ElidedLabel`).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._lines: list[ElidedLabel] = []
        self._line_font: QFont | None = None
        self._note: ElidedLabel | None = None
        self._cover = False  # the note may cover the second column (see set_note)
        self._columns: list[list[int]] = []
        # The tallest height used at this width, font and note: a new function
        # may need fewer rows, but giving them back would move the plots and
        # have the whole window laid out again at every change of function.
        self._floor: tuple[tuple, int] = ((), 0)  # (what it holds for, height)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    # -- content
    def text(self) -> str:
        """The formulas, one per line, as :meth:`setText` was given them."""
        return self._text

    def setText(self, text: str) -> None:
        self._text = str(text)
        raw = self._text.split("\n") if self._text else []
        while len(self._lines) < len(raw):
            label = ElidedLabel(parent=self)
            label.setProperty("role", "math")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            if self._line_font is not None:
                label.setFont(self._line_font)
            label.installEventFilter(self)
            label.show()
            self._lines.append(label)
        for extra in self._lines[len(raw) :]:
            extra.hide()
        self._relayout()

    def lines(self) -> list[ElidedLabel]:
        """The labels showing the formula lines now."""
        n = len(self._text.split("\n")) if self._text else 0
        return self._lines[:n]

    def set_line_font(self, font: QFont) -> None:
        """The font of the formula lines (monospace; the note keeps the panel font)."""
        self._line_font = QFont(font)
        self._floor = ((), 0)
        for label in self._lines:
            label.setFont(self._line_font)
        self._relayout()

    def set_note(self, note: ElidedLabel, *, cover: bool = False) -> None:
        """Show ``note`` with the formulas (it stays the caller's to fill and show).

        With ``cover``, a note that does not fit beside the second column
        takes the whole width of its line, and the formula lines it would
        overlap are hidden while it shows: an error message is read whole,
        even at large text sizes, and the header keeps its height.
        """
        self._note = note
        self._cover = bool(cover)
        note.setParent(self)
        note.installEventFilter(self)
        self._relayout()

    # -- layout
    def _gap(self) -> int:
        label = self._lines[0] if self._lines else self
        return 3 * label.fontMetrics().horizontalAdvance("M")

    def _raw(self) -> list[str]:
        return self._text.split("\n") if self._text else []

    def _note_shown(self) -> bool:
        return self._note is not None and not self._note.isHidden()

    def _place(self, width: int, apply: bool) -> int:
        """Lay the lines and note out in ``width`` pixels; returns the height used."""
        raw = self._raw()
        labels = self._lines[: len(raw)]
        gap = self._gap()
        packed_text = [t.strip() for t in raw]
        widths = [
            lb.fontMetrics().horizontalAdvance(t) + 4
            for lb, t in zip(labels, packed_text, strict=True)
        ]
        columns = pack_lines(widths, width, gap)
        if len(raw) > 1 and len(columns) < len(raw) and columns[0] != [0]:
            # One line under the other (or the function and a gradient line in
            # the first column, which pushes the note to a line of its own)
            # would make the header taller for this function than for others,
            # and a header that changes height moves the plots and has the
            # whole window laid out again. The function, then its gradient
            # beside it, the lines cut to fit (each whole in its tooltip).
            columns = [[0], list(range(1, len(raw)))]
        one_column = len(columns) == 1 and len(raw) > 1
        line_h = max((lb.sizeHint().height() for lb in labels), default=0)
        rows = max((len(c) for c in columns), default=0)
        # x and width of each column; a second column sits at the right edge so
        # the note under the first one has the rest.
        spots: list[tuple[int, int]] = []
        w0 = max((widths[i] for i in columns[0]), default=0)
        w1 = max((widths[i] for i in columns[-1]), default=0)
        if len(columns) == 2 and (len(raw) > 2 or w0 + gap + w1 > width):
            # The second column at the right edge, never starting left of a
            # third of the width (the note under the first column needs that
            # much), cut where it does not fit; the first column cut likewise.
            x1 = max(min(w0, width // 2) + gap, width // 3 + gap, width - w1)
            spots = [(0, min(w0, x1 - gap)), (x1, max(width - x1, 0))]
        else:
            x = 0
            for col in columns:
                w = min(max((widths[i] for i in col), default=0), width)
                spots.append((x, w))
                x += w + gap
        note = self._note if self._note_shown() else None
        free = len(columns) == 2 and len(columns[0]) < rows
        beside = spots[1][0] - gap if free else 0
        # A covering note that does not fit beside the second column takes its
        # line's whole width; the lines of that column from there down hide.
        covered = (
            note is not None
            and self._cover
            and free
            and not note.is_expanded()
            and note.sizeHint().width() > beside
        )
        if apply:
            for c, col in enumerate(columns):
                x, w = spots[c]
                for r, i in enumerate(col):
                    text = raw[i] if one_column else packed_text[i]
                    if labels[i].text() != text:
                        labels[i].setText(text)
                    labels[i].setGeometry(x, r * line_h, w if not one_column else width, line_h)
                    hidden = covered and c == 1 and r >= len(columns[0])
                    if labels[i].isHidden() != hidden:
                        labels[i].setVisible(not hidden)
            self._columns = columns
        height = rows * line_h
        if note is not None:
            if free and not note.is_expanded() and (covered or beside >= width // 3):
                if apply:
                    nh = note.sizeHint().height()
                    y = len(columns[0]) * line_h + max(line_h - nh, 0) // 2
                    note.setGeometry(0, y, width if covered else beside, nh)
            else:
                # Unfolded, the note wraps: as tall as its lines at this width.
                nh = note.heightForWidth(width) if note.is_expanded() else -1
                nh = nh if nh > 0 else note.sizeHint().height()
                if apply:
                    note.setGeometry(0, height, width, nh)
                height += nh
        return height

    def _height(self, width: int, apply: bool) -> int:
        """:meth:`_place`'s height, never less than the tallest so far at this width."""
        height = self._place(width, apply)
        note = self._note
        key = (width, id(note), self._note_shown(), note is not None and note.is_expanded())
        if key == self._floor[0]:
            height = max(height, self._floor[1])
        if apply:
            self._floor = (key, height)
        return height

    def _relayout(self) -> None:
        self._height(self.width(), apply=True)
        self.updateGeometry()

    def columns(self) -> list[list[int]]:
        """How the lines are packed now (see :func:`pack_lines`)."""
        return [list(c) for c in self._columns]

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._height(width, apply=False)

    def sizeHint(self) -> QSize:
        raw = self._raw()
        labels = self._lines[: len(raw)]
        gap = self._gap()
        width = sum(
            lb.fontMetrics().horizontalAdvance(t.strip()) + 4
            for lb, t in zip(labels, raw, strict=True)
        )
        width += gap * max(len(raw) - 1, 0)
        if self._note_shown():
            assert self._note is not None
            width = max(width, self._note.sizeHint().width())
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:
        # Narrow is always possible (lines are cut); the height is then the tallest.
        narrow = 120
        return QSize(narrow, self.heightForWidth(narrow))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._height(self.width(), apply=True)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            self._relayout()
            return True
        return super().event(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.Show, QEvent.Type.Hide, QEvent.Type.FontChange):
            # The note was shown or hidden (a preset, a lesson), or a new text size:
            # lay out again once the change is done (a posted event is dropped
            # if this view is gone by then).
            QCoreApplication.postEvent(self, QEvent(QEvent.Type.LayoutRequest))
        return super().eventFilter(watched, event)


class MarkedLineEdit(QLineEdit):
    """A line edit that can mark one column of its text (where an error is).

    The mark, a tinted box and a thick underline under that character (or
    after the last one), is drawn over the text, so the line needs no second
    line with a caret under it.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._mark: int | None = None
        self._mark_color = QColor("#d00000")

    def mark(self) -> int | None:
        """The marked character's index (0-based), or None."""
        return self._mark

    def set_mark(self, index: int | None, color: QColor | None = None) -> None:
        """Mark character ``index`` (0-based; the end of the text marks after it), or none."""
        if color is not None:
            self._mark_color = QColor(color)
        index = None if index is None else max(0, min(int(index), len(self.text())))
        if index != self._mark:
            self._mark = index
            self.update()

    def mark_span(self) -> tuple[int, int] | None:
        """Left and right x (widget pixels) of the marked character, or None."""
        if self._mark is None:
            return None
        text, fm = self.text(), self.fontMetrics()
        # The cursor's rectangle is where Qt draws position cursorPosition(),
        # scrolling included; other positions are measured from it.
        cursor = self.cursorRect()
        origin = cursor.center().x() - fm.horizontalAdvance(text[: self.cursorPosition()])
        i = self._mark
        left = origin + fm.horizontalAdvance(text[:i])
        width = fm.horizontalAdvance(text[i]) if i < len(text) else fm.horizontalAdvance("M")
        return left, left + max(width, 2)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        span = self.mark_span()
        if span is None:
            return
        left, right = span
        cursor = self.cursorRect()
        painter = QPainter(self)
        fill = QColor(self._mark_color)
        fill.setAlpha(70)
        top, bottom = cursor.top(), cursor.bottom()
        painter.fillRect(left, top, right - left, bottom - top + 1, fill)
        thick = max(2, self.fontMetrics().height() // 8)
        pen = QPen(self._mark_color)
        pen.setWidth(thick)
        painter.setPen(pen)
        painter.drawLine(left, bottom - thick // 2, right, bottom - thick // 2)
        painter.end()


def _plain_label(role: str = "") -> QLabel:
    # Text shown here can come from files and from what was typed: never markup.
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if role:
        label.setProperty("role", role)
    return label


class FunctionEditor(QWidget):
    """Line edit for the loss, with its error line and formula display.

    Signals
    -------
    textSettled(str)
        The person stopped typing (or :meth:`set_text` was called): compile this.
    """

    textSettled = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._mono = QFont(mono)
        self.prompt = QLabel("f =")
        self.edit = MarkedLineEdit()
        self.edit.setPlaceholderText("type a loss, e.g. (1-x)^2 + 100(y-x^2)^2")
        self.edit.setClearButtonEnabled(True)
        self.edit.setAccessibleName("loss function")
        self.edit.setFont(mono)
        self.status = _plain_label("hint")
        # The error message, one line cut to fit (the whole of it, with the
        # text and a caret under the column, in its tooltip).
        self.error = ElidedLabel()
        self.error.setProperty("role", "error")
        self.error.hide()
        self.math = FormulaView()
        self.math.set_line_font(mono)
        # The note under the formulas: a preset's description or a lesson's
        # commentary, one line cut to fit; a click unfolds the whole text.
        self.note = ElidedLabel(expandable=True)
        self.note.setProperty("role", "hint")
        self.note.hide()
        self.math.set_note(self.note)
        self._error_shown = False
        self._note_was_shown = False

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.prompt)
        row.addWidget(self.edit, 1)
        row.addWidget(self.status)
        self._row = row
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(row)
        lay.addWidget(self.math)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._settle)
        self.edit.textEdited.connect(lambda _t: self._timer.start())
        self.edit.returnPressed.connect(self._settle)
        self._last_good = ""

    def add_to_input_row(self, widget: QWidget) -> None:
        """Put ``widget`` (the preset box) at the end of the line the function is typed in.

        The formulas under that line then have the window's whole width.
        """
        self._row.addWidget(widget)

    def set_font_scale(self, pt: float) -> None:
        """Size the monospace parts to match the theme (the style sheet sets the rest)."""
        for w in (self.edit,):
            f = QFont(w.font())
            f.setPointSizeF(pt)
            w.setFont(f)
        f = QFont(self._mono)
        f.setPointSizeF(pt)
        self.math.set_line_font(f)

    # -------------------------------------------------------------- api
    def text(self) -> str:
        return self.edit.text()

    @property
    def last_good(self) -> str:
        """The last text that compiled (what is on screen)."""
        return self._last_good

    def set_text(self, text: str) -> None:
        """Put ``text`` in the editor (a preset or session) and ask for it to be compiled."""
        self._timer.stop()
        self.edit.setText(text)
        self._settle()

    def show_text(self, text: str) -> None:
        """Show ``text`` set by the program (model → widget: asks for no compile)."""
        self._timer.stop()
        if self.edit.text() != text:
            self.edit.setText(text)

    def show_compiled(self, text: str, pretty: str, prompt: str) -> None:
        """``text`` compiled: its formulas, and ``prompt`` before the line (``"f(x, y) ="``)."""
        self.show_ok(text, pretty, ())
        self.prompt.setText(prompt)

    def set_variables(self, names: tuple[str, ...]) -> None:
        self.prompt.setText(f"f({', '.join(names)}) =")

    def show_busy(self) -> None:
        self.status.setText("checking…")

    def show_ok(self, text: str, pretty: str, variables: tuple[str, ...]) -> None:
        """``text`` compiled: show its formulas and clear any error."""
        self._last_good = text
        self.status.setText("")
        self._clear_error()
        self._set_invalid(False)
        self.math.setText(pretty)
        if variables:
            self.set_variables(variables)

    def show_error(self, message: str, column: int | None = None) -> None:
        """The current text does not compile: show why and where (the old formulas stay).

        The message takes the note's line under the formulas (the note comes
        back with the next good function) and ``column`` (1-based) is marked
        in the line edit.
        """
        self.status.setText("not applied")
        text = self.edit.text()
        mark = caret_line(text, column)
        self.error.setText(message)
        self.error.set_tip(f"{mark}\n{message}" if mark else message, preformatted=True)
        if not self._error_shown:
            self._error_shown = True
            self._note_was_shown = not self.note.isHidden()
            self.note.hide()
            self.math.set_note(self.error, cover=True)
            self.error.show()
        self.error.ensurePolished()
        color = self.error.palette().color(QPalette.ColorRole.WindowText)
        self.edit.set_mark(None if column is None or column < 1 else column - 1, color)
        self._set_invalid(True)

    def has_error(self) -> bool:
        return self._error_shown

    def set_note_visible(self, visible: bool) -> None:
        """Show or hide the note (while an error is shown, when the error goes)."""
        if self._error_shown:
            self._note_was_shown = bool(visible)
        else:
            self.note.setVisible(visible)

    def _clear_error(self) -> None:
        self.edit.set_mark(None)
        if not self._error_shown:
            return
        self._error_shown = False
        self.error.hide()
        self.error.setText("")
        self.error.set_tip(None)
        self.math.set_note(self.note)
        self.note.setVisible(self._note_was_shown)

    def _set_invalid(self, invalid: bool) -> None:
        self.edit.setProperty("invalid", "true" if invalid else "false")
        # Re-polish so the style sheet's [invalid="true"] rule applies now.
        self.edit.style().unpolish(self.edit)
        self.edit.style().polish(self.edit)

    def _settle(self) -> None:
        self._timer.stop()
        text = self.edit.text().strip()
        if not text:
            self.show_error("type a function of one or two variables, e.g. x^2 + 3y^2")
            return
        self.show_busy()
        self.textSettled.emit(text)
