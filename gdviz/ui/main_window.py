"""The main window: it builds the pieces and connects them, nothing else.

The :class:`~gdviz.ui.session_model.SessionModel` owns the session, the
compiled function, the computed runs and the step; every panel edits it and
every view listens to it, through the bindings of :mod:`gdviz.ui.bindings`.
The :class:`~gdviz.ui.scene.Scene` draws, the panels edit, the
:class:`~gdviz.ui.classroom.Classroom` adds files, lessons and presentation.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QKeySequence,
    QShortcut,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QLabel,
    QMainWindow,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gdviz.core.session import Session
from gdviz.ui import bindings
from gdviz.ui.classroom import Classroom
from gdviz.ui.data_panel import DataPanel
from gdviz.ui.dataset_mode import DatasetMode
from gdviz.ui.function_editor import FunctionEditor
from gdviz.ui.maps import MapsDock
from gdviz.ui.runs_panel import RunsPanel
from gdviz.ui.scene import Scene
from gdviz.ui.session_model import DEFAULT_PRESET, OWN_FUNCTION_NOTE, SessionModel
from gdviz.ui.stats_table import StatsTable
from gdviz.ui.theme import THEMES, Theme, get_theme, stylesheet
from gdviz.ui.transport import TransportBar
from gdviz.ui.view3d import Surface3DView
from gdviz.ui.view_panel import ViewPanel
from gdviz.ui.widgets import Banner, SideScrollArea

__all__ = ["DEFAULT_PRESET", "OWN_FUNCTION_NOTE", "MainWindow"]

#: The side panel's width when its content needs no more (1× text).
SIDE_PANEL_WIDTH = 330
#: How long a note over the plots ("Saved the animation to …") stays (errors stay).
NOTE_SHOWN_MS = 8000


def _section(title: str, content: QWidget) -> QGroupBox:
    """A framed side-panel section with its title as a label inside the frame.

    A ``QGroupBox`` title drawn by the style sheet sits in a fixed margin and
    was overlapped by the content once fonts grew (1.5× and 2× text).
    """
    box = QGroupBox()
    lay = QVBoxLayout(box)
    header = QLabel(title)
    header.setProperty("role", "section")
    lay.addWidget(header)
    lay.addWidget(content)
    return box


class MainWindow(QMainWindow):
    """gdviz's window: function editor, presets, scene, runs, numbers, transport.

    Parameters
    ----------
    session
        What to show first; the default preset when None.
    theme
        Theme name (``"dark"`` or ``"light"``).
    font_scale
        Multiplies font sizes and line widths (projectors: 1.5 or 2).
    """

    def __init__(
        self, session: Session | None = None, theme: str = "dark", font_scale: float = 1.0
    ) -> None:
        super().__init__()
        self.setWindowTitle("gdviz")
        self.resize(1280, 800)
        self.model = SessionModel(session, get_theme(theme, font_scale), parent=self)
        self.presets = self.model.presets
        self._build()
        self._wire()
        self.model.set_theme(self.model.theme)  # every view takes the first look
        self.model.load_session(self.model.session)
        # Session files, lessons, explain panel, presentation mode (F5).
        self.classroom = Classroom(self)
        self.classroom.set_theme(self.theme)
        self.classroom.restore_settings()

    # ------------------------------------------------------------ the model's state
    @property
    def session(self) -> Session:
        return self.model.session

    @property
    def loss(self) -> Any:
        return self.model.loss

    @property
    def trajectory(self) -> Any:
        return self.model.trajectory

    @property
    def complete(self) -> bool:
        return self.model.complete

    @property
    def theme(self) -> Theme:
        return self.model.theme

    @property
    def player(self) -> Any:
        return self.model.player

    @property
    def computer(self) -> Any:
        return self.model.computer

    # ---------------------------------------------------------------- build
    def _build(self) -> None:
        self.editor = FunctionEditor()
        self.preset_box = QComboBox()
        self.preset_box.setAccessibleName("preset")
        self.preset_box.addItem("Presets…", None)
        for p in self.presets:
            self.preset_box.addItem(p.title, p.name)
        # The preset's description: one line under the formulas (plain text).
        self.teaches = self.editor.note
        self.editor.add_to_input_row(self.preset_box)

        self.scene = Scene("both", self.theme)
        self.maps = MapsDock(
            self,
            self.theme,
            current_run=lambda: self.model.selected_config(self.runs_panel.current()),
        )
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.maps)
        self.maps.attach_surface(self.scene.surface)
        # The same runs on a surface a person can turn: a "3D" tab beside the
        # 2-D view (a one-line note where OpenGL is missing).
        self.view3d = Surface3DView(self.theme)
        self.scene.attach_3d(self.view3d)
        self.runs_panel = RunsPanel(self.theme)
        self.view_panel = ViewPanel()
        self.stats = StatsTable()
        self.transport = TransportBar(self.model.player)

        self.data_panel = DataPanel(self.theme)
        data_group = _section("Data", self.data_panel)
        runs_group = _section("Runs", self.runs_panel)
        view_group = _section("View", self.view_panel)
        side = QWidget()
        side_lay = QVBoxLayout(side)
        side_lay.setContentsMargins(0, 0, 4, 0)
        side_lay.addWidget(data_group)
        side_lay.addWidget(runs_group)
        side_lay.addWidget(view_group)
        side_lay.addStretch(1)
        # Never narrower than its content needs at the current text size.
        self.side_scroll = SideScrollArea()
        self.side_scroll.setWidget(side)

        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 0, 0)
        left_lay.addWidget(self.scene, 1)
        left_lay.addWidget(self.stats)  # as tall as its rows (StatsTable.sizeHint)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.side_scroll)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)  # widths: _fit_side_panel, from apply_theme

        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(8, 6, 8, 4)
        lay.setSpacing(4)
        lay.addWidget(self.editor)
        lay.addWidget(self.splitter, 1)
        lay.addWidget(self.transport)
        self.setCentralWidget(central)
        # Messages that belong to no single field (a file that did not open,
        # runs that could not be computed, an export saved) lie over the top
        # of the plots: they never move them.
        self.message = Banner(self.splitter)
        self.message.setProperty("role", "error")
        self._build_menus()

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.export_action = QAction("&Export animation…", self)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.triggered.connect(lambda _c=False: self.export_animation())
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        preset_menu = bar.addMenu("&Presets")
        for p in self.presets:
            act = QAction(p.title, self)
            act.setToolTip(p.teaches)
            act.triggered.connect(lambda _c=False, name=p.name: self.model.load_preset(name))
            preset_menu.addAction(act)

        view_menu = bar.addMenu("&View")
        self.theme_actions = QActionGroup(self)
        for name in THEMES:
            act = QAction(f"{name.capitalize()} theme", self, checkable=True)
            act.setData(name)
            act.triggered.connect(lambda _c=False, n=name: self.set_theme(n))
            self.theme_actions.addAction(act)
            view_menu.addAction(act)
        view_menu.addSeparator()
        self.scale_actions = QActionGroup(self)
        for s in (1.0, 1.5, 2.0):
            act = QAction(f"Text and lines {s:g}×", self, checkable=True)
            act.setData(s)
            act.triggered.connect(lambda _c=False, v=s: self.set_font_scale(v))
            self.scale_actions.addAction(act)
            view_menu.addAction(act)

        maps_menu = bar.addMenu("&Maps")
        maps_menu.addActions(self.maps.menu_actions())

        help_menu = bar.addMenu("&Help")
        keys = QAction("Keyboard shortcuts", self)
        keys.triggered.connect(
            lambda: self.show_message(
                "Space play/pause · → step forward · ← step back · R reset · "
                "click or drag on the surface to set the start",
                error=False,
            )
        )
        help_menu.addAction(keys)

    def _wire(self) -> None:
        m = self.model
        # The style sheet and text sizes first: views measure text in the new font.
        m.themeChanged.connect(self._restyle)
        self.dataset_mode = DatasetMode(m, self.data_panel)
        self.data_panel.set_loss_plot(self.scene.loss_plot)
        bindings.bind_editor(m, self.editor)
        bindings.bind_presets(m, self.preset_box)
        bindings.bind_runs_panel(m, self.runs_panel)
        bindings.bind_view_panel(m, self.view_panel)
        self.zoom_timer = bindings.bind_scene(m, self.scene, self.view3d)
        bindings.bind_stats(m, self.stats, self.scene, self.data_panel.full_loss_at)
        bindings.bind_transport(m, self.transport)
        bindings.bind_maps(m, self.maps)
        m.themeChanged.connect(self.data_panel.set_theme)
        # Then the split between plots and panel, measured with every view restyled.
        m.themeChanged.connect(self._refit)
        m.message.connect(self.show_message)
        # A function that compiles clears what went wrong before; a note
        # ("Opened …") stays.
        m.functionChanged.connect(lambda *_: self.has_error_message() and self.hide_message())
        for key, slot in (
            (Qt.Key.Key_Space, m.player.toggle),
            (Qt.Key.Key_Right, m.player.step_forward),
            (Qt.Key.Key_Left, m.player.step_back),
            (Qt.Key.Key_R, m.player.reset),
        ):
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(slot)

    # -------------------------------------------------------------- commands
    def load_session(self, session: Session) -> None:
        """Show ``session`` (see :meth:`SessionModel.load_session`)."""
        self.model.load_session(session)

    def load_preset(self, name: str) -> None:
        """Load a shipped preset by name."""
        self.model.load_preset(name)

    def open_session(self, path: str) -> bool:
        """Open a session file; a bad one gets a message and changes nothing."""
        return self.classroom.open_session(path)

    def recompute(self) -> None:
        self.model.recompute()

    def run_labels(self) -> list[str]:
        """``"1. gd  lr=0.1"`` per run, with what tells apart runs that share it."""
        return self.model.run_labels()

    def set_theme(self, name: str) -> None:
        self.model.set_theme(get_theme(name, self.theme.font_scale))

    def set_font_scale(self, scale: float) -> None:
        self.model.set_theme(self.theme.scaled(scale))

    def apply_theme(self, theme: Theme) -> None:
        """Restyle the whole window (presentation mode's projector theme, too)."""
        self.model.set_theme(theme)

    # ----------------------------------------------------------------- look
    def _restyle(self, theme: Theme) -> None:
        """The window's own look: the style sheet and the editor's text size."""
        self.setStyleSheet(stylesheet(theme))
        self.editor.set_font_scale(theme.font_pt)

    def _refit(self, theme: Theme) -> None:
        """After every view took a new theme: the side panel's width, the menus' checks."""
        if theme.font_scale != getattr(self, "_fitted_scale", None):
            # A new text size: split the width again (a theme switch keeps
            # where the person dragged the splitter).
            self._fitted_scale = theme.font_scale
            self._fit_side_panel()
        for act in self.theme_actions.actions():
            act.setChecked(act.data() == theme.name)
        for act in self.scale_actions.actions():
            act.setChecked(abs(float(act.data()) - theme.font_scale) < 1e-9)
        self.model.restyle()  # the runs and numbers measured in the new font
        if hasattr(self, "classroom"):  # built after the first theme is applied
            self.classroom.set_theme(theme)

    def _fit_side_panel(self) -> None:
        """Split the width between the plots and the side panel for the current text size.

        The panel gets the width its content prefers, from its 1× width up to
        that times the square root of the text scale (it grows less than the
        text: the plots matter more), as long as the plots' column keeps what
        the numbers table needs. It never gets less than its content's
        minimum, so every control stays reachable whatever the splitter is
        dragged to.
        """
        if self.splitter.isVisible():
            total = sum(self.splitter.sizes())
        else:  # not laid out yet: the window's width less the margins and the handle
            margins = self.centralWidget().layout().contentsMargins()
            total = self.width() - margins.left() - margins.right() - self.splitter.handleWidth()
        cap = round(SIDE_PANEL_WIDTH * max(1.0, self.theme.font_scale) ** 0.5)
        want = max(SIDE_PANEL_WIDTH, min(self.side_scroll.sizeHint().width(), cap))
        room = total - self.stats.needed_width()
        side = max(self.side_scroll.minimumSizeHint().width(), min(want, room))
        self.splitter.setSizes([max(total - side, 1), side])

    def export_animation(self) -> Any:
        """File → Export animation…: the export dialog for what the scene shows now.

        Returns the dialog, or None (with a message) while nothing is computed.
        """
        from gdviz.export.plan import SceneInputs
        from gdviz.ui.export_dialog import open_export_dialog

        styles = self.model.run_styles()
        if self.loss is None or styles is None or not self.complete:
            self.show_message("Nothing to export yet: wait until the runs are computed.")
            return None
        colors, labels, visible = styles
        inputs = SceneInputs(
            loss=self.loss,
            domain=self.scene.view_range(),  # what is on screen, after zoom
            trajectory=self.trajectory,
            colors=colors,
            labels=labels,
            visible=visible,
            view=self.session.view,
            start=self.session.start,
            font_scale=self.theme.font_scale,
        )
        dialog = open_export_dialog(self, inputs, theme=self.theme.name)
        dialog.exported.connect(
            lambda path: self.show_message(f"Saved the animation to {path}", error=False)
        )
        return dialog

    def show_message(self, text: str, error: bool = True, *, shown_ms: int | None = None) -> None:
        """Show ``text`` over the top of the plots, moving nothing.

        An error stays until a click or the next function that compiles; a
        note (``error=False``) also goes after ``shown_ms`` milliseconds
        (:data:`NOTE_SHOWN_MS` by default). Each message replaces the last.
        """
        self.message.setProperty("role", "error" if error else "hint")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.setText(text)
        self.message.show_for(None if error else (shown_ms or NOTE_SHOWN_MS))

    def has_error_message(self) -> bool:
        """Whether an error is shown over the plots (notes do not count)."""
        return self.message.isVisible() and self.message.property("role") == "error"

    def hide_message(self) -> None:
        self.message.hide()

    # ------------------------------------------------------------ lifetime
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self.model.start)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.classroom.save_settings()
        self.zoom_timer.stop()
        self.model.shutdown()
        self.maps.shutdown()
        super().closeEvent(event)
