"""Classroom features of the window: session files, lessons, the explain panel, presentation.

:class:`Classroom` attaches to a :class:`~gdviz.ui.main_window.MainWindow` and
adds, without the window having to know the details:

* **File** → Open…, Open Recent, Save, Save As… for ``.gdviz.toml`` session
  files (:mod:`gdviz.core.session_io`); a file that cannot be opened gets a
  message and leaves the window as it was;
* a **Lessons** menu (and a number key per lesson) with the teaching set-ups of
  :mod:`gdviz.core.lessons`; a lesson's commentary is shown above the plots;
* the **Explain** dock (:class:`~gdviz.ui.explain_panel.ExplainPanel`) that
  follows the selected run and the step on screen;
* **presentation mode** (:class:`~gdviz.ui.presentation.Presentation`, F5) and
  the keyboard-shortcut overlay;
* the window's geometry, dock layout, recent files and presentation scale,
  remembered with :class:`QSettings` between runs.

The window calls :meth:`Classroom.set_theme` when its theme changes,
:meth:`Classroom.save_settings` when it closes, and forwards
``open_session(path)`` here.
"""

from __future__ import annotations

import os
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMenu, QWidget

from gdviz.core.expression import ExpressionError
from gdviz.core.lessons import Lesson, LessonError, lesson_range, load_lessons
from gdviz.core.loss import compile_loss
from gdviz.core.session import Session
from gdviz.core.session_io import SUFFIX, SessionError, load_session, save_session
from gdviz.ui import compute
from gdviz.ui.explain_panel import ExplainPanel
from gdviz.ui.presentation import PRESENTATION_SCALES, Presentation
from gdviz.ui.session_model import OWN_FUNCTION_NOTE
from gdviz.ui.theme import THEMES, Theme, get_theme

__all__ = ["MAX_RECENT", "Classroom"]

#: Recent files listed in File → Open Recent.
MAX_RECENT = 8
#: Largest share of the scene's height the explain card takes in presentation
#: mode; the loss plot keeps the rest below it.
CARD_MAX_FRACTION = 0.62
_FILTER = f"gdviz sessions (*{SUFFIX});;TOML files (*.toml);;All files (*)"


def _settings() -> QSettings:
    # Organisation and application names come from the QApplication (app.py).
    return QSettings()


class Classroom(QObject):
    """Sessions, lessons, explanations and presentation mode for one window.

    Parameters
    ----------
    window
        The main window. It must have ``session``, ``theme``, ``player``,
        ``transport``, ``runs_panel``, ``computer``, ``loss``, ``trajectory``,
        ``load_session(session)``, ``set_theme(name)``, ``apply_theme(theme)``,
        ``show_message(text, error)``, and the panels listed in
        :meth:`editing_widgets`.
    """

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.path: Path | None = None
        self.lesson: Lesson | None = None
        # A file whose function is being compiled before it opens:
        # (generation of the check, path, the loaded file), or None.
        self._opening: tuple[int, Path] | None = None
        self.model = window.model
        self.model.computer.called.connect(self._checked)
        self.model.computer.callFailed.connect(self._check_failed)
        try:
            self.lessons: list[Lesson] = load_lessons()
        except LessonError as exc:  # a packaging bug; the window still works
            self.lessons = []
            window.show_message(f"lessons unavailable: {exc}")

        # Caption and commentary above the plots.
        self.caption = QLabel()
        self.caption.setTextFormat(Qt.TextFormat.PlainText)  # titles are data
        self.caption.setWordWrap(True)
        self.caption.setAccessibleName("lesson title")
        self.caption.hide()
        self.commentary = QLabel()
        self.commentary.setTextFormat(Qt.TextFormat.PlainText)
        self.commentary.setWordWrap(True)
        self.commentary.setAccessibleName("lesson commentary")
        self.commentary.hide()
        layout = window.centralWidget().layout()
        layout.insertWidget(0, self.commentary)
        layout.insertWidget(0, self.caption)

        # Explain dock (hidden until asked for: the scene needs the width).
        self.explain = ExplainPanel(window.theme)
        self.dock = QDockWidget("Explain", window)
        self.dock.setObjectName("explainDock")  # saveState needs a name
        self.dock.setWidget(self.explain)
        self.dock.setAllowedAreas(
            Qt.DockWidgetArea.RightDockWidgetArea | Qt.DockWidgetArea.BottomDockWidgetArea
        )
        # Below the plots, as tall as the explanation: beside them on the
        # right it took 380 px of a 1280 px window's width and left the
        # surface 190 px wide, with most of the dock's height empty.
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        self.dock.hide()
        # Presenting, the panel is a card over the right of the scene instead:
        # a dock beside it would squeeze the plots and the transport bar off a
        # 1024-pixel projector at 2×.
        self.explain_card = ExplainPanel(window.theme, parent=window.scene.column)
        self.explain_card.setObjectName("explainCard")
        self.explain_card.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.explain_card.hide()
        self.explain_card.rendered.connect(self._place_card)
        window.scene.column.installEventFilter(self)  # the card follows the column's size

        settings = _settings()
        scale = _float(settings.value("presentation/scale", 1.5), 1.5)
        self.presentation = Presentation(
            window,
            self.editing_widgets,
            self.open_lesson,
            self.toggle_explain,
            self.toggle_commentary,
            scale=scale if scale in PRESENTATION_SCALES else 1.5,
            lessons=[les.number for les in self.lessons],
        )
        self.presentation.activeChanged.connect(self._presenting)
        # The panels hidden or shown again: the surface takes the width they leave.
        self.presentation.activeChanged.connect(window.set_presenting)
        self._build_menus()
        self._wire()

    # ------------------------------------------------------------------ build
    def _build_menus(self) -> None:
        w = self.window
        bar = w.menuBar()
        menus = {m.title().replace("&", ""): m for m in _menus(bar)}
        file_menu = menus.get("File") or bar.addMenu("&File")
        first = file_menu.actions()[0] if file_menu.actions() else None

        def act(text: str, slot: Any, key: Any = None) -> QAction:
            a = QAction(text, w)
            if key is not None:
                a.setShortcut(QKeySequence(key))
            a.triggered.connect(lambda _c=False: slot())
            return a

        self.open_action = act("&Open session…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = QMenu("Open &recent", w)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.save_action = act("&Save session", self.save, QKeySequence.StandardKey.Save)
        self.save_as_action = act("Save session &as…", self.save_as, "Ctrl+Shift+S")
        for a in (self.open_action,):
            file_menu.insertAction(first, a)
        file_menu.insertMenu(first, self.recent_menu)
        file_menu.insertAction(first, self.save_action)
        file_menu.insertAction(first, self.save_as_action)
        if first is not None:
            file_menu.insertSeparator(first)

        help_menu = menus.get("Help")
        lessons = QMenu("&Lessons", w)
        self.lesson_actions: list[QAction] = []
        for les in self.lessons:
            a = QAction(f"{les.number}  {les.title}", w)
            a.setToolTip(les.commentary)
            a.setShortcut(QKeySequence())  # the number keys are window shortcuts
            a.triggered.connect(lambda _c=False, n=les.number: self.open_lesson(n))
            lessons.addAction(a)
            self.lesson_actions.append(a)
        if help_menu is not None:
            bar.insertMenu(help_menu.menuAction(), lessons)
        else:
            bar.addMenu(lessons)
        self.lessons_menu = lessons

        view_menu = menus.get("View") or bar.addMenu("&View")
        view_menu.addSeparator()
        self.explain_action = self.dock.toggleViewAction()
        self.explain_action.setText("&Explain panel (E)")
        view_menu.addAction(self.explain_action)
        self.present_action = QAction("&Presentation mode (F5)", w, checkable=True)
        self.present_action.triggered.connect(lambda _c=False: self.presentation.toggle())
        view_menu.addAction(self.present_action)
        scale_menu = view_menu.addMenu("Presentation &size")
        self.present_scale_actions = QActionGroup(w)
        for s in PRESENTATION_SCALES:
            a = QAction(f"{s:g}×", w, checkable=True)
            a.setChecked(s == self.presentation.scale)
            a.triggered.connect(lambda _c=False, v=s: self.set_presentation_scale(v))
            self.present_scale_actions.addAction(a)
            scale_menu.addAction(a)

        if help_menu is not None:
            keys = QAction("All keyboard shortcuts (?)", w)
            keys.triggered.connect(lambda _c=False: self.presentation.show_shortcuts())
            help_menu.addAction(keys)

    def _wire(self) -> None:
        m = self.model
        m.trajectoryChanged.connect(self._computed)
        m.stepChanged.connect(self._step)
        m.player.playingChanged.connect(lambda playing: playing or self._step(m.step))
        m.functionChanged.connect(self._function_changed)
        self.window.runs_panel.list.currentRowChanged.connect(self._select_run)

    # ------------------------------------------------------------------ explain
    def _panels(self) -> tuple[ExplainPanel, ExplainPanel]:
        return (self.explain, self.explain_card)

    def _computed(self, traj: Any, _complete: bool) -> None:
        m = self.model
        runs = m.session.runs
        if traj is None or traj.n_runs != len(runs):
            return
        labels = m.run_labels()
        # In dataset mode each step may see only a mini-batch of the samples.
        grad = "∇f_batch" if m.dataset_enabled else "∇f"
        for panel in self._panels():
            panel.set_runs(traj, runs, labels, m.loss, grad_name=grad)
            panel.set_step(m.step)

    def _step(self, i: int) -> None:
        for panel in self._panels():
            panel.set_step(i, playing=self.model.player.playing)

    def _select_run(self, index: int) -> None:
        for panel in self._panels():
            panel.select_run(index)

    def toggle_explain(self) -> None:
        """Show or hide the explain panel (a card over the scene when presenting)."""
        if self.presentation.active:
            card = self.explain_card
            card.setVisible(not card.isVisible())
            if card.isVisible():
                card.raise_()
            self._place_card()  # or give the loss plot its room back
            return
        dock = self.dock
        dock.setVisible(not dock.isVisible())
        if not dock.isVisible() or dock.isFloating():
            return
        w = self.window
        if w.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea:
            # As tall as the explanation needs, at most a third of the window.
            need = self.explain.preferred_height(max(dock.width(), 300))
            need += dock.height() - self.explain.height()  # the dock's title bar
            w.resizeDocks([dock], [min(need, w.height() // 3)], Qt.Orientation.Vertical)
        elif dock.width() < 320:
            # Wide enough for a two-number vector per line at the normal font.
            w.resizeDocks([dock], [380], Qt.Orientation.Horizontal)

    def _place_card(self) -> None:
        """Put the card at the top of the loss column and move the loss plot below it.

        Laid over the plot, the card hid the loss curve a class is asked to
        watch; now the plot keeps the height the card leaves. The card takes
        at most :data:`CARD_MAX_FRACTION` of the column's height (it scrolls
        beyond).
        """
        card = self.explain_card
        column = self.window.scene.column
        if not card.isVisible():
            column.set_margins(top=0)
            return
        margin = 6
        width = max(1, column.width() - 2 * margin)
        # At most a share of the column, and never so tall that the legend
        # and a readable loss plot no longer fit below it.
        cap = min(
            int(column.height() * CARD_MAX_FRACTION), column.height() - column.needed_height()
        )
        height = min(cap, card.preferred_height(width))
        card.setGeometry(margin, margin, width, height)
        column.set_margins(top=height + margin)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.window.scene.column and event.type() == QEvent.Type.Resize:
            if self.explain_card.isVisible():
                self._place_card()
        return False

    # ------------------------------------------------------------------ lessons
    def open_lesson(self, number: int) -> None:
        """Open lesson ``number``: its session, title and commentary (a short note if none)."""
        les = next((x for x in self.lessons if x.number == number), None)
        if les is None:  # a digit key with no lesson: say which there are
            have = lesson_range(x.number for x in self.lessons)
            self.window.show_message(f"Lessons are {have}." if have else "No lessons.", False)
            return
        m = self.model
        self._opening = None  # a file still being checked is not opened over the lesson
        self.lesson = les
        self.path = None
        m.load_session(replace(les.session, theme=m.session.theme))
        m.set_note(self._lesson_note(les))  # inside the editor: presentation mode hides both
        self._show_caption()
        self.window.setWindowTitle(self._lesson_title(les))

    def _function_changed(self, *_: Any) -> None:
        """Forget the lesson if the function on screen is no longer its.

        A lesson stays current until another function is typed or loaded;
        then its title leaves the window's title and the caption, and the
        note under the formulas (the lesson's commentary) gives way to what
        to do with one's own function.
        """
        les = self.lesson
        if les is None or self._current_lesson() is not None:
            self._show_caption()  # a preset loaded while presenting gets its caption
            return
        self.lesson = None
        m = self.model
        note, shown = m.note
        if note == self._lesson_note(les):
            m.set_note(OWN_FUNCTION_NOTE, shown)
        if self.window.windowTitle() == self._lesson_title(les):
            self.window.setWindowTitle("gdviz")
        self._show_caption()

    @staticmethod
    def _lesson_note(les: Lesson) -> str:
        return f"{les.title}. {les.commentary}"

    @staticmethod
    def _lesson_title(les: Lesson) -> str:
        return f"gdviz — lesson {les.number}: {les.title}"

    def toggle_commentary(self) -> None:
        """Show or hide the lesson's commentary (presentation mode)."""
        if self.presentation.active and self._current_lesson() is not None:
            self.commentary.setVisible(not self.commentary.isVisible())

    def _current_lesson(self) -> Lesson | None:
        # A lesson stays current until another function is loaded or typed.
        les = self.lesson
        if les is not None and self.model.session.function != les.session.function:
            return None
        return les

    def _show_caption(self) -> None:
        les = self._current_lesson()
        if les is not None:
            self.caption.setText(f"{les.number}. {les.title}")
            self.commentary.setText(les.commentary)
        else:
            # The function as the formulas show it (f(x, y) = x² + y²).
            shown = self.model.pretty.split("\n")[0]
            self.caption.setText(shown or f"f = {self.model.session.function}")
            self.commentary.setText("")
            self.commentary.hide()
        self.caption.setVisible(self.presentation.active)

    # ------------------------------------------------------------------ presentation
    def editing_widgets(self) -> list[QWidget]:
        """The widgets presentation mode hides (the transport bar and scene stay)."""
        w = self.window
        names = ("editor", "preset_box", "side_scroll", "stats")  # the note is in the editor
        out = [getattr(w, n) for n in names if isinstance(getattr(w, n, None), QWidget)]
        out.append(self.dock)
        return out

    def _presenting(self, active: bool) -> None:
        self.present_action.setChecked(active)
        if not active:
            self.explain_card.hide()
            self._place_card()  # the loss plot gets its room back
            if self._current_lesson() is not None:
                self.model.set_note_shown(True)
        self._show_caption()
        if not active:
            self.commentary.hide()

    def set_presentation_scale(self, scale: float) -> None:
        self.presentation.set_scale(scale)
        for a in self.present_scale_actions.actions():
            a.setChecked(a.text() == f"{scale:g}×")
        _settings().setValue("presentation/scale", float(scale))

    def set_theme(self, theme: Theme) -> None:
        """Follow the window's theme (fonts, colours)."""
        for panel in self._panels():
            panel.set_theme(theme)
        self.explain_card.setStyleSheet(
            f"QWidget#explainCard {{ background: {theme.panel}; "
            f"border: 2px solid {theme.foreground}; }}"
        )
        pt = theme.font_pt
        self.caption.setStyleSheet(f"font-size: {pt * 1.25:.1f}pt; font-weight: 600;")
        self.commentary.setStyleSheet(f"font-size: {pt:.1f}pt;")
        self.presentation.overlay.set_theme(theme)

    # ------------------------------------------------------------------ sessions
    def current_session(self) -> Session:
        """The window's session with the step, speed and theme on screen.

        While presenting, the theme saved is the one the window returns to. In
        dataset mode the session carries the data settings (source, columns,
        batch sizes, seeds, penalty, parameters).

        Raises
        ------
        ValueError
            In dataset mode, when the batch sizes do not parse or no loss has
            compiled yet.
        """
        m = self.model
        session = replace(
            m.session,
            step=int(m.player.step),
            speed=float(m.player.speed),
            theme=self.presentation.return_theme.name,
            data=None,
        )
        if m.dataset_enabled:
            # The function is the per-sample loss; a preset's name would describe another.
            session = replace(session, preset=None, data=m.dataset.data_spec())
        return session

    def open_session(self, path: str | os.PathLike[str]) -> bool:
        """Open a session file; on any problem show why and change nothing.

        The file is read (with its data file, if it names one) and its
        function compiled on the window's compile thread, the function in the
        killable compile process with the window's time limit: neither a big
        data file nor a hostile function freezes the window. The session is
        shown once all of that has worked; a file that cannot be read, or a
        function that does not compile, gets a message and changes nothing.
        Returns True: the file is on its way. Opening another file (or a
        lesson) before this one is checked means this one is not opened.
        """
        w = self.window
        # The time limit is read now (tests shorten it). Not a compile of the
        # window's: whatever the window compiles meanwhile (a preset held until
        # the first paint) must not cancel the file.
        check = partial(_read_and_check, Path(path), compute.COMPILE_TIMEOUT)
        gen = self.model.computer.request_call(check, compile=False)
        self._opening = (gen, Path(path))
        w.show_message(f"Opening {Path(path).name}…", error=False)
        return True

    def _checked(self, gen: int, loaded: Any) -> None:
        """A file was read and its function compiled: show it (if it is still the one to open)."""
        opening = self._take_opening(gen)
        if opening is None:
            return
        _gen, path = opening
        w = self.window
        session = loaded.session
        self.lesson = None
        self.path = path
        if session.theme in THEMES:
            if self.presentation.active:
                # Applied when presentation mode ends.
                scale = self.presentation.return_theme.font_scale
                self.presentation.set_return_theme(get_theme(session.theme, scale))
            elif session.theme != w.theme.name:
                w.set_theme(session.theme)
        if session.data is not None:
            self.model.dataset.open(session, loaded.dataset)
        else:
            self.model.load_session(session)
        self._show_caption()
        self._remember(self.path)
        w.setWindowTitle(f"gdviz — {self.path.name}")
        if loaded.warnings:
            w.show_message(
                f"Opened {self.path.name} with warnings: " + "; ".join(loaded.warnings),
                error=False,
                shown_ms=15000,
            )
        else:
            w.show_message(f"Opened {self.path.name}", error=False, shown_ms=5000)

    def _check_failed(self, gen: int, exc: object) -> None:
        opening = self._take_opening(gen)
        if opening is None:
            return
        path = opening[1]
        w = self.window
        if isinstance(exc, SessionError):  # its message names the file and the place
            w.show_message(f"Could not open the session: {exc}", about="file")
        elif isinstance(exc, ExpressionError):
            w.show_message(f"Could not open the session: {path}: function: {exc}", about="file")
        else:  # never let one file take the window down
            w.show_message(
                f"Could not open the session: {path}: function: could not compile: {exc}",
                about="file",
            )

    def _take_opening(self, gen: int) -> tuple[int, Path] | None:
        """The file being opened if ``gen`` is its check, else None."""
        opening = self._opening
        if opening is None or opening[0] != gen:
            return None
        self._opening = None
        return opening

    def save(self) -> bool:
        """Save to the current file (asks for one the first time)."""
        if self.path is None:
            return self.save_as()
        return self.save_to(self.path)

    def save_as(self, path: str | os.PathLike[str] | None = None) -> bool:
        """Save under a new name (asks for it when ``path`` is None)."""
        if path is None:
            start = str(self.path) if self.path else f"session{SUFFIX}"
            chosen, _f = QFileDialog.getSaveFileName(self.window, "Save session", start, _FILTER)
            if not chosen:
                return False
            path = chosen if chosen.endswith(".toml") else chosen + SUFFIX
        return self.save_to(Path(path))

    def save_to(self, path: str | os.PathLike[str]) -> bool:
        """Write the current session to ``path`` (atomically); report the result."""
        w = self.window
        p = Path(path)
        try:
            save_session(self.current_session(), p)
        except (SessionError, ValueError) as exc:
            w.show_message(f"Could not save the session: {exc}", about="file")
            return False
        self.path = p
        self._remember(p)
        w.setWindowTitle(f"gdviz — {p.name}")
        w.show_message(f"Saved {p}", error=False, shown_ms=5000)
        return True

    def open_dialog(self) -> bool:
        start = str(self.path.parent) if self.path else ""
        chosen, _f = QFileDialog.getOpenFileName(self.window, "Open session", start, _FILTER)
        return self.open_session(chosen) if chosen else False

    # ------------------------------------------------------------------ settings
    def recent_files(self) -> list[str]:
        """Recently opened or saved session files, newest first (existing ones only)."""
        raw = _settings().value("recent/files", [])
        if isinstance(raw, str):
            raw = [raw]
        return [str(p) for p in (raw or []) if isinstance(p, str) and os.path.isfile(p)]

    def _remember(self, path: Path) -> None:
        p = str(path.resolve())
        files = [f for f in self.recent_files() if f != p]
        _settings().setValue("recent/files", [p, *files][:MAX_RECENT])

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        if not files:
            a = self.recent_menu.addAction("(none)")
            a.setEnabled(False)
        for f in files:
            a = self.recent_menu.addAction(f)
            a.triggered.connect(lambda _c=False, f=f: self.open_session(f))

    def restore_settings(self) -> None:
        """Window geometry and dock layout from the last run (call before showing)."""
        s = _settings()
        geom = s.value("window/geometry")
        if geom is not None:
            self.window.restoreGeometry(geom)
        state = s.value("window/state")
        if state is not None:
            self.window.restoreState(state)

    def save_settings(self) -> None:
        """Remember geometry and dock layout (as they are outside presentation mode).

        A start-up check run (``GDVIZ_QUIT_AFTER_MS``) remembers nothing: no
        person arranged that window.
        """
        if self.presentation.active:
            self.presentation.leave()
        if os.environ.get("GDVIZ_QUIT_AFTER_MS", "").strip():
            return
        s = _settings()
        s.setValue("window/geometry", self.window.saveGeometry())
        s.setValue("window/state", self.window.saveState())


def _read_and_check(path: Path, timeout: float) -> Any:
    """Read a session file and compile its function; the loaded file, or an exception.

    Runs on the compile thread. Raises :class:`SessionError` for a file that
    cannot be read (or whose data cannot), :class:`ExpressionError` for a
    function that does not compile: a few texts parse but do not compile,
    e.g. ``asin(x - x + 2)``.
    """
    loaded = load_session(path)
    session = loaded.session
    if session.data is not None:
        _check_dataset_loss(session, loaded.dataset, timeout)
    else:
        compile_loss(session.function, timeout=timeout)
    return loaded


def _check_dataset_loss(session: Session, dataset: Any, timeout: float) -> Any:
    """Compile a session's per-sample loss over its data (ExpressionError if it cannot)."""
    from gdviz.core.dataset_loss import Penalty, compile_dataset_loss

    spec = session.data
    assert spec is not None
    return compile_dataset_loss(
        session.function,
        dataset,
        parameters=spec.parameters,
        penalty=Penalty(spec.penalty, spec.strength),
        timeout=timeout,
    )


def _menus(bar: Any) -> list[QMenu]:
    return [a.menu() for a in bar.actions() if a.menu() is not None]


def _float(v: Any, default: float) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return default
