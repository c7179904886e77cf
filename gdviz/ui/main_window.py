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
    QShowEvent,
)
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QLabel,
    QMainWindow,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gdviz.core.session import Session
from gdviz.ui import bindings
from gdviz.ui.classroom import Classroom
from gdviz.ui.data_panel import DataPanel
from gdviz.ui.dataset_mode import DatasetMode
from gdviz.ui.function_editor import FunctionEditor
from gdviz.ui.keys import KeyFocus, bind_keys
from gdviz.ui.maps import MapsDock
from gdviz.ui.messages import Banner
from gdviz.ui.plots_area import SIDE_PANEL_WIDTH, PlotsArea
from gdviz.ui.runs_panel import RunsPanel
from gdviz.ui.scene import Scene
from gdviz.ui.session_model import DEFAULT_PRESET, OWN_FUNCTION_NOTE, SessionModel
from gdviz.ui.stats_table import StatsTable
from gdviz.ui.theme import THEMES, Theme, get_theme, stylesheet
from gdviz.ui.transport import TransportBar
from gdviz.ui.view3d import Surface3DView
from gdviz.ui.view_panel import ViewPanel
from gdviz.ui.widgets import SideScrollArea

__all__ = ["DEFAULT_PRESET", "OWN_FUNCTION_NOTE", "SIDE_PANEL_WIDTH", "MainWindow"]

#: Margins around the window's content (left, top, right, bottom) at the desk.
WINDOW_MARGINS = (8, 6, 8, 4)
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
        # 2-D view (a one-line note where OpenGL is missing). Both listen to
        # the model; neither knows the other. In a window of its own, so the
        # 2-D animation is not composited through OpenGL.
        self.view3d = Surface3DView(self.theme, own_window=True)
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

        # The surface is the hero: the whole height on the left, as wide as
        # its shape needs; the loss column, the side panel and the numbers
        # share the rest (plots_area.py).
        surface_view, _column = self.scene.detach_views()
        self.surface_tabs = QTabWidget()
        self.surface_tabs.setDocumentMode(True)
        self.surface_tabs.addTab(surface_view, "2D")
        self.surface_tabs.addTab(self.view3d, "3D")
        self.plots = PlotsArea(
            self.surface_tabs,
            self.scene,
            self.side_scroll,
            self.stats,
            lambda: self.theme.font_scale,
        )
        self.body, self.splitter = self.plots.body, self.plots.splitter
        # Its views live in the plot area now; it stays their owner (and goes
        # with the window), drawing into them, never shown itself.
        self.scene.setParent(self.plots)
        self.scene.hide()

        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(*WINDOW_MARGINS)
        lay.setSpacing(4)
        lay.addWidget(self.editor)
        lay.addWidget(self.plots, 1)
        lay.addWidget(self.transport)
        self.setCentralWidget(central)
        # Messages that belong to no single field (a file that did not open,
        # runs that could not be computed, an export saved) lie over the top
        # of the surface, under the 2D/3D tabs: they never move them.
        tabs = self.surface_tabs
        self.message = Banner(self.surface_tabs, central, below=tabs.tabBar)
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
        self.zoom_timer = bindings.bind_scene(m, self.scene)
        bindings.bind_view3d(m, self.view3d)
        bindings.bind_stats(m, self.stats, self.scene, self.data_panel.full_loss_at)
        bindings.bind_transport(m, self.transport)
        bindings.bind_maps(m, self.maps)
        m.themeChanged.connect(self.data_panel.set_theme)
        # Then the split between plots and panel, measured with every view restyled.
        m.themeChanged.connect(self._refit)
        # A new view window may have another shape: the surface's width follows.
        for signal in (m.functionChanged, m.domainChanged, m.viewChanged):
            signal.connect(lambda *_: self.plots.refit_soon())
        m.message.connect(self.show_message)
        # A function that compiles clears what went wrong with the last one; a
        # note ("Opened …") or an error about a file stays.
        m.functionChanged.connect(lambda *_: self.message.dismiss("function"))
        # The player's keys (the classroom binds its own from the same map);
        # a text field keeps them only while a person types in it.
        player = m.player
        bind_keys(self, dict(play=player.toggle, forward=player.step_forward,
                             back=player.step_back, reset=player.reset))  # fmt: skip
        scene = self.scene
        areas = (self.transport, self.surface_tabs, scene.column)
        self.key_focus = KeyFocus(self, home=scene.surface_view, click_areas=areas)

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
            # where the person dragged the splitter); the numbers may move.
            self._fitted_scale = theme.font_scale
            self.plots.refit_now()
        for act in self.theme_actions.actions():
            act.setChecked(act.data() == theme.name)
        for act in self.scale_actions.actions():
            act.setChecked(abs(float(act.data()) - theme.font_scale) < 1e-9)
        self.model.restyle()  # the runs and numbers measured in the new font
        if hasattr(self, "classroom"):  # built after the first theme is applied
            self.classroom.set_theme(theme)

    def set_presenting(self, presenting: bool) -> None:
        """Presenting, the plots reach to the window's edges: every pixel goes to them."""
        margins = (2, 2, 2, 2) if presenting else WINDOW_MARGINS
        self.centralWidget().layout().setContentsMargins(*margins)
        self.plots.fit()

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

    def show_message(
        self, text: str, error: bool = True, *, shown_ms: int | None = None, about: str = "function"
    ) -> None:
        """Show ``text`` over the top of the plots, moving nothing.

        An error stays until it is closed or fixed: one ``about`` the
        ``"function"`` (the default: runs, data, what is computed) goes when a
        function compiles, one about a ``"file"`` only when closed or replaced.
        A note (``error=False``) goes after ``shown_ms`` milliseconds
        (:data:`NOTE_SHOWN_MS` by default). Each message replaces the last;
        a long one shows two lines and a "Details…" button.
        """
        msec = None if error else (shown_ms or NOTE_SHOWN_MS)
        self.message.show_message(text, "error" if error else "hint", msec, about)

    def has_error_message(self) -> bool:
        """Whether an error is shown over the plots (notes do not count)."""
        return self.message.isVisible() and self.message.property("role") == "error"

    def hide_message(self) -> None:
        self.message.hide()

    # ------------------------------------------------------------ lifetime
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self.model.start)
        self.plots.refit_soon()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.classroom.save_settings()
        self.zoom_timer.stop()
        self.model.shutdown()
        self.maps.shutdown()
        super().closeEvent(event)
