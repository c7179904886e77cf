"""The window's one model: the session a person set, its compiled loss, the runs and the step.

:class:`SessionModel` owns the current :class:`~gdviz.core.session.Session`,
the compiled loss, the computed :class:`~gdviz.core.engine.Trajectory` and the
:class:`~gdviz.ui.player.Player` that moves the step on screen. Panels edit it
through its methods; views listen to its signals, one per concern, and never
to each other. It compiles and computes on the
:class:`~gdviz.ui.compute.Computer`'s worker thread, so no edit blocks the
window.

Signals (model → views)
-----------------------
sessionLoaded(Session)
    A whole new session (a preset, lesson or file): every panel refills.
functionTextChanged(str)
    The function's text was set by the program (not typed): editors show it.
compiling()
    A function is on its way to the compile thread.
functionChanged(object, str, str)
    A function compiled and is now shown: the loss, its formulas, the prompt
    (``"f(x, y) ="``, or ``"ℓᵢ ="`` in dataset mode).
functionFailed(str, object)
    The text does not compile: the message and the 1-based column (or None).
    The last good function stays.
runsChanged(tuple)
    The runs (:class:`~gdviz.core.session.RunSpec`) changed.
domainChanged(tuple, bool)
    The view window changed (one ``(low, high)`` pair per variable), and
    whether views show exactly it (False: a zoom or pan that views already
    show; only the surface is sampled again).
startChanged(tuple)
    The common start point changed.
stepsChanged(int)
    How many steps to compute.
viewChanged(ViewSettings)
    How the surface and loss are drawn.
speedChanged(float)
    Playback speed (steps per second).
presetChanged(object)
    The preset the session came from (a name, or None).
noteChanged(str, bool)
    The note under the formulas (a preset's description, a lesson's
    commentary, or what to do next) and whether it is shown.
trajectoryChanged(object, bool)
    New computed runs (a :class:`~gdviz.core.engine.Trajectory`) and whether
    they are complete.
stepChanged(int)
    The step on screen.
themeChanged(Theme)
    The look (colours, text size).
message(str, bool)
    Something to tell the person that belongs to no single field: the text
    and whether it is an error.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from gdviz.core.presets import Preset, load_presets
from gdviz.core.session import RunSpec, Session, ViewSettings, run_config, run_configs, run_labels
from gdviz.core.session_io import MAX_COORD
from gdviz.core.surface import normalize_domain
from gdviz.ui.compute import COMPILE_TIMEOUT, Computer, RunRequest
from gdviz.ui.player import Player
from gdviz.ui.theme import Theme, get_theme

__all__ = [
    "DEFAULT_PRESET",
    "MAX_RUNS",
    "OWN_FUNCTION_NOTE",
    "RECOMPUTE_DELAY_MS",
    "DatasetHost",
    "SessionModel",
    "default_domain",
    "default_start",
]

DEFAULT_PRESET = "rosenbrock"
#: Most runs in one race.
MAX_RUNS = 16
#: Coalesce bursts of edits (dragging the start point) into one recompute.
RECOMPUTE_DELAY_MS = 30
#: The note under the formulas for a function that is no preset's: what to do next.
OWN_FUNCTION_NOTE = (
    "Your function. Click or drag on the surface to set the start; "
    "Space plays, ← → step, R goes back to the start."
)


def default_domain(dim: int) -> tuple[tuple[float, float], ...]:
    """The view window a new function of ``dim`` variables opens with."""
    return ((-3.0, 3.0),) if dim == 1 else ((-3.0, 3.0), (-3.0, 3.0))


def default_start(domain: tuple[tuple[float, float], ...]) -> tuple[float, ...]:
    """Two thirds of the way towards the top-left: off-centre, so there is a path to see."""
    return tuple(lo + (hi - lo) * f for (lo, hi), f in zip(domain, (0.15, 0.85), strict=False))


class DatasetHost(Protocol):
    """What the model asks of dataset mode (:class:`~gdviz.ui.dataset_mode.DatasetMode`)."""

    @property
    def enabled(self) -> bool: ...

    def compile(self, text: str) -> None: ...

    def objective(self) -> Any: ...

    def key(self) -> Any: ...

    def batch_sizes(self, n: int) -> Any: ...

    def leave(self) -> None: ...


class SessionModel(QObject):
    """The session on screen, its compiled function, its computed runs and the step.

    Parameters
    ----------
    session
        What to show first; the default preset when None.
    theme
        The look to start with.
    parent
        The owning QObject (the window).
    """

    sessionLoaded = Signal(object)
    functionTextChanged = Signal(str)
    compiling = Signal()
    functionChanged = Signal(object, str, str)
    functionFailed = Signal(str, object)
    runsChanged = Signal(tuple)
    domainChanged = Signal(tuple, bool)
    startChanged = Signal(tuple)
    stepsChanged = Signal(int)
    viewChanged = Signal(object)
    speedChanged = Signal(float)
    presetChanged = Signal(object)
    noteChanged = Signal(str, bool)
    trajectoryChanged = Signal(object, bool)
    stepChanged = Signal(int)
    themeChanged = Signal(object)
    message = Signal(str, bool)

    def __init__(
        self,
        session: Session | None = None,
        theme: Theme | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.presets: list[Preset] = load_presets()
        if session is None:
            session = self.preset(DEFAULT_PRESET).session  # type: ignore[union-attr]
        self._session: Session = session
        self._theme: Theme = theme or get_theme(session.theme)
        self._loss: Any = None
        self._pretty = ""
        self._trajectory: Any = None
        self._complete = False
        self._function_text = session.function
        self._note = ""
        self._note_shown = False
        self._pending: Session | None = None  # a loaded session waiting for its compile
        self._shown: Session = session  # the session the views show while one loads
        self._compute_key: Any = None
        self._resume_step = 0
        self._home_domain: tuple[tuple[float, float], ...] = session.domain
        self._held_text: str | None = None
        self._started = False
        self._error: tuple[str, Any] | None = None
        self.dataset: DatasetHost | None = None

        self.computer = Computer(self)
        self.player = Player(self)
        self.player.stepChanged.connect(self.stepChanged)
        self.computer.compiled.connect(self._compiled)
        self.computer.compileFailed.connect(self._compile_failed)
        self.computer.computed.connect(self._computed)
        self.computer.computeFailed.connect(self._compute_failed)
        self._recompute_timer = QTimer(self)
        self._recompute_timer.setSingleShot(True)
        self._recompute_timer.setInterval(RECOMPUTE_DELAY_MS)
        self._recompute_timer.timeout.connect(self.recompute)

    # ------------------------------------------------------------------ state
    @property
    def session(self) -> Session:
        """Everything the person set (the function as last compiled)."""
        return self._session

    @property
    def loss(self) -> Any:
        """The compiled function on screen (a Loss, or a dataset loss), or None."""
        return self._loss

    @property
    def pretty(self) -> str:
        """The formulas of :attr:`loss` as shown under the function."""
        return self._pretty

    @property
    def trajectory(self) -> Any:
        """The computed runs, or None before the first computation."""
        return self._trajectory

    @property
    def complete(self) -> bool:
        """Whether :attr:`trajectory` holds every step (not a first chunk)."""
        return self._complete

    @property
    def theme(self) -> Theme:
        return self._theme

    @property
    def function_text(self) -> str:
        """The text last given to compile (may not compile; :attr:`session` has the last good)."""
        return self._function_text

    @property
    def note(self) -> tuple[str, bool]:
        """The note under the formulas and whether it is shown."""
        return self._note, self._note_shown

    @property
    def pending_session(self) -> Session:
        """The session being loaded (waiting for its function to compile), else the current."""
        return self._pending or self._session

    @property
    def home_domain(self) -> tuple[tuple[float, float], ...]:
        """The view window "Reset view" goes back to."""
        return self._home_domain

    @property
    def step(self) -> int:
        return self.player.step

    @property
    def dataset_enabled(self) -> bool:
        return self.dataset is not None and self.dataset.enabled

    @property
    def error(self) -> tuple[str, Any] | None:
        """The message and column of a text that did not compile, or None."""
        return self._error

    def preset(self, name: str | None) -> Preset | None:
        """The shipped preset called ``name``, or None."""
        return next((p for p in self.presets if p.name == name), None)

    def run_labels(self) -> list[str]:
        """``"1. gd  lr=0.1"`` per run, with what tells apart runs that share it."""
        runs = self._session.runs
        sizes = None
        if self.dataset_enabled:
            try:
                sizes = self.dataset.batch_sizes(len(runs))  # type: ignore[union-attr]
            except ValueError:
                sizes = None  # the data panel shows what is wrong with them
        return run_labels(runs, sizes)

    def run_colors(self) -> list[str]:
        """The colour of each run: its own, kept in every theme and export."""
        return self._session.run_colors()

    def run_styles(self) -> tuple[list[str], list[str], list[bool]] | None:
        """Colours, labels and visibility of the computed runs (None while out of date)."""
        traj = self._trajectory
        if traj is None or traj.positions.shape[1] != len(self._session.runs):
            return None  # a recompute for the new run list is on its way
        return self.run_colors(), self.run_labels(), [r.visible for r in self._session.runs]

    def selected_config(self, index: int) -> Any:
        """Run ``index`` as an engine RunConfig, or None (no such run, or it does not parse)."""
        if not 0 <= index < len(self._session.runs):
            return None
        try:
            return run_config(self._session, index, check=False)
        except ValueError:
            return None

    # ------------------------------------------------------------ whole sessions
    def load_session(self, session: Session) -> None:
        """Show ``session``: every panel refills, then its function compiles and runs."""
        if self.dataset is not None:
            self.dataset.leave()  # a preset or file is a plain function
        self.player.pause()
        if self._pending is None:
            self._shown = self._session  # what the views show until this one compiles
        self._pending = session
        self._session = session
        self.player.seek(0)
        self._resume_step = session.step
        preset = self.preset(session.preset)
        self.sessionLoaded.emit(session)
        self.presetChanged.emit(session.preset if preset else None)
        # The note's line is always there (a preset's description, or what to
        # do with one's own function): a message in its place or a new note
        # then never moves the plots.
        self.set_note(preset.teaches if preset else OWN_FUNCTION_NOTE)
        self.player.set_speed(session.speed)
        self.speedChanged.emit(session.speed)
        self.set_function(session.function, show=True)

    def load_preset(self, name: str) -> None:
        """Load a shipped preset by name (a message for an unknown one)."""
        preset = self.preset(name)
        if preset is None:
            self.message.emit(f"no preset named {name!r}", True)
            return
        self.load_session(replace(preset.session, theme=self._session.theme))

    def replace_session(self, session: Session) -> None:
        """Take ``session``'s race set-up (runs, steps) while keeping the function on screen.

        For dataset mode, which swaps the race when it turns on.
        """
        # (Also into a session still compiling, e.g. the one left a moment ago.)
        self._edit(runs=session.runs, steps=session.steps, preset=session.preset)
        self._session = session
        self.runsChanged.emit(session.runs)
        self.stepsChanged.emit(session.steps)
        self.presetChanged.emit(session.preset)

    def set_note(self, text: str, shown: bool = True) -> None:
        """The note under the formulas (a preset's, a lesson's, or what to do next)."""
        self._note, self._note_shown = text, bool(shown)
        self.noteChanged.emit(text, self._note_shown)

    def set_note_shown(self, shown: bool) -> None:
        self.set_note(self._note, shown)

    # --------------------------------------------------------------- compile
    def start(self) -> None:
        """The window painted once: compile what was held until then.

        Before the first paint the compile process's SymPy import would
        compete with painting for the interpreter.
        """
        self._started = True
        if self._held_text is not None:
            text, self._held_text = self._held_text, None
            self._request_compile(text)

    def set_function(self, text: str, *, show: bool = False) -> None:
        """Compile ``text`` (typed, or with ``show`` set by the program: editors show it)."""
        self._function_text = text
        if show:
            self.functionTextChanged.emit(text)
        stripped = text.strip()
        if not stripped:
            self._fail("type a function of one or two variables, e.g. x^2 + 3y^2", None)
            return
        self._request_compile(stripped)

    def _request_compile(self, text: str) -> None:
        self.compiling.emit()
        if self.dataset_enabled:
            self.dataset.compile(text)  # type: ignore[union-attr]
            return
        if not self._started:
            self._held_text = text
            return
        # Shipped presets are trusted and simple: compile them in-process, which
        # skips starting the compile process when the window opens. Everything
        # typed goes through the killable process with a time limit.
        trusted = any(p.session.function == text for p in self.presets)
        self.computer.request_compile(text, timeout=None if trusted else COMPILE_TIMEOUT)

    def _compiled(self, _gen: int, loss: Any, pretty: str) -> None:
        self.apply_compiled(loss, pretty)

    def apply_compiled(
        self, loss: Any, pretty: str, session: Session | None = None, prompt: str | None = None
    ) -> None:
        """Show a compiled function: a new problem for every view, then compute.

        ``session`` replaces the session's set-up first (dataset mode brings
        its own view window and start); ``prompt`` is what the editor shows
        before the text (by default ``"f(x, y) ="``).
        """
        loaded = self._pending is not None
        session = session or self._pending or self._session
        self._pending = None
        dim = loss.dim
        if loaded or len(self._home_domain) != dim:
            self._home_domain = session.domain  # what "Reset view" goes back to
        if len(session.domain) != dim or len(session.start) != dim:
            # One variable became two (or back): a fresh view window and start.
            dom = default_domain(dim)
            session = replace(session, domain=dom, start=default_start(dom))
            session = replace(session, runs=tuple(replace(r, start=None) for r in session.runs))
            self._home_domain = dom
        session = replace(session, function=loss.text)
        preset = self.preset(session.preset)
        if preset is not None and self._note == preset.teaches:
            if loss.text != preset.session.function:
                self.set_note(OWN_FUNCTION_NOTE, self._note_shown)  # about another function
        self._session = session
        self._loss = loss
        self._pretty = pretty
        self._error = None
        self._compute_key = None if self.dataset_enabled else self._compute_key
        if prompt is None:
            prompt = f"f({', '.join(loss.variables)}) ="
        # A new function brings its view window, start and runs with it: views
        # read them from the session (one surface sample, not one per field).
        self.functionChanged.emit(loss, pretty, prompt)
        self.runsChanged.emit(session.runs)
        self.recompute()

    def fail_compile(self, err: Any) -> None:
        """The text does not compile: say why and where (the last good function stays)."""
        if self._pending is not None:
            # A loaded session whose function never compiled (a text typed
            # after it, which failed, replaced its compile): the session on
            # screen is again the one that goes with the function on screen.
            self._session = self._shown
            self._pending = None
            self.sessionLoaded.emit(self._session)  # the panels show it again too
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
        self._fail(text, column)

    def _fail(self, text: str, column: Any) -> None:
        self._error = (text, column)
        self.functionFailed.emit(text, column)

    def _compile_failed(self, _gen: int, err: Any) -> None:
        self.fail_compile(err)

    # ---------------------------------------------------------------- edits
    def _edit(self, **changes: Any) -> None:
        """Apply a person's edit to the session, and to a loaded one still compiling.

        A preset, lesson or file becomes the session when its function has
        compiled; an edit made meanwhile (a run removed) must not be undone
        then, or the run list and the session disagree.
        """
        self._session = replace(self._session, **changes)
        if self._pending is not None:
            self._pending = replace(self._pending, **changes)

    def set_runs(self, runs: tuple[RunSpec, ...] | list[RunSpec]) -> None:
        """New runs (added, removed, edited): recompute shortly."""
        runs = tuple(runs)[:MAX_RUNS]
        if runs == self._session.runs:
            return
        self._edit(runs=runs)
        self.runsChanged.emit(runs)
        self._recompute_timer.start()

    def add_run(self, run: RunSpec) -> bool:
        """Add ``run`` to the race (False with a message when the race is full)."""
        runs = self._session.runs
        if len(runs) >= MAX_RUNS:
            self.message.emit(f"at most {MAX_RUNS} runs: remove one to add this one", True)
            return False
        self.set_runs((*runs, run))
        return True

    def add_run_config(self, cfg: Any) -> bool:
        """A clicked map cell joins the race (keeping its start if it differs)."""
        start = None if tuple(cfg.start) == tuple(self._session.start) else tuple(cfg.start)
        run = RunSpec(cfg.optimizer, dict(cfg.params), cfg.schedule.to_text(), start)
        return self.add_run(run)

    def set_start(self, start: tuple[float, ...]) -> None:
        """A new common start: every run starts there (per-run starts are cleared)."""
        start = tuple(float(v) for v in start)
        if len(start) != len(self._session.domain) or not all(abs(v) <= MAX_COORD for v in start):
            self.message.emit(
                f"the start must be {len(self._session.domain)} numbers within ±{MAX_COORD:g}", True
            )
            return
        runs = tuple(replace(r, start=None) for r in self._session.runs)
        self._edit(start=start, runs=runs)
        self.runsChanged.emit(runs)
        if self._pending is not None:
            return  # views get the loading session's start with its function
        self.startChanged.emit(start)
        self.player.pause()
        self._resume_step = 0
        self.player.seek(0)
        self._recompute_timer.start()

    def set_steps(self, steps: int) -> None:
        self._edit(steps=int(steps))
        self.stepsChanged.emit(int(steps))
        self._recompute_timer.start()

    def check_domain(self, domain: Any) -> tuple[tuple[float, float], ...]:
        """``domain`` as a view window for the function on screen.

        Raises
        ------
        ValueError
            Not one finite ``low < high`` pair per variable within the
            session-file limits (the message names the axis).
        """
        if self._pending is not None or self._loss is None:
            dim = len(self._session.domain)  # the session on its way, or nothing compiled yet
        else:
            dim = self._loss.dim
        dom = normalize_domain(domain, dim)
        for axis, (lo, hi) in zip("xy", dom, strict=False):
            if max(abs(lo), abs(hi)) > MAX_COORD:
                raise ValueError(
                    f"{axis} range must lie within ±{MAX_COORD:g}, got {lo:g} to {hi:g}"
                )
        return dom

    def set_domain(self, domain: Any, *, home: bool = True) -> None:
        """A new view window (``home``: typed, also what "Reset view" goes back to;
        else a zoom or pan the views already show).

        Raises
        ------
        ValueError
            For a window that cannot be drawn or saved (see :meth:`check_domain`).
        """
        dom = self.check_domain(domain)
        self._edit(domain=dom)
        if home:
            self._home_domain = dom
        if self._pending is None:
            # (A session still compiling brings its view window with its
            # function: the views now still show the last one's.)
            self.domainChanged.emit(dom, home)

    def reset_domain(self) -> None:
        """Back to the view window the problem was opened (or last typed) with."""
        home = self._home_domain
        if self._loss is None or len(home) != self._loss.dim:
            self.domainChanged.emit(self._session.domain, True)
            return
        self.set_domain(home)

    def set_view(self, view: ViewSettings) -> None:
        if view == self._session.view:
            return
        self._edit(view=view)
        self.viewChanged.emit(view)

    def set_speed(self, speed: float) -> None:
        self._edit(speed=float(speed))
        self.player.set_speed(float(speed))
        self.speedChanged.emit(float(speed))

    def set_theme(self, theme: Theme) -> None:
        """A new look; the session keeps the theme's name (not presentation's)."""
        self._theme = theme
        if theme.name != "projector":
            self._session = replace(self._session, theme=theme.name)
        self.themeChanged.emit(theme)

    def restyle(self) -> None:
        """Views draw the runs again (colours or visibility changed, nothing to compute)."""
        if self._trajectory is not None:
            self.trajectoryChanged.emit(self._trajectory, self._complete)

    # --------------------------------------------------------------- compute
    def _key(self) -> Any:
        s = self._session
        runs = tuple(
            (r.optimizer, tuple(sorted(r.params.items())), r.schedule, s.run_start(i))
            for i, r in enumerate(s.runs)
        )
        data = self.dataset.key() if self.dataset_enabled else None  # type: ignore[union-attr]
        return (id(self._loss), runs, s.steps, s.noise, s.noise_seed, data)

    def recompute(self) -> None:
        """Compute the session's runs on the worker (if anything that matters changed)."""
        if self._loss is None:
            return
        key = self._key()
        if key == self._compute_key:
            self.restyle()  # only colours or visibility changed
            return
        try:
            configs = run_configs(self._session)
        except ValueError as exc:
            self.message.emit(str(exc), True)
            return
        self._compute_key = key
        self._resume_step = max(self._resume_step, self.player.step)
        from gdviz.core.engine import GradientNoise

        s = self._session
        noise = GradientNoise(s.noise, s.noise_seed) if s.noise > 0 else None
        loss = self._loss
        if self.dataset_enabled:
            try:  # each run's batch size and the shuffle seed
                loss = self.dataset.objective()  # type: ignore[union-attr]
            except ValueError as exc:
                self._compute_key = None
                self.message.emit(str(exc), True)
                return
        self.computer.request_run(RunRequest(loss, configs, s.steps, noise=noise))

    def _computed(self, _gen: int, traj: Any, complete: bool) -> None:
        self._trajectory = traj
        self._complete = complete
        self.player.set_limit(int(traj.positions.shape[0] - 1), complete)
        self.trajectoryChanged.emit(traj, complete)
        if not self.player.playing:
            self.player.seek(min(self._resume_step, self.player.limit))
        self.stepChanged.emit(self.player.step)
        if complete:
            self._resume_step = 0

    def _compute_failed(self, _gen: int, message: str) -> None:
        self._compute_key = None
        self.message.emit(f"could not compute the runs: {message.splitlines()[0]}", True)

    def invalidate(self) -> None:
        """Forget what was computed last, so the next :meth:`recompute` runs again."""
        self._compute_key = None

    def shutdown(self) -> None:
        """Stop timers and the worker (the window is closing)."""
        self.player.pause()
        self._recompute_timer.stop()
        self.computer.shutdown()
