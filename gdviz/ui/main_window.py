"""The main window: composition and wiring only.

Every piece lives in its own module: the :class:`~gdviz.ui.scene.Scene` draws,
the :class:`~gdviz.ui.player.Player` moves the step index, the panels edit a
:class:`~gdviz.core.session.Session`, and the
:class:`~gdviz.ui.compute.Computer` compiles and computes on a worker thread.
This module connects them: edits update the session, a changed session is
recompiled or recomputed, and results are handed to the views.
"""

from __future__ import annotations

import time
from dataclasses import replace
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

from gdviz.core.presets import Preset, load_presets
from gdviz.core.session import RunSpec, Session, ViewSettings, run_labels
from gdviz.core.session_io import clamp_domain
from gdviz.ui.classroom import Classroom
from gdviz.ui.compute import COMPILE_TIMEOUT, Computer, RunRequest
from gdviz.ui.data_panel import DataPanel, DatasetMode
from gdviz.ui.function_editor import FunctionEditor
from gdviz.ui.maps import MapsDock
from gdviz.ui.player import Player
from gdviz.ui.runs_panel import MAX_RUNS, RunsPanel
from gdviz.ui.scene import Scene
from gdviz.ui.stats_table import StatsTable
from gdviz.ui.theme import THEMES, Theme, get_theme, stylesheet
from gdviz.ui.transport import TransportBar
from gdviz.ui.view3d import Surface3DView
from gdviz.ui.view_panel import ViewPanel
from gdviz.ui.widgets import Banner, SideScrollArea

__all__ = ["DEFAULT_PRESET", "MainWindow"]

DEFAULT_PRESET = "rosenbrock"
#: While playing, the numbers table is refreshed at most this often (seconds);
#: when paused or stepping it always shows the exact step.
STATS_INTERVAL = 0.1
#: Coalesce bursts of edits (dragging the start point) into one recompute.
RECOMPUTE_DELAY_MS = 30
#: The note under the formulas for a function that is no preset's: what to do next.
OWN_FUNCTION_NOTE = (
    "Your function. Click or drag on the surface to set the start; "
    "Space plays, ← → step, R goes back to the start."
)
#: The side panel's width when its content needs no more (1× text).
SIDE_PANEL_WIDTH = 330
#: How long a note over the plots ("Saved the animation to …") stays (errors stay).
NOTE_SHOWN_MS = 8000


def _default_domain(dim: int) -> tuple[tuple[float, float], ...]:
    return ((-3.0, 3.0),) if dim == 1 else ((-3.0, 3.0), (-3.0, 3.0))


def _default_start(domain: tuple[tuple[float, float], ...]) -> tuple[float, ...]:
    # Two thirds of the way towards the top-left: off-centre, so there is a path to see.
    return tuple(lo + (hi - lo) * f for (lo, hi), f in zip(domain, (0.15, 0.85), strict=False))


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
        self.presets: list[Preset] = load_presets()
        if session is None:
            session = next(p for p in self.presets if p.name == DEFAULT_PRESET).session
        self.session: Session = session
        self.theme: Theme = get_theme(theme, font_scale)
        self.loss: Any = None
        self.trajectory: Any = None
        self.complete = False
        self._compute_key: Any = None
        self._pending: Session | None = None
        self._last_stats = 0.0
        self._resume_step = 0
        self._home_domain: tuple[tuple[float, float], ...] = session.domain
        self._started = False
        self._held_text: str | None = None

        self.computer = Computer(self)
        self.player = Player(self)
        self._build()
        self._wire()
        self.apply_theme(self.theme)
        self.load_session(session)
        # Session files, lessons, explain panel, presentation mode (F5).
        self.classroom = Classroom(self)
        self.classroom.set_theme(self.theme)
        self.classroom.restore_settings()

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
        self.maps = MapsDock(self, self.theme, current_run=self._selected_run_config)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.maps)
        self.maps.attach_surface(self.scene.surface)
        # The same runs on a surface a person can turn: a "3D" tab beside the
        # 2-D view (a one-line note where OpenGL is missing).
        self.view3d = Surface3DView(self.theme)
        self.scene.attach_3d(self.view3d)
        self.runs_panel = RunsPanel(self.theme)
        self.view_panel = ViewPanel()
        self.stats = StatsTable()
        self.transport = TransportBar(self.player)

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

        self._recompute_timer = QTimer(self)
        self._recompute_timer.setSingleShot(True)
        self._recompute_timer.setInterval(RECOMPUTE_DELAY_MS)
        self._recompute_timer.timeout.connect(self.recompute)
        self._zoom_timer = QTimer(self)
        self._zoom_timer.setSingleShot(True)
        self._zoom_timer.setInterval(200)
        self._zoom_timer.timeout.connect(self._zoom_settled)

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
            act.triggered.connect(lambda _c=False, name=p.name: self.load_preset(name))
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
        self.dataset_mode = DatasetMode(self, self.data_panel)
        self.editor.textSettled.connect(self._compile)
        self.computer.compiled.connect(self._on_compiled)
        self.computer.compileFailed.connect(self._on_compile_failed)
        self.computer.computed.connect(self._on_computed)
        self.computer.computeFailed.connect(self._on_compute_failed)
        self.preset_box.activated.connect(self._preset_chosen)
        self.runs_panel.runsChanged.connect(self._runs_changed)
        self.view_panel.domainChanged.connect(self._domain_changed)
        self.view_panel.startChanged.connect(self._start_changed)
        self.view_panel.stepsChanged.connect(self._steps_changed)
        self.view_panel.viewChanged.connect(self._view_changed)
        self.view3d.heightModeChanged.connect(self._height_mode_changed)
        self.view_panel.resetViewRequested.connect(self._reset_zoom)
        self.scene.startPicked.connect(self._start_changed)
        self.maps.addRun.connect(self._add_run_from_map)
        self.maps.setStart.connect(self._start_changed)
        self.scene.surface.getViewBox().sigRangeChangedManually.connect(
            lambda *_: self._zoom_timer.start()
        )
        self.player.stepChanged.connect(self._show_step)
        self.player.playingChanged.connect(
            lambda playing: playing or self._show_step(self.player.step)
        )
        self.transport.speedChanged.connect(
            lambda v: self._set_session(replace(self.session, speed=v))
        )
        for key, slot in (
            (Qt.Key.Key_Space, self.player.toggle),
            (Qt.Key.Key_Right, self.player.step_forward),
            (Qt.Key.Key_Left, self.player.step_back),
            (Qt.Key.Key_R, self.player.reset),
        ):
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(slot)

    # -------------------------------------------------------------- session
    def _set_session(self, session: Session) -> None:
        self.session = session

    def load_session(self, session: Session) -> None:
        """Show ``session``: fill every panel, then compile its function and compute."""
        self.dataset_mode.leave()  # a preset or file is a plain function
        self.player.pause()
        self._pending = session
        self.session = session
        self.runs_panel.set_runs(session.runs)
        self.view_panel.set_values(
            session.domain,
            session.start,
            session.steps,
            session.view,
            ("x", "y")[: len(session.domain)],
        )
        self.scene.set_view(session.view)
        self.transport.set_speed(session.speed)
        self.player.seek(0)
        self._resume_step = session.step
        preset = self._preset(session.preset)
        # The note's line is always there (a preset's description, or what to
        # do with one's own function): a message in its place or a new note
        # then never moves the plots.
        self.teaches.setText(preset.teaches if preset else OWN_FUNCTION_NOTE)
        self.editor.set_note_visible(True)
        idx = self.preset_box.findData(session.preset) if preset else 0
        self.preset_box.setCurrentIndex(max(idx, 0))
        self.editor.set_text(session.function)

    def _preset(self, name: str | None) -> Preset | None:
        """The shipped preset called ``name``, or None."""
        return next((p for p in self.presets if p.name == name), None)

    def load_preset(self, name: str) -> None:
        """Load a shipped preset by name."""
        preset = self._preset(name)
        if preset is None:
            self.show_message(f"no preset named {name!r}")
            return
        self.load_session(replace(preset.session, theme=self.theme.name))

    def open_session(self, path: str) -> bool:
        """Open a session file; a bad one gets a message and changes nothing."""
        return self.classroom.open_session(path)

    def _preset_chosen(self, index: int) -> None:
        name = self.preset_box.itemData(index)
        if name:
            self.load_preset(name)

    # -------------------------------------------------------------- compile
    def _compile(self, text: str) -> None:
        if self.dataset_mode.enabled:
            self.dataset_mode.compile(text)
            return
        if not self._started:
            # Before the window's first paint, hold the request: the worker's
            # SymPy import would compete with painting for the interpreter.
            self._held_text = text
            return
        # Shipped presets are trusted and simple: compile them in-process, which
        # skips starting the compile process when the window opens. Everything
        # typed goes through the killable process with a time limit.
        trusted = any(p.session.function == text for p in self.presets)
        self.computer.request_compile(text, timeout=None if trusted else COMPILE_TIMEOUT)

    def _on_compiled(self, _gen: int, loss: Any, pretty: str) -> None:
        loaded = self._pending is not None
        session = self._pending or self.session
        self._pending = None
        dim = loss.dim
        if loaded or len(self._home_domain) != dim:
            self._home_domain = session.domain  # what "Reset zoom" goes back to
        if len(session.domain) != dim or len(session.start) != dim:
            # One variable became two (or back): a fresh view window and start.
            dom = _default_domain(dim)
            session = replace(session, domain=dom, start=_default_start(dom))
            session = replace(session, runs=tuple(replace(r, start=None) for r in session.runs))
            self._home_domain = dom
        session = replace(session, function=loss.text)
        preset = self._preset(session.preset)
        if preset is not None and self.teaches.text() == preset.teaches:
            if loss.text != preset.session.function:
                self.teaches.setText(OWN_FUNCTION_NOTE)  # the description is of another function
        self.session = session
        self.loss = loss
        self.editor.show_ok(loss.text, pretty, tuple(loss.variables))
        if self.classroom.lesson_left():
            # The lesson's commentary and title were about another function.
            self.teaches.setText(OWN_FUNCTION_NOTE)
        self.view_panel.set_values(
            session.domain, session.start, session.steps, session.view, tuple(loss.variables)
        )
        self.scene.set_problem(loss, session.domain)
        self.scene.set_start(session.start)
        self._maps_problem()
        if self.has_error_message():
            self.hide_message()  # what went wrong before; a note ("Opened …") stays
        self.recompute()

    def _on_compile_failed(self, _gen: int, err: Any) -> None:
        self._pending = None
        message = getattr(err, "message", None) or str(err)
        problem = getattr(err, "problem", None) or message
        hint = getattr(err, "hint", None)
        column = getattr(err, "column", None)
        # "unknown function 'sine' (column 10) — did you mean sin?": the column
        # in brackets after the problem, not run on after its last word.
        text = f"{problem} (column {column})" if column is not None else problem
        if hint and hint not in text:
            text = f"{text} — {hint}"
        self.editor.show_error(text, column)

    # -------------------------------------------------------------- compute
    def _configs(self) -> list[Any] | None:
        """Engine run configurations for the session, or None (message shown)."""
        from gdviz.core.engine import RunConfig
        from gdviz.core.optimizers import OPTIMIZERS
        from gdviz.core.schedules import parse_schedule

        configs = []
        for i, run in enumerate(self.session.runs):
            spec = OPTIMIZERS.get(run.optimizer)
            try:
                if spec is None:
                    raise ValueError(f"unknown optimizer {run.optimizer!r}")
                params = spec.resolve(dict(run.params))
                sched = parse_schedule(run.schedule or "constant")
            except ValueError as exc:
                self.show_message(f"run {i + 1}: {exc}")
                return None
            configs.append(RunConfig(run.optimizer, params, self.session.run_start(i), sched))
        return configs

    def _key(self) -> Any:
        s = self.session
        runs = tuple(
            (r.optimizer, tuple(sorted(r.params.items())), r.schedule, s.run_start(i))
            for i, r in enumerate(s.runs)
        )
        return (id(self.loss), runs, s.steps, s.noise, s.noise_seed, self.dataset_mode.key())

    def recompute(self) -> None:
        """Compute the session's runs on the worker (if anything that matters changed)."""
        if self.loss is None:
            return
        key = self._key()
        if key == self._compute_key:
            self._redraw_runs()  # only colours or visibility changed
            return
        configs = self._configs()
        if configs is None:
            return
        self._compute_key = key
        self._resume_step = max(self._resume_step, self.player.step)
        from gdviz.core.engine import GradientNoise

        s = self.session
        noise = GradientNoise(s.noise, s.noise_seed) if s.noise > 0 else None
        loss = self.loss
        if self.dataset_mode.enabled:
            try:  # each run's batch size and the shuffle seed
                loss = self.dataset_mode.objective()
            except ValueError as exc:
                self._compute_key = None
                self.show_message(str(exc))
                return
        self.computer.request_run(RunRequest(loss, configs, s.steps, noise=noise))

    def _on_computed(self, _gen: int, traj: Any, complete: bool) -> None:
        self.trajectory = traj
        self.complete = complete
        self._redraw_runs()
        self.transport.set_limit(int(traj.positions.shape[0] - 1), complete)
        if not self.player.playing:
            self.player.seek(min(self._resume_step, self.player.limit))
        self._show_step(self.player.step, force=True)
        if complete:
            self._resume_step = 0

    def _on_compute_failed(self, _gen: int, message: str) -> None:
        self._compute_key = None
        self.show_message(f"could not compute the runs: {message.splitlines()[0]}")

    def _run_styles(self) -> tuple[list[str], list[str], list[bool]] | None:
        """Colours, labels and visibility of the computed runs (None while out of date)."""
        if self.trajectory is None:
            return None
        runs = self.session.runs
        k = self.trajectory.positions.shape[1]
        if k != len(runs):
            return None  # a recompute for the new run list is on its way
        colors = [self.runs_panel.color_of(i) for i in range(k)]
        return colors, self.run_labels(), [r.visible for r in runs]

    def run_labels(self) -> list[str]:
        """``"1. gd  lr=0.1"`` per run, with what tells apart runs that share it."""
        runs = self.session.runs
        sizes = None
        if self.dataset_mode.enabled:
            try:
                sizes = self.dataset_mode.panel.batch_sizes(len(runs))
            except ValueError:
                sizes = None  # the panel shows what is wrong with them
        return run_labels(runs, sizes)

    def _redraw_runs(self) -> None:
        styles = self._run_styles()
        if styles is None:
            return
        colors, labels, visible = styles
        self.scene.set_runs(self.trajectory, colors, labels, visible)
        # In dataset mode the table shows the loss over all the data, not
        # over the mini-batch each step happened to draw.
        data = self.dataset_mode.enabled
        self.stats.set_loss_source(self.data_panel.full_loss_at if data else None)
        self.stats.set_runs(self.trajectory, colors, labels)
        self.dataset_mode.set_runs(self.trajectory, colors, labels)

    def _show_step(self, i: int, force: bool = False) -> None:
        self.scene.set_step(i)
        self.data_panel.show_step(i)
        if self.stats.isHidden():
            # Presentation mode hides the numbers: the legend says, under each
            # name, which run is running, diverged, converged or stopped (the
            # legend is laid out again only when one of them changes).
            self.scene.set_run_notes(self.stats.badges_at(i))
        else:
            self.scene.set_run_notes([])
        now = time.perf_counter()
        if force or not self.player.playing or now - self._last_stats >= STATS_INTERVAL:
            self._last_stats = now
            self.stats.show_step(i)

    # ---------------------------------------------------------- edits → model
    def edit_session(self, **changes: Any) -> None:
        """Apply a person's edit to the session, and to a loaded one still compiling.

        A preset, lesson or file becomes the session when its function has
        compiled (``_pending``); an edit made meanwhile (a run removed) must not
        be undone then, or the run list and the session disagree.
        """
        self.session = replace(self.session, **changes)
        if self._pending is not None:
            self._pending = replace(self._pending, **changes)

    def _runs_changed(self, runs: tuple[RunSpec, ...]) -> None:
        self.edit_session(runs=runs)
        self._recompute_timer.start()

    def _start_changed(self, start: tuple[float, ...]) -> None:
        # A new common start: every run starts there (per-run starts are cleared).
        runs = tuple(replace(r, start=None) for r in self.session.runs)
        self.edit_session(start=tuple(start), runs=runs)
        self.view_panel.set_start(self.session.start)
        self.scene.set_start(self.session.start)
        self._maps_problem()
        self.player.pause()
        self._resume_step = 0
        self.player.seek(0)
        self._recompute_timer.start()

    def _maps_problem(self) -> None:
        if self.loss is not None:
            self.maps.set_problem(self.loss, self.session.start, self.session.domain)

    def _selected_run_config(self) -> Any:
        """The run selected in the list as a RunConfig (pre-fills the maps)."""
        from gdviz.core.engine import RunConfig
        from gdviz.core.schedules import parse_schedule

        i, runs = self.runs_panel.current(), self.session.runs
        if not 0 <= i < len(runs):
            return None
        run = runs[i]
        sched = parse_schedule(run.schedule or "constant")
        return RunConfig(run.optimizer, dict(run.params), self.session.run_start(i), sched)

    def _add_run_from_map(self, cfg: Any) -> None:
        """A clicked sweep cell joins the race (keeping its start if it differs)."""
        runs = self.session.runs
        if len(runs) >= MAX_RUNS:
            self.show_message(f"at most {MAX_RUNS} runs: remove one to add this one")
            return
        start = None if tuple(cfg.start) == tuple(self.session.start) else tuple(cfg.start)
        run = RunSpec(cfg.optimizer, dict(cfg.params), cfg.schedule.to_text(), start)
        runs = (*runs, run)
        self.runs_panel.set_runs(runs, select=len(runs) - 1)
        self._runs_changed(runs)

    def _steps_changed(self, steps: int) -> None:
        self.edit_session(steps=int(steps))
        self._recompute_timer.start()

    def _domain_changed(self, domain: tuple[tuple[float, float], ...]) -> None:
        if self.loss is None:
            return
        try:
            self.scene.set_problem(self.loss, domain)
        except ValueError as exc:
            self.view_panel.show_error(str(exc))
            return
        self.edit_session(domain=tuple(domain))
        self._maps_problem()
        self._home_domain = self.session.domain
        self.scene.set_start(self.session.start)
        self.scene.set_step(self.player.step)

    def _zoom_settled(self) -> None:
        """After mouse zoom or pan, resample the surface for the visible window."""
        if self.loss is None:
            return
        try:
            # Zoomed out past what a session file holds: the surface stops at ±1e6.
            dom = clamp_domain(self.scene.view_range())
            self.scene.set_problem(self.loss, dom, reset_view=False)
        except ValueError:
            return
        self.session = replace(self.session, domain=dom)
        self._maps_problem()
        self.view_panel.set_domain(dom)
        self.scene.set_step(self.player.step)

    def _reset_zoom(self) -> None:
        """Back to the view window the problem was opened (or last typed) with."""
        home = self._home_domain
        if self.loss is None or len(home) != self.loss.dim:
            self.scene.reset_range()
            return
        self._domain_changed(home)
        self.view_panel.set_domain(home)

    def _view_changed(self, view: ViewSettings) -> None:
        self.edit_session(view=view)
        self.scene.set_view(view)

    def _height_mode_changed(self, mode: str) -> None:
        # Chosen in the 3-D view's own menu: the session (saved, exported) keeps it.
        if mode != self.session.view.height_3d:
            view = replace(self.session.view, height_3d=mode)
            self.edit_session(view=view)
            self.view_panel.set_view(view)

    # ----------------------------------------------------------------- look
    def apply_theme(self, theme: Theme) -> None:
        """Restyle the whole window (widgets, scene, run colours)."""
        self.theme = theme
        self.setStyleSheet(stylesheet(theme))
        self.editor.set_font_scale(theme.font_pt)
        self.scene.set_theme(theme)
        self.runs_panel.set_theme(theme)
        self.maps.set_theme(theme)
        self.stats.set_font_size(theme.font_pt)
        self.data_panel.set_theme(theme)
        if theme.font_scale != getattr(self, "_fitted_scale", None):
            # A new text size: split the width again (a theme switch keeps
            # where the person dragged the splitter).
            self._fitted_scale = theme.font_scale
            self._fit_side_panel()
        for act in self.theme_actions.actions():
            act.setChecked(act.data() == theme.name)
        for act in self.scale_actions.actions():
            act.setChecked(abs(float(act.data()) - theme.font_scale) < 1e-9)
        self._redraw_runs()
        self._show_step(self.player.step, force=True)  # the numbers measured in the new font
        if hasattr(self, "classroom"):  # built after the first theme is applied
            self.classroom.set_theme(theme)

    def set_theme(self, name: str) -> None:
        self.session = replace(self.session, theme=name)
        self.apply_theme(get_theme(name, self.theme.font_scale))

    def set_font_scale(self, scale: float) -> None:
        self.apply_theme(self.theme.scaled(scale))

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

        styles = self._run_styles()
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
        if not self._started:
            QTimer.singleShot(0, self._start)

    def _start(self) -> None:
        self._started = True
        if self._held_text is not None:
            text, self._held_text = self._held_text, None
            self._compile(text)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.classroom.save_settings()
        self.player.pause()
        self._zoom_timer.stop()
        self._recompute_timer.stop()
        self.computer.shutdown()
        self.maps.shutdown()
        super().closeEvent(event)
