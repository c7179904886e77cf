"""Dataset mode's controller: the data panel's settings turned into the model's function and runs.

:class:`DatasetMode` sits between a :class:`~gdviz.ui.data_panel.DataPanel`
and the window's :class:`~gdviz.ui.session_model.SessionModel`. While the
mode is on, the model hands it every function to compile (the typed text is
the loss of one sample), asks it for the objective the engine runs and for
what decides a recompute (:meth:`DatasetMode.key`). Switching the mode on
keeps the model's session and races batch, stochastic and mini-batch descent;
switching it off brings the kept session back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from gdviz.core.data import Dataset, load_csv
from gdviz.core.session import DataSpec, Session
from gdviz.ui.data_panel import (
    RACE_BATCHES,
    RACE_RUNS,
    RACE_STEPS,
    DataPanel,
    DatasetCompile,
    dataset_pretty,
    model_of,
    suggest_view,
    surface_loss,
)
from gdviz.ui.session_model import SessionModel

__all__ = ["DatasetMode"]

#: What the editor shows before a per-sample loss.
SAMPLE_PROMPT = "ℓᵢ ="


class DatasetMode:
    """Connects a :class:`DataPanel` to the window's model.

    Parameters
    ----------
    model
        The window's model; this object becomes its ``dataset``.
    panel
        The data panel whose settings it reads.
    """

    def __init__(self, model: SessionModel, panel: DataPanel) -> None:
        self.model = model
        self.panel = panel
        self.saved: Session | None = None  # the session before dataset mode
        self._leaving = False
        # Opening a session file: its settings replace the race set-up, its view stays.
        self._opening = False
        self._keep_view = False
        self._file_params: tuple[str, tuple[str, ...]] | None = None
        # The compile on its way: (generation, keep the view), or None.
        self._request: tuple[int, bool] | None = None
        computer = model.computer
        computer.called.connect(self._compiled)
        computer.callFailed.connect(self._compile_failed)
        # Chosen CSV files are read on the compile thread (the panel keeps the token).
        panel.csv_reader = self._read_csv
        computer.called.connect(panel.csv_read)
        computer.callFailed.connect(panel.csv_failed)
        panel.modeChanged.connect(self._mode_changed)
        panel.dataChanged.connect(self._recompile)
        panel.batchesChanged.connect(self._batches_changed)
        model.trajectoryChanged.connect(self._trajectory)
        model.stepChanged.connect(self._step)
        model.dataset = self

    @property
    def enabled(self) -> bool:
        return self.panel.enabled

    # ------------------------------------------------------------- switching
    def _mode_changed(self, on: bool) -> None:
        m = self.model
        if not on:
            self._file_params = None
        if on and self._opening:
            return  # the opened session brings its own runs, loss and view
        if on:
            self.saved = m.session
            m.player.pause()
            # A preset's note describes its function, not the data.
            m.set_note_shown(False)
            # The race this mode is for: the same descent on all samples, on one
            # and on a mini-batch per step (the person's runs come back on leaving).
            m.replace_session(
                replace(m.session, runs=tuple(RACE_RUNS), steps=RACE_STEPS, preset=None)
            )
            self.panel.batches.setText(RACE_BATCHES)
            text = self.panel.dataset.default_loss or "(w*x + b - y)^2"
            m.set_function(text, show=True)
        elif not self._leaving:
            saved, self.saved = self.saved, None
            self.panel.loss = None
            if saved is not None:
                m.load_session(saved)

    def leave(self) -> None:
        """Switch the mode off without restoring the old session (a preset or file is loading)."""
        if self.panel.enabled and not self._opening:
            self._leaving = True
            try:
                self.panel.set_enabled(False)
            finally:
                self._leaving = False
            self.saved = None
            self.panel.loss = None

    def open(self, session: Session, dataset: Dataset) -> None:
        """Show a session in dataset mode (``session.data`` set; ``dataset`` read from it).

        The data, batch sizes, shuffle seed and penalty go to the panel; the
        runs, view window, start and step to the model, as saved. Leaving the
        mode later returns to what was on screen before the first dataset
        session or switch.
        """
        spec = session.data
        assert spec is not None
        if not self.panel.enabled:
            self.saved = self.model.session
        self._opening = True
        try:
            self.panel.apply(spec, dataset)
            self.panel.loss = None
            self._file_params = (session.function, tuple(spec.parameters))
            self._keep_view = True
            self.panel.set_enabled(True)
            self.model.load_session(session)  # compiles the per-sample loss over the data
        finally:
            self._opening = False
            self._keep_view = False

    def _read_csv(self, path: str, columns: str | None) -> int:
        """Start reading a CSV file on the compile thread; returns the request's generation.

        Not a compile: a later compile neither cancels it nor is cancelled by it.
        """
        return self.model.computer.request_call(partial(load_csv, path, columns), compile=False)

    def data_spec(self) -> DataSpec:
        """The panel's settings for a session file (ValueError when nothing can be saved)."""
        loss = self.panel.loss
        if loss is None:
            raise ValueError("the per-sample loss has not compiled: fix it before saving")
        return self.panel.data_spec(len(self.model.session.runs), tuple(loss.variables))

    def _recompile(self) -> None:
        if not self.enabled:
            return
        text = self.model.function_text.strip()
        old = self.panel.loss
        new_default = self.panel.dataset.default_loss
        if old is not None and new_default and text == old.dataset.default_loss:
            # The loss was the old data's suggestion: take the new data's (a
            # squared error does not suit two classes).
            self.model.set_function(new_default, show=True)
        elif text:
            self.compile(text)

    def _batches_changed(self) -> None:
        if self.enabled:
            self.model.restyle()  # the labels name the batch sizes
            self.model.recompute()

    # --------------------------------------------------------------- compile
    def compile(self, text: str) -> None:
        """Compile ``text`` over the data on the model's compile thread.

        What the compile needs is read from the controls now; the loss is shown
        when it arrives (:meth:`_compiled`), unless a newer compile, plain or
        per-sample, was asked for meanwhile or the mode was switched off. The
        symbolic work runs in the killable compile process, stopped after
        ``COMPILE_TIMEOUT`` seconds; the window keeps turning meanwhile.
        """
        keep_view, self._keep_view = self._keep_view, False
        params = None
        if self._file_params is not None and self._file_params[0] == text:
            params = self._file_params[1]  # the axis order the file gave
        try:
            job = self.panel.compile_job(text, params)
        except Exception as exc:  # never let one input take the window down
            self.model.fail_compile(f"could not compile: {exc}")
            return
        old = self.panel.loss
        # ``old`` may be replaced before the result arrives: the view is then
        # worked out again here (see _compiled).
        gen = self.model.computer.request_call(partial(_prepare, job, old, not keep_view))
        self._request = (gen, keep_view)

    def _compiled(self, gen: int, result: Any) -> None:
        """A compile's result, on the GUI thread: show it if it is still wanted."""
        request = self._take(gen)
        if request is None:
            return
        keep_view = request[1]
        m = self.model
        loss = result.loss
        old = self.panel.loss
        self.panel.set_loss(loss, result.model)
        session = m.pending_session
        if _new_problem(old, loss) and not keep_view:
            view = result.view if result.view is not None else suggest_view(loss)
            domain, start = view
            runs = tuple(replace(r, start=None) for r in session.runs)
            session = replace(session, domain=domain, start=start, runs=runs)
        m.invalidate()
        m.apply_compiled(result.surface, result.pretty, session=session, prompt=SAMPLE_PROMPT)

    def _compile_failed(self, gen: int, exc: object) -> None:
        if self._take(gen) is None:
            return
        from gdviz.core.expression import ExpressionError

        if isinstance(exc, ExpressionError):
            self.model.fail_compile(exc)
        else:  # never let one input take the window down
            self.model.fail_compile(f"could not compile: {exc}")

    def _take(self, gen: int) -> tuple[int, bool] | None:
        """The request ``gen`` if it is this mode's newest compile and the mode is still on.

        (The computer delivers only the newest compile of all, so a plain
        compile asked for later has already made it stale.)
        """
        request = self._request
        if request is None or request[0] != gen:
            return None
        self._request = None
        return request if self.enabled else None

    def objective(self) -> Any:
        """The mini-batch objective for the model's runs (ValueError for bad batch sizes)."""
        return self.panel.objective(len(self.model.session.runs))

    def key(self) -> Any:
        if not self.enabled:
            return None
        return self.panel.key(len(self.model.session.runs))

    def batch_sizes(self, n: int) -> Any:
        """Each of ``n`` runs' batch size (ValueError while the text does not parse)."""
        return self.panel.batch_sizes(n)

    # ------------------------------------------------------------------ views
    def _trajectory(self, traj: Any, _complete: bool) -> None:
        if not (self.enabled and self.panel.objective_ready):
            return
        styles = self.model.run_styles()
        if styles is None:
            return
        colors, labels, _visible = styles
        self.panel.set_runs(traj, colors, labels, self.model.session.view.log_loss)
        self.panel.show_step(self.model.step)

    def _step(self, i: int) -> None:
        self.panel.show_step(i)


@dataclass(frozen=True)
class _Prepared:
    """A compiled per-sample loss and what the window shows of it."""

    loss: Any
    surface: Any  # what the scene draws (see surface_loss)
    pretty: str
    model: Any  # the model line, or None
    view: tuple[Any, Any] | None  # suggested (domain, start), or None when not worked out


def _new_problem(old: Any, loss: Any) -> bool:
    """Whether ``loss`` has other parameters or data than ``old`` (then the view moves)."""
    return old is None or old.variables != loss.variables or old.dataset is not loss.dataset


def _prepare(job: DatasetCompile, old: Any, want_view: bool) -> _Prepared:
    """Compile ``job`` and work out everything shown of it that needs no widget.

    Runs on the compile thread: building the loss over the data, printing the
    formulas (SymPy), finding the model line (a symbolic solve) and suggesting
    a view (Newton steps over all samples) all take time the window is spared.
    """
    loss = job()
    try:
        pretty = dataset_pretty(loss)
    except Exception:  # display only: fall back to the typed text
        pretty = f"ℓᵢ = {job.text}"
    view = suggest_view(loss) if want_view and _new_problem(old, loss) else None
    return _Prepared(loss, surface_loss(loss), pretty, model_of(loss), view)
