"""Heavy work off the GUI thread: compiling the loss and computing trajectories.

:class:`Computer` owns one worker thread. Requests carry a generation number;
a newer request makes older ones stale, and stale results are dropped, so typing
fast or dragging the start point never shows an outdated picture and never
queues up work. Trajectories are computed in chunks (:class:`Engine.advance`):
the first chunk arrives quickly so playback can start while the rest is
computed, and a newer request interrupts the loop between chunks.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

__all__ = ["Computer", "RunRequest"]

#: Seconds a compile may take before it is stopped with a message.
COMPILE_TIMEOUT = 5.0
#: Steps in the first chunk (fast feedback) and in later chunks.
FIRST_CHUNK = 200
CHUNK = 1000


@dataclass(frozen=True)
class RunRequest:
    """Everything the engine needs for one computation."""

    loss: Any
    configs: Sequence[Any]
    steps: int
    grad_tol: float = 1e-8


class _Worker(QObject):
    compiled = Signal(int, object, object)  # generation, Loss, pretty text
    compileFailed = Signal(int, object)  # generation, ExpressionError or message
    computed = Signal(int, object, bool)  # generation, Trajectory, complete
    computeFailed = Signal(int, str)

    def __init__(self) -> None:
        super().__init__()
        self.latest_compile = 0
        self.latest_run = 0

    @Slot(int, str, object, object)
    def compile(self, gen: int, text: str, variables: object, timeout: object) -> None:
        if gen < self.latest_compile:
            return  # a newer text is already waiting
        # Imported here, on the worker thread: SymPy's import takes about a
        # second, and the window can already be on screen meanwhile.
        from gdviz.core.expression import ExpressionError
        from gdviz.core.loss import compile_loss
        from gdviz.ui.mathtext import pretty_equations

        try:
            loss = compile_loss(text, variables, timeout=timeout)  # type: ignore[arg-type]
        except ExpressionError as exc:
            self.compileFailed.emit(gen, exc)
            return
        except Exception as exc:  # never let a bug in one input kill the window
            self.compileFailed.emit(gen, f"could not compile: {exc}")
            return
        try:
            pretty = pretty_equations(loss)
        except Exception:  # display only: fall back to the typed text
            pretty = f"f = {text}"
        self.compiled.emit(gen, loss, pretty)

    @Slot(int, object)
    def run(self, gen: int, req: RunRequest) -> None:
        if gen < self.latest_run:
            return
        from gdviz.core.engine import Engine, StopRules

        try:
            stop = StopRules(max_steps=req.steps, grad_tol=req.grad_tol)
            engine = Engine(req.loss, list(req.configs), stop)
            done = 0
            chunk = FIRST_CHUNK
            traj = None
            while done < req.steps:
                n = min(chunk, req.steps - done)
                segment = engine.advance(n)
                traj = segment if traj is None else traj.concat(segment)
                done += n
                finished = done >= req.steps or _all_stopped(traj)
                if gen < self.latest_run:
                    return  # superseded: stop computing
                self.computed.emit(gen, traj, finished)
                if finished:
                    return
                chunk = CHUNK
        except Exception as exc:
            self.computeFailed.emit(gen, f"{exc}\n{traceback.format_exc(limit=2)}")


def _all_stopped(traj: Any) -> bool:
    status = getattr(traj, "status", None)
    return bool(status) and all(s != "running" for s in status)


class Computer(QObject):
    """Compile and compute on a worker thread; results come back as signals.

    Signals
    -------
    compiled(int, Loss, str)
        Generation, the compiled loss, and its pretty-printed equations.
    compileFailed(int, object)
        Generation and the :class:`ExpressionError` (or a message).
    computed(int, Trajectory, bool)
        Generation, the trajectory so far, and whether it is complete.
    computeFailed(int, str)
        Generation and a message.
    """

    compiled = Signal(int, object, object)
    compileFailed = Signal(int, object)
    computed = Signal(int, object, bool)
    computeFailed = Signal(int, str)
    _compile = Signal(int, str, object, object)
    _run = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("gdviz-compute")
        self._worker = _Worker()
        self._worker.moveToThread(self._thread)
        self._compile.connect(self._worker.compile)
        self._run.connect(self._worker.run)
        self._worker.compiled.connect(self._on_compiled)
        self._worker.compileFailed.connect(self._on_compile_failed)
        self._worker.computed.connect(self._on_computed)
        self._worker.computeFailed.connect(self._on_compute_failed)
        self._thread.start()
        self._gen = 0
        self.compile_gen = 0
        self.run_gen = 0
        self.busy_compiling = False
        self.busy_running = False

    def _next(self) -> int:
        self._gen += 1
        return self._gen

    def request_compile(
        self,
        text: str,
        variables: Sequence[str] | None = None,
        *,
        timeout: float | None = COMPILE_TIMEOUT,
    ) -> int:
        """Compile ``text`` on the worker; returns the request's generation.

        ``timeout`` (seconds) runs the compile in the killable compile process;
        None compiles in this process, for trusted text such as shipped presets,
        which saves the process start-up when the window opens.
        """
        gen = self._next()
        self.compile_gen = gen
        self._worker.latest_compile = gen
        self.busy_compiling = True
        self._compile.emit(gen, text, None if variables is None else tuple(variables), timeout)
        return gen

    def request_run(self, request: RunRequest) -> int:
        """Compute a trajectory on the worker (older runs are abandoned)."""
        gen = self._next()
        self.run_gen = gen
        self._worker.latest_run = gen
        self.busy_running = True
        self._run.emit(gen, request)
        return gen

    @property
    def busy(self) -> bool:
        return self.busy_compiling or self.busy_running

    def _on_compiled(self, gen: int, loss: Any, pretty: str) -> None:
        if gen == self.compile_gen:
            self.busy_compiling = False
            self.compiled.emit(gen, loss, pretty)

    def _on_compile_failed(self, gen: int, err: object) -> None:
        if gen == self.compile_gen:
            self.busy_compiling = False
            self.compileFailed.emit(gen, err)

    def _on_computed(self, gen: int, traj: Any, complete: bool) -> None:
        if gen == self.run_gen:
            if complete:
                self.busy_running = False
            self.computed.emit(gen, traj, complete)

    def _on_compute_failed(self, gen: int, msg: str) -> None:
        if gen == self.run_gen:
            self.busy_running = False
            self.computeFailed.emit(gen, msg)

    def shutdown(self) -> None:
        """Stop the worker thread (waits for the current chunk to finish)."""
        self._worker.latest_compile = self._worker.latest_run = 1 << 62
        self._thread.quit()
        self._thread.wait(10_000)
