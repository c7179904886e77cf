"""The one-line function editor: debounced validation, error marks, the formulas.

Typing restarts a short timer; when it fires, :attr:`FunctionEditor.textSettled`
carries the text to be compiled (on the worker thread). The window answers with
:meth:`show_ok` (the function and gradient as Unicode mathematics) or
:meth:`show_error` (the message, and a caret under the column it names). The
last good function stays on screen until a new one compiles.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

__all__ = ["DEBOUNCE_MS", "FunctionEditor", "caret_line"]

#: Quiet time after the last keystroke before the text is compiled.
DEBOUNCE_MS = 300


def caret_line(text: str, column: int | None) -> str:
    """The text with a ``^`` under 1-based ``column`` (two lines), or "" without a column."""
    if column is None or column < 1:
        return ""
    column = min(column, len(text) + 1)
    return f"{text}\n{' ' * (column - 1)}^"


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
        self.prompt = QLabel("f =")
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("type a loss, e.g. (1-x)^2 + 100(y-x^2)^2")
        self.edit.setClearButtonEnabled(True)
        self.edit.setAccessibleName("loss function")
        self.edit.setFont(mono)
        self.status = _plain_label("hint")
        self.error = _plain_label("error")
        self.error.setFont(mono)
        self.error.setWordWrap(False)
        self.error.hide()
        self.math = _plain_label("math")
        self.math.setFont(mono)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.prompt)
        row.addWidget(self.edit, 1)
        row.addWidget(self.status)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(row)
        lay.addWidget(self.error)
        lay.addWidget(self.math)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._settle)
        self.edit.textEdited.connect(lambda _t: self._timer.start())
        self.edit.returnPressed.connect(self._settle)
        self._last_good = ""

    def set_font_scale(self, pt: float) -> None:
        """Size the monospace parts to match the theme (the style sheet sets the rest)."""
        for w in (self.edit, self.error, self.math):
            f = QFont(w.font())
            f.setPointSizeF(pt)
            w.setFont(f)

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

    def set_variables(self, names: tuple[str, ...]) -> None:
        self.prompt.setText(f"f({', '.join(names)}) =")

    def show_busy(self) -> None:
        self.status.setText("checking…")

    def show_ok(self, text: str, pretty: str, variables: tuple[str, ...]) -> None:
        """``text`` compiled: show its formulas and clear any error."""
        self._last_good = text
        self.status.setText("")
        self.error.hide()
        self.error.setText("")
        self._set_invalid(False)
        self.math.setText(pretty)
        self.set_variables(variables)

    def show_error(self, message: str, column: int | None = None) -> None:
        """The current text does not compile: show why and where (the old formulas stay)."""
        self.status.setText("not applied")
        mark = caret_line(self.edit.text(), column)
        self.error.setText(f"{mark}\n{message}" if mark else message)
        self.error.show()
        self._set_invalid(True)

    def has_error(self) -> bool:
        return not self.error.isHidden()

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
