"""The window's keys: which key does what, and when a text field keeps them.

Two pieces, both installed by the main window with a few lines:

* :data:`KEY_MAP`, the key map as data. Every window-wide key (play, step,
  reset, speed, explain, commentary, presentation …) is one
  :class:`Binding`: an action name, the keys, and what it does in words.
  :func:`bind_keys` turns the bindings whose actions a caller provides into
  window shortcuts; :func:`shortcut_rows` lists them for the ``?`` card, with
  the lesson keys for the lessons that exist.
* :class:`KeyFocus`, the focus policy. A key that edits text (Space, R, the
  arrows, + and −) goes to the text field that has the cursor, and to the
  player everywhere else. A text field keeps the keys only while a person is
  typing in it: Enter or Esc applies or leaves the field and gives the keys
  back to the plots, and so does a click on Play, the timeline or the plots.

Why the shortcuts yield to a text field: Qt asks the focused widget first
(``ShortcutOverride``) and a line edit or spin box claims the keys that type
or move its cursor; a combo box, a check box or a list does not, so the
player's keys work over those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)
from shiboken6 import isValid

from gdviz.core.lessons import MAX_LESSONS, lesson_range

__all__ = [
    "KEY_MAP",
    "LESSON_ACTION",
    "Binding",
    "KeyFocus",
    "bind_keys",
    "is_text_field",
    "shortcut_rows",
]

#: The action name of the number keys (each opens the lesson with its number).
LESSON_ACTION = "lesson"


@dataclass(frozen=True)
class Binding:
    """One window-wide key (or a few that do the same).

    Parameters
    ----------
    action
        What a caller of :func:`bind_keys` names the slot; ``None`` for keys
        bound elsewhere (menu actions) that the ``?`` card lists too.
    keys
        :class:`QKeySequence` texts (``"Space"``, ``"Right"``, ``"+"``).
    shown
        How the ``?`` card writes the keys.
    what
        What the key does, in a few words.
    """

    action: str | None
    keys: tuple[str, ...]
    shown: str
    what: str


#: Every window-wide key, in the order the ``?`` card lists them. The lesson
#: keys are the digits of the lessons that exist (see :func:`shortcut_rows`).
KEY_MAP: tuple[Binding, ...] = (
    Binding("present", ("F5",), "F5", "presentation mode"),
    Binding("leave", ("Esc",), "Esc", "leave presentation mode (or close this list)"),
    Binding("play", ("Space",), "Space", "play / pause"),
    Binding("forward", ("Right",), "→", "one step forward"),
    Binding("back", ("Left",), "←", "one step back"),
    Binding("reset", ("R",), "R", "back to step 0"),
    Binding("faster", ("+", "="), "+", "faster (×2)"),
    Binding("slower", ("-", "_"), "−", "slower (÷2)"),
    Binding(LESSON_ACTION, (), "", ""),  # the digits; rows and keys from the lesson list
    Binding("explain", ("E",), "E", "explain panel on / off"),
    Binding("commentary", ("C",), "C", "lesson commentary on / off"),
    Binding("caption", ("I",), "I", "step and function on the plot on / off"),
    Binding("fullscreen", ("F11",), "F11", "full screen on / off"),
    Binding("help", ("?", "F1"), "?", "this list of keys"),
    Binding(None, ("Ctrl+S", "Ctrl+O"), "Ctrl+S  Ctrl+O", "save / open a session"),
)


def shortcut_rows(lessons: Sequence[int]) -> tuple[tuple[str, str], ...]:
    """(keys, what they do) for every binding, the lesson keys for ``lessons`` only.

    With no lessons the lesson row is left out.
    """
    rows: list[tuple[str, str]] = []
    for b in KEY_MAP:
        if b.action == LESSON_ACTION:
            if lessons:
                span = lesson_range(lessons)
                rows.append((span, f"open lesson {span}"))
            continue
        rows.append((b.shown, b.what))
    return tuple(rows)


def bind_keys(
    window: QWidget,
    actions: Mapping[str, Callable[[], object]],
    *,
    lesson_keys: Iterable[int] = (),
    open_lesson: Callable[[int], object] | None = None,
) -> dict[str, QShortcut]:
    """Window shortcuts for the bindings of :data:`KEY_MAP` named in ``actions``.

    Parameters
    ----------
    window
        The window the keys work in (any widget of it may have the focus).
    actions
        Action name → what to do; bindings whose action is not here are skipped.
    lesson_keys
        The digits that open lessons (each calls ``open_lesson(digit)``).
    open_lesson
        What a lesson key does.

    Returns
    -------
    dict
        ``{action: shortcut}``, with ``action#i`` for a binding's further keys
        and ``lesson<n>`` for the lesson keys.
    """
    out: dict[str, QShortcut] = {}

    def add(name: str, key: str, slot: Callable[[], object]) -> None:
        sc = QShortcut(QKeySequence(key), window)
        sc.setContext(Qt.ShortcutContext.WindowShortcut)
        sc.activated.connect(slot)
        out[name] = sc

    for b in KEY_MAP:
        slot = actions.get(b.action) if b.action else None
        if slot is None:
            continue
        for i, key in enumerate(b.keys):
            add(b.action if i == 0 else f"{b.action}#{i}", key, slot)
    if open_lesson is not None:
        for n in lesson_keys:
            if 1 <= n <= min(MAX_LESSONS, 9):
                add(f"lesson{n}", str(n), lambda n=n: open_lesson(n))
    return out


def is_text_field(widget: QWidget | None) -> bool:
    """Whether ``widget`` has a text cursor (it then keeps the keys that type)."""
    if widget is None:
        return False
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    if isinstance(widget, QLineEdit | QAbstractSpinBox | QTextEdit | QPlainTextEdit):
        return not getattr(widget, "isReadOnly", lambda: False)()
    return False


def _multi_line(widget: QWidget) -> bool:
    return isinstance(widget, QTextEdit | QPlainTextEdit)


_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class KeyFocus(QObject):
    """Gives the keys back to the plots when a person is done with a text field.

    * Enter in a one-line field applies it (the field sees the key first: a
      function compiles, a number is taken) and moves the focus to ``home``.
    * Esc in any field leaves it the same way (leaving applies a number or
      a run's text, as clicking elsewhere does; a function compiles once
      typing has paused).
    * A mouse press on one of ``click_areas`` (the transport bar, the plots)
      while a field has the cursor moves the focus to ``home``.

    Parameters
    ----------
    window
        The window whose text fields are watched.
    home
        Where the keys go back to (the plots).
    click_areas
        Widgets (with everything inside them) a click on which gives the keys back.
    """

    def __init__(self, window: QWidget, home: QWidget, click_areas: Sequence[QWidget] = ()) -> None:
        super().__init__(window)
        self.window = window
        self.home = home
        self._fields: set[int] = set()
        for area in click_areas:
            for w in (area, *area.findChildren(QWidget)):
                w.installEventFilter(self)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)
        current = QApplication.focusWidget()
        if current is not None:
            self._focus_changed(None, current)

    def give_back(self) -> None:
        """Move the focus to the plots: the window's keys drive the player again."""
        self.home.setFocus(Qt.FocusReason.OtherFocusReason)

    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        # Watch a text field of this window from the moment it has the cursor.
        if new is None or not is_text_field(new) or new.window() is not self.window:
            return
        key = id(new)
        if key not in self._fields:
            self._fields.add(key)
            new.destroyed.connect(lambda _o=None: self._fields.discard(key))
            new.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress:
            if is_text_field(QApplication.focusWidget()) and obj is not QApplication.focusWidget():
                self.give_back()
            return False
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride):
            return False
        if not isinstance(obj, QWidget) or not is_text_field(obj):
            return False
        assert isinstance(event, QKeyEvent)
        key = event.key()
        leaves = key == Qt.Key.Key_Escape or (key in _ENTER and not _multi_line(obj))
        if not leaves or event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        if kind == QEvent.Type.ShortcutOverride:
            # Claim Esc from the window's shortcuts: here it leaves the field.
            event.accept()
            return True
        # Let the field take the key first (Enter: returnPressed, editingFinished),
        # then hand the keys back.
        obj.event(event)
        if isValid(obj) and obj.hasFocus():  # applying it may have replaced the field
            self.give_back()
        return True
