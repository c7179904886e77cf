"""Messages over the plots: a banner that stays as long as its message matters.

:class:`Banner` shows one message at a time over the top of the plot area,
below the 2D/3D tabs, and moves nothing when it comes or goes. Every message
has a close button; an error stays until it is closed or what it is about is
fixed (see :meth:`Banner.dismiss`), a note goes by itself after a while. A
long message (thousands of skipped keys in a session file, a key with a line
break in it) is cut to two lines, and a "Details…" button shows the whole of
it in a scrollable, read-only :class:`DetailsDialog`.

Text is always shown as plain text: messages quote what people typed and
what files contain.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTimer
from PySide6.QtGui import QFont, QFontMetrics, QKeyEvent, QMouseEvent, QTextLayout, QTextOption
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

__all__ = ["MESSAGE_LINES", "Banner", "DetailsDialog", "cut_text"]

#: The most lines a message takes over the plots; the rest is in its details.
MESSAGE_LINES = 2


def cut_text(text: str, font: QFont, width: int, lines: int = MESSAGE_LINES) -> str:
    """``text`` as at most ``lines`` lines ``width`` pixels wide, cut with "…" if longer.

    Line breaks, tabs and runs of spaces become single spaces first: a key
    with a line break in it is one line of the message, not a new one.
    """
    flat = " ".join(str(text).split())
    width = max(int(width), 1)
    layout = QTextLayout(flat, font)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    layout.setTextOption(option)
    starts: list[int] = []
    layout.beginLayout()
    while len(starts) <= lines:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        starts.append(line.textStart())
    layout.endLayout()
    if len(starts) <= lines:
        return flat
    # The lines before the last as they wrap, the last one cut to fit. A bit
    # of slack: a label may wrap a word earlier than this layout did.
    head = flat[: starts[lines - 1]]
    slack = QFontMetrics(font).horizontalAdvance("MM")
    tail = QFontMetrics(font).elidedText(
        flat[starts[lines - 1] :], Qt.TextElideMode.ElideRight, max(width - slack, 1)
    )
    return head + tail


class DetailsDialog(QDialog):
    """The whole text of a message: scrollable, read-only, plain text.

    Parameters
    ----------
    text
        The message.
    parent
        The window it belongs to.
    """

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Message")
        self.setAccessibleName("message details")
        self.view = QPlainTextEdit()
        self.view.setReadOnly(True)
        self.view.setPlainText(text)
        self.view.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.view.setAccessibleName("whole message")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.view)
        lay.addWidget(buttons)
        self.resize(640, 400)


class _KeyButton(QToolButton):
    """A tool button that Space and Enter press when it has the focus.

    The window's Space shortcut would otherwise take the key from it.
    """

    _KEYS = (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Select)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride:
            assert isinstance(event, QKeyEvent)
            if event.key() in self._KEYS and not event.modifiers():
                event.accept()
                return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in self._KEYS and not event.isAutoRepeat():
            self.click()
            event.accept()
            return
        super().keyPressEvent(event)


class Banner(QFrame):
    """A message laid over the top of ``anchor`` (below ``below``), with a close button.

    It belongs to no layout: showing, changing and hiding it repaint only the
    band it covers. A message line in the window's layout shrank the plots
    when it appeared and grew them back when it went, and each time the whole
    window was laid out and painted again (about 40 ms with long trails on
    screen). It follows ``anchor`` when that moves or is resized and stays
    above its siblings. The close button (or a click on the text) hides it;
    :meth:`show_for` also hides it after a while.

    Parameters
    ----------
    anchor
        The widget whose top it covers (the plots).
    host
        The banner's parent: ``anchor`` or a widget that contains it.
    below
        Returns a widget inside ``anchor`` whose bottom edge the banner starts
        under (the 2D/3D tab bar), or None.
    """

    def __init__(
        self,
        anchor: QWidget,
        host: QWidget | None = None,
        below: Callable[[], QWidget | None] | None = None,
    ) -> None:
        super().__init__(host if host is not None else anchor.parentWidget())
        self._anchor = anchor
        self._below = below or (lambda: None)
        self._full = ""
        #: What the message is about: an error about ``"function"`` goes when a
        #: function compiles, one about a ``"file"`` only when closed or replaced.
        self.about = "function"
        self.details_dialog: DetailsDialog | None = None
        self.setProperty("banner", True)  # framed and padded by the theme's style sheet
        self.setAutoFillBackground(True)
        self.setAccessibleName("message")

        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # messages quote what was typed
        self.label.setWordWrap(True)
        self.label.setToolTip("Click to close")
        self.label.setCursor(Qt.CursorShape.PointingHandCursor)
        self.label.installEventFilter(self)
        self.details_button = QPushButton("Details…")
        self.details_button.setAccessibleName("message details")
        self.details_button.setToolTip("The whole message")
        self.details_button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.details_button.clicked.connect(lambda _c=False: self.open_details())
        self.details_button.hide()
        self.close_button = _KeyButton()
        self.close_button.setText("×")
        self.close_button.setAccessibleName("close message")
        self.close_button.setToolTip("Close this message")
        self.close_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.close_button.clicked.connect(lambda _c=False: self.hide())
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignTop)
        lay.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)

        self._expire = QTimer(self)
        self._expire.setSingleShot(True)
        self._expire.timeout.connect(self.hide)
        self.hide()
        # Follow the anchor and everything between it and the host.
        w: QWidget | None = anchor
        while w is not None and w is not self.parentWidget():
            w.installEventFilter(self)
            w = w.parentWidget()

    # -- the message
    def text(self) -> str:
        """The whole message (the banner may show it cut)."""
        return self._full

    def shown_text(self) -> str:
        """What the banner shows: the message, or its first lines cut with "…"."""
        return self.label.text()

    def is_cut(self) -> bool:
        """Whether the banner shows less than the whole message (Details… shows it)."""
        return self.details_button.isVisibleTo(self)

    def setText(self, text: str) -> None:
        self._full = str(text)
        self.label.setText(self._full)
        if self.isVisible():
            self.place()

    def set_role(self, role: str) -> None:
        """``"error"`` or ``"hint"``: how the theme draws the frame and the text."""
        for w in (self, self.label):
            w.setProperty("role", role)
            w.style().unpolish(w)
            w.style().polish(w)

    def show_message(
        self, text: str, role: str, msec: int | None = None, about: str = "function"
    ) -> None:
        """Show ``text`` (replacing the last message); hide it after ``msec`` ms (None: stays)."""
        self.about = about
        self.set_role(role)
        self.setText(text)
        self.show_for(msec)

    def dismiss(self, about: str) -> bool:
        """Hide an error about ``about`` (it was fixed); notes and other errors stay.

        Returns whether it was hidden.
        """
        if self.isVisible() and self.property("role") == "error" and self.about == about:
            self.hide()
            return True
        return False

    def open_details(self) -> DetailsDialog:
        """Show the whole message in a scrollable, read-only window."""
        if self.details_dialog is not None:
            self.details_dialog.close()
            self.details_dialog.deleteLater()
        self.details_dialog = DetailsDialog(self._full, self.window())
        self.details_dialog.show()
        return self.details_dialog

    def show_for(self, msec: int | None) -> None:
        """Show it; hide it after ``msec`` milliseconds (None: until closed or hidden)."""
        self._expire.stop()
        self.show()
        self.place()
        if msec is not None:
            self._expire.start(int(msec))

    def hideEvent(self, event: QEvent) -> None:
        self._expire.stop()
        super().hideEvent(event)

    # -- where it lies
    def _area(self) -> tuple[QPoint, int, int]:
        """Top-left (in the parent), width and height of the plot area under the tabs."""
        host = self.parentWidget()
        a = self._anchor
        top_left = a.mapTo(host, QPoint(0, 0)) if host is not a else QPoint(0, 0)
        top = 0
        below = self._below()
        if below is not None and below.isVisible() and a.isAncestorOf(below):
            top = below.mapTo(a, QPoint(0, below.height())).y()
        return QPoint(top_left.x(), top_left.y() + top), a.width(), max(a.height() - top, 1)

    def place(self) -> None:
        """Cover the top of the plot area: its width, two lines of text at most."""
        pos, width, room = self._area()
        width = max(width, 1)
        lay = self.layout()
        for cut_with_details in (False, True):
            self.details_button.setVisible(cut_with_details)
            self.setGeometry(pos.x(), pos.y(), width, max(self.height(), 1))
            lay.activate()
            text_width = self.label.contentsRect().width()
            shown = cut_text(self._full, self.label.font(), text_width)
            if shown == " ".join(self._full.split()) or cut_with_details:
                break
        self.label.setText(shown)
        self.details_button.setVisible(shown != " ".join(self._full.split()))
        lay.activate()
        height = lay.totalHeightForWidth(width) if lay.hasHeightForWidth() else -1
        height = max(height, lay.totalMinimumSize().height(), self.minimumSizeHint().height())
        self.setGeometry(pos.x(), pos.y(), width, min(height, max(room, height)))
        self.raise_()

    def showEvent(self, event: QEvent) -> None:
        self.place()
        super().showEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if self.isVisible() and event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.place()  # a new text size wraps differently

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if obj is self.label:
            if kind == QEvent.Type.MouseButtonRelease:
                assert isinstance(event, QMouseEvent)
                if event.button() == Qt.MouseButton.LeftButton:
                    self.hide()
                    return True
            return False
        if self.isVisible() and kind in (QEvent.Type.Resize, QEvent.Type.Move):
            self.place()
        return False
