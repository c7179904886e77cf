"""Presentation mode: the scene full screen, big and high-contrast, driven from the keyboard.

F5 enters it and Esc leaves it. On the way in, :class:`Presentation` remembers
how the window looked, hides every editing panel (and the menu bar), keeps the
transport bar, switches to the ``projector`` theme (black on white, thick
lines, Okabe–Ito run colours) scaled by the chosen factor (1.5× or 2×), and
goes full screen. On the way out it puts everything back exactly as it was.

Keyboard (the key map is :data:`gdviz.ui.keys.KEY_MAP`, which the ``?`` overlay
lists): Space, →, ←, R drive the player; + and − change the speed; the digits
open the lessons that exist; E and C show the explain panel and the lesson's
commentary; I writes "step 12 · f = …" on the plot (as exports do), so a
paused frame says where it is; F11 toggles full screen; ``?`` shows the list.

The controller talks to the window only through a few methods and attributes
(:class:`PresentingWindow`), so it can be tested with the real window and
keeps :mod:`gdviz.ui.main_window` to wiring.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QShortcut
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from gdviz.ui.keys import bind_keys, shortcut_rows
from gdviz.ui.theme import Theme, get_theme

__all__ = [
    "PRESENTATION_SCALES",
    "Presentation",
    "PresentingWindow",
    "ShortcutsOverlay",
]

#: Font-and-line scale factors offered for presentation mode.
PRESENTATION_SCALES = (1.5, 2.0)


class PresentingWindow(Protocol):
    """What :class:`Presentation` needs of the window (a :class:`QMainWindow`)."""

    theme: Theme
    transport: Any
    scene: Any  # its ``caption`` is the step caption I toggles

    def apply_theme(self, theme: Theme) -> None: ...


class ShortcutsOverlay(QWidget):
    """A translucent sheet over its parent listing the keys; any key or click closes it.

    The text is plain (never markup) and sized from the theme, so it stays
    readable on a projector.

    Parameters
    ----------
    parent
        The widget it covers (the window).
    rows
        (keys, what they do) per line (:func:`gdviz.ui.keys.shortcut_rows`).
    """

    def __init__(self, parent: QWidget, rows: Sequence[tuple[str, str]]) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, False)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("keyboard shortcuts")
        self._bg = QColor(0, 0, 0, 200)
        self._fg = "#ffffff"
        box = QWidget(self)
        box.setObjectName("shortcutsBox")
        grid = QGridLayout(box)
        grid.setHorizontalSpacing(24)
        grid.setVerticalSpacing(6)
        self.title = QLabel("Keyboard")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        grid.addWidget(self.title, 0, 0, 1, 2)
        self.key_labels: list[QLabel] = []
        self.text_labels: list[QLabel] = []
        for row, (keys, what) in enumerate(rows, start=1):
            k = QLabel(keys)
            t = QLabel(what)
            for lab in (k, t):
                lab.setTextFormat(Qt.TextFormat.PlainText)
            k.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(k, row, 0)
            grid.addWidget(t, row, 1)
            self.key_labels.append(k)
            self.text_labels.append(t)
        self.hint = QLabel("press any key to close")
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        grid.addWidget(self.hint, len(rows) + 1, 0, 1, 2)
        lay = QVBoxLayout(self)
        lay.addStretch(1)
        lay.addWidget(box, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addStretch(1)
        self.box = box
        self.hide()
        parent.installEventFilter(self)

    def set_theme(self, theme: Theme) -> None:
        pt = theme.font_pt
        # Dark sheet, light text in every theme: it must stand out from the plot.
        self.setStyleSheet(
            f"QWidget#shortcutsBox {{ background: rgba(20, 20, 20, 235); border-radius: 10px; }}"
            f"QLabel {{ color: {self._fg}; background: transparent; font-size: {pt:.1f}pt; }}"
        )
        self.title.setStyleSheet(f"font-size: {pt * 1.3:.1f}pt; font-weight: 600;")
        for k in self.key_labels:
            k.setStyleSheet(f"font-weight: 600; font-size: {pt:.1f}pt; color: #ffd479;")
        self.hint.setStyleSheet(f"font-size: {pt * 0.85:.1f}pt; color: #cccccc;")

    def open(self) -> None:
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.raise_()
        self.show()
        self.setFocus()

    def paintEvent(self, event: Any) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), self._bg)
        p.end()

    def keyPressEvent(self, event: Any) -> None:
        self.hide()
        event.accept()

    def mousePressEvent(self, event: Any) -> None:
        self.hide()
        event.accept()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        # Follow the parent's size (full screen on, off, window resized).
        if obj is self.parentWidget() and event.type() == QEvent.Type.Resize and self.isVisible():
            self.setGeometry(self.parentWidget().rect())
        return False


class Presentation(QObject):
    """Enters and leaves presentation mode on a window, and owns the classroom keys.

    Parameters
    ----------
    window
        The main window (see :class:`PresentingWindow`).
    editing_widgets
        Returns the widgets hidden while presenting (panels, editors, docks).
    open_lesson, toggle_explain, toggle_commentary
        What the number keys, E and C do.
    lessons
        The numbers of the lessons that exist (the ``?`` overlay lists their keys).
    scale
        Font-and-line factor while presenting (one of :data:`PRESENTATION_SCALES`,
        or any value 1…3).

    Signals
    -------
    activeChanged(bool)
    """

    activeChanged = Signal(bool)

    def __init__(
        self,
        window: Any,
        editing_widgets: Callable[[], list[QWidget]],
        open_lesson: Callable[[int], None],
        toggle_explain: Callable[[], None],
        toggle_commentary: Callable[[], None],
        scale: float = 1.5,
        lessons: Sequence[int] = (),
    ) -> None:
        super().__init__(window)
        self.window = window
        self.scale = float(scale)
        self.active = False
        self.fullscreen_on_enter = True
        #: Whether the step caption shows while presenting (I toggles it).
        self.caption = False
        self._editing_widgets = editing_widgets
        self._open_lesson = open_lesson
        self._toggle_explain = toggle_explain
        self._toggle_commentary = toggle_commentary
        self._saved: dict[str, Any] = {}
        self.overlay = ShortcutsOverlay(window, shortcut_rows(lessons))
        self.overlay.set_theme(window.theme)
        self.shortcuts: dict[str, QShortcut] = {}
        self._install_keys()

    # ------------------------------------------------------------------ keys
    def _install_keys(self) -> None:
        actions = {
            "present": self.toggle,
            "leave": self._escape,
            "fullscreen": self.toggle_fullscreen,
            "faster": lambda: self.change_speed(2.0),
            "slower": lambda: self.change_speed(0.5),
            "help": self.show_shortcuts,
            "explain": lambda: self._toggle_explain(),
            "commentary": lambda: self._toggle_commentary(),
            "caption": self.toggle_caption,
        }
        self.shortcuts = bind_keys(
            self.window, actions, lesson_keys=range(1, 10), open_lesson=self._open_lesson
        )

    def _escape(self) -> None:
        if self.overlay.isVisible():
            self.overlay.hide()
        elif self.active:
            self.leave()

    # ------------------------------------------------------------------ actions
    def show_shortcuts(self) -> None:
        """Show the overlay listing every key."""
        self.overlay.set_theme(self.window.theme)
        self.overlay.open()

    def change_speed(self, factor: float) -> None:
        """Multiply the playback speed (through the speed slider, so the session follows)."""
        transport = self.window.transport
        slider = transport.speed
        # The slider is logarithmic: a fixed number of positions per factor.
        lo, hi = slider.minimum(), slider.maximum()
        per_decade = (hi - lo) / 3.0  # 1 … 1000 steps/s
        delta = round(per_decade * math.log10(factor))
        slider.setValue(max(lo, min(hi, slider.value() + delta)))

    def toggle_fullscreen(self) -> None:
        w = self.window
        if w.isFullScreen():
            w.showNormal()
            if self._saved.get("maximized"):
                w.showMaximized()
        else:
            w.showFullScreen()

    def toggle_caption(self) -> None:
        """Step caption on or off; it shows only while presenting."""
        self.caption = not self.caption
        self.window.scene.caption.setVisible(self.active and self.caption)

    def toggle(self) -> None:
        self.leave() if self.active else self.enter()

    def set_scale(self, scale: float) -> None:
        """Change the presentation scale (applied at once when presenting)."""
        if not 1.0 <= scale <= 3.0:
            raise ValueError(f"presentation scale must be 1…3, got {scale:g}")
        self.scale = float(scale)
        if self.active:
            self._slim_transport(False)
            self.window.apply_theme(get_theme("projector", self.scale))
            self._slim_transport(True)
            self.overlay.set_theme(self.window.theme)

    def set_return_theme(self, theme: Theme) -> None:
        """The theme to go back to on :meth:`leave` (e.g. a session opened while presenting)."""
        if self.active:
            self._saved["theme"] = theme

    @property
    def return_theme(self) -> Theme:
        """The theme :meth:`leave` goes back to (the current one when not presenting)."""
        return self._saved["theme"] if self.active else self.window.theme

    def _slim_transport(self, slim: bool) -> None:
        session = getattr(self.window, "session", None)
        self.window.transport.set_slim(slim, int(getattr(session, "steps", 0)))

    def enter(self, fullscreen: bool | None = None) -> None:
        """Present: hide the editing panels, projector theme, full screen."""
        if self.active:
            return
        w = self.window
        self._saved = {
            "theme": w.theme,
            "maximized": w.isMaximized(),
            "fullscreen": w.isFullScreen(),
            "geometry": w.saveGeometry(),
            "visible": [(x, x.isVisible()) for x in self._editing_widgets()],
            "menubar": w.menuBar().isVisible(),
        }
        for x, _vis in self._saved["visible"]:
            x.hide()
        w.menuBar().hide()
        w.apply_theme(get_theme("projector", self.scale))
        self._slim_transport(True)
        self.overlay.set_theme(w.theme)
        self.active = True
        w.scene.caption.setVisible(self.caption)
        if fullscreen if fullscreen is not None else self.fullscreen_on_enter:
            w.showFullScreen()
        self.activeChanged.emit(True)

    def leave(self) -> None:
        """Back to the window exactly as it was before :meth:`enter`."""
        if not self.active:
            return
        w = self.window
        s = self._saved
        self.active = False
        self.overlay.hide()
        w.scene.caption.setVisible(False)
        for x, vis in s["visible"]:
            x.setVisible(vis)
        self._slim_transport(False)
        w.menuBar().setVisible(s["menubar"])
        w.apply_theme(s["theme"])
        self.overlay.set_theme(w.theme)
        if not s["fullscreen"] and w.isFullScreen():
            w.showNormal()
            if s["maximized"]:
                w.showMaximized()
            else:
                w.restoreGeometry(s["geometry"])
        self.activeChanged.emit(False)
