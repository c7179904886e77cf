"""Heavy work without freezing the window: compiling the loss and computing runs.

*Compiling* runs on a worker thread, which mostly waits for gdviz's killable
compile process (see :func:`gdviz.core.loss.compile_loss`), so it costs the GUI
nothing. *Computing* runs on the GUI thread in time slices of a few
milliseconds between events: the engine's loop over small arrays is pure
Python holding the interpreter lock, and on a worker thread it made every Qt
call of the GUI thread wait for the lock (the "convoy" effect: stalls of over a
second were measured). Sliced, the window repaints between slices and the
longest stall is one slice.

Other work that waits for the compile process runs on the same worker thread
(:meth:`Computer.request_call`): compiling a per-sample loss over a dataset
shares the compile generations (of a plain and a dataset compile, only the
newer one's result is ever delivered); checking a session file's function
before it opens is no compile and is always delivered.

Requests carry a generation number; a newer request makes older ones stale and
stale results are dropped, so typing fast or dragging the start point never
shows an outdated picture and never queues up work. The first part of a
trajectory is delivered quickly so playback can start while the rest is
computed.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

__all__ = ["Computer", "RunRequest"]

#: Seconds a compile may take before it is stopped with a message.
COMPILE_TIMEOUT = 5.0
#: Longest time one compute slice may hold the GUI thread (seconds).
SLICE_SECONDS = 0.008
#: Deliver the trajectory as soon as this many steps exist, then at most
#: every DELIVER_EVERY seconds (each delivery re-prepares the views' arrays).
FIRST_STEPS = 200
DELIVER_EVERY = 1.0


@dataclass(frozen=True)
class RunRequest:
    """Everything the engine needs for one computation."""

    loss: Any
    configs: Sequence[Any]
    steps: int
    grad_tol: float = 1e-8
    noise: Any = None  # GradientNoise, or None for exact gradients


class _Worker(QObject):
    compiled = Signal(int, object, object)  # generation, Loss, pretty text
    compileFailed = Signal(int, object)  # generation, ExpressionError or message
    called = Signal(int, object)  # generation, what the callable returned
    callFailed = Signal(int, object)  # generation, the exception it raised

    def __init__(self) -> None:
        super().__init__()
        self.latest_compile = 0
        self.stopped = False  # the window is closing: skip what is still queued

    @Slot(int, str, object, object)
    def compile(self, gen: int, text: str, variables: object, timeout: object) -> None:
        if gen < self.latest_compile:
            return  # a newer text is already waiting
        # Imported here, on the worker thread: SymPy's import takes about a
        # second, and the window can already be on screen meanwhile.
        from gdviz.core.expression import ExpressionError
        from gdviz.core.loss import compile_loss
        from gdviz.core.mathtext import pretty_equations

        try:
            loss = compile_loss(text, variables, timeout=timeout)  # type: ignore[arg-type]
        except ExpressionError as exc:
            self.compileFailed.emit(gen, exc)
            return
        except Exception as exc:  # never let a bug in one input kill the window
            self.compileFailed.emit(gen, f"could not compile: {exc}")
            return
        try:
            # Printed in the compile process; the SymPy tree is only rebuilt
            # (and printed here) for a loss that came without the text.
            pretty = pretty_equations(loss)
        except Exception:  # display only: fall back to the typed text
            pretty = f"f = {text}"
        self.compiled.emit(gen, loss, pretty)

    @Slot(int, object, bool)
    def call(self, gen: int, fn: object, compile: bool) -> None:
        if self.stopped or (compile and gen < self.latest_compile):
            return  # a newer compile is already waiting
        try:
            result = fn()  # type: ignore[operator]
        except Exception as exc:  # the requester turns it into a message
            self.callFailed.emit(gen, exc)
            return
        self.called.emit(gen, result)


def _all_stopped(traj: Any) -> bool:
    status = getattr(traj, "status", None)
    return bool(status) and all(s != "running" for s in status)


class _Job:
    """One trajectory being computed slice by slice."""

    def __init__(self, gen: int, req: RunRequest) -> None:
        from gdviz.core.engine import Engine, StopRules

        self.gen = gen
        self.req = req
        self.engine = Engine(
            req.loss, list(req.configs), StopRules(req.steps, req.grad_tol), req.noise
        )
        self.done = 0
        self.traj: Any = None
        self.pending: list[Any] = []  # segments not yet joined and delivered
        self.delivered = False
        self.last_emit = 0.0
        self.step_cost = 2e-4  # seconds per step, refined after each slice


class Computer(QObject):
    """Compile on a worker thread and compute in GUI-thread time slices.

    Signals
    -------
    compiled(int, Loss, str)
        Generation, the compiled loss, and its pretty-printed equations.
    compileFailed(int, object)
        Generation and the :class:`ExpressionError` (or a message).
    called(int, object)
        Generation and the result of a :meth:`request_call`.
    callFailed(int, Exception)
        Generation and the exception a :meth:`request_call` raised.
    computed(int, Trajectory, bool)
        Generation, the trajectory so far, and whether it is complete.
    computeFailed(int, str)
        Generation and a message.
    """

    compiled = Signal(int, object, object)
    compileFailed = Signal(int, object)
    computed = Signal(int, object, bool)
    computeFailed = Signal(int, str)
    called = Signal(int, object)
    callFailed = Signal(int, object)
    _compile = Signal(int, str, object, object)
    _call = Signal(int, object, bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("gdviz-compile")
        self._worker = _Worker()
        self._worker.moveToThread(self._thread)
        self._compile.connect(self._worker.compile)
        self._worker.compiled.connect(self._on_compiled)
        self._worker.compileFailed.connect(self._on_compile_failed)
        self._call.connect(self._worker.call)
        self._worker.called.connect(self._on_called)
        self._worker.callFailed.connect(self._on_call_failed)
        self._thread.start()
        # While the compile thread runs Python (unpickling a compiled loss,
        # printing its formulas), the GUI thread waits for the interpreter lock
        # at every Qt call, up to the switch interval each time (5 ms by
        # default); 1 ms keeps those waits short.
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
        self._slice = QTimer(self)
        self._slice.setSingleShot(True)
        self._slice.setInterval(0)
        self._slice.timeout.connect(self._work)
        self._job: _Job | None = None
        self._gen = 0
        self.compile_gen = 0
        self.run_gen = 0
        self.busy_compiling = False
        self._free_calls: set[int] = set()  # calls with compile=False on their way
        self._stopped = False

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
        gen = self._next_compile()
        self._compile.emit(gen, text, None if variables is None else tuple(variables), timeout)
        return gen

    def request_call(self, fn: Callable[[], Any], *, compile: bool = True) -> int:
        """Run ``fn()`` on the compile thread; returns the request's generation.

        For work that waits for the compile process, such as compiling a
        per-sample loss over a dataset. ``fn`` must not touch widgets: gather
        what it needs from them first and let it capture that. The result comes
        back with :attr:`called`, an exception with :attr:`callFailed`.

        With ``compile=True`` the call is a compile: only the newest compile,
        plain or called, is delivered (a later :meth:`request_compile` or
        compiling :meth:`request_call` makes it stale, and one not yet started
        is skipped), and :attr:`busy_compiling` holds until it is back. With
        ``compile=False`` (checking a file before it is opened) it is always
        delivered, in its turn after what was asked for before it, and the
        requester decides whether it still wants the result; :attr:`busy` holds
        until it is back.
        """
        if compile:
            gen = self._next_compile()
        else:
            gen = self._next()
            self._free_calls.add(gen)
        self._call.emit(gen, fn, compile)
        return gen

    def _next_compile(self) -> int:
        gen = self._next()
        self.compile_gen = gen
        self._worker.latest_compile = gen
        self.busy_compiling = True
        return gen

    def request_run(self, request: RunRequest) -> int:
        """Start computing a trajectory (an older computation is abandoned)."""
        gen = self._next()
        self.run_gen = gen
        try:
            self._job = _Job(gen, request)
        except Exception as exc:  # bad configuration: a message, not a crash
            self._job = None
            self.computeFailed.emit(gen, str(exc))
            return gen
        self._slice.start()
        return gen

    @property
    def busy_running(self) -> bool:
        return self._job is not None

    @property
    def busy(self) -> bool:
        return self.busy_compiling or self.busy_running or bool(self._free_calls)

    def _work(self) -> None:
        """One slice: advance the engine for about :data:`SLICE_SECONDS`, maybe deliver."""
        job = self._job
        if job is None or self._stopped:
            return
        req = job.req
        try:
            t0 = time.perf_counter()
            first = True
            # At least one advance per slice, however late the slice starts.
            while job.done < req.steps and (first or time.perf_counter() - t0 < SLICE_SECONDS):
                first = False
                # Steps that fit in what is left of the slice, from the measured cost.
                left = SLICE_SECONDS - (time.perf_counter() - t0)
                n = int(min(req.steps - job.done, max(8, left / job.step_cost)))
                t1 = time.perf_counter()
                job.pending.append(job.engine.advance(n))
                job.step_cost = max(1e-7, (time.perf_counter() - t1) / n)
                job.done += n
                if _all_stopped(job.pending[-1]):
                    break
        except Exception as exc:
            self._job = None
            self.computeFailed.emit(job.gen, f"{exc}\n{traceback.format_exc(limit=2)}")
            return
        finished = job.done >= req.steps or (bool(job.pending) and _all_stopped(job.pending[-1]))
        now = time.perf_counter()
        first = not job.delivered and job.done >= min(FIRST_STEPS, req.steps)
        if finished or first or (job.delivered and now - job.last_emit > DELIVER_EVERY):
            parts = job.pending if job.traj is None else [job.traj, *job.pending]
            job.traj = parts[0].concat(*parts[1:]) if len(parts) > 1 else parts[0]
            job.pending = []
            job.delivered = True
            job.last_emit = now
            if finished:
                self._job = None
            # Delivered in its own turn of the event loop: the views' update
            # and this slice together would make one long stall.
            traj, gen = job.traj, job.gen
            QTimer.singleShot(0, self, lambda: self._deliver(gen, traj, finished))
        if not finished and self._job is job:
            self._slice.start()

    def _deliver(self, gen: int, traj: Any, finished: bool) -> None:
        if gen == self.run_gen and not self._stopped:
            self.computed.emit(gen, traj, finished)

    def _on_compiled(self, gen: int, loss: Any, pretty: str) -> None:
        # Applied in a turn of its own: a result that comes back at once (a
        # function compiled before) otherwise lands in the same pass as the
        # repaint the typing started, and both made one long stall. A 1 ms
        # timer, not a posted event: Qt handles every posted event (repaints
        # included) in one pass before it looks at timers again, so the new
        # surface and the repaint that follows it are not one stall either.
        QTimer.singleShot(1, self, lambda: self._apply_compiled(gen, loss, pretty))

    def _apply_compiled(self, gen: int, loss: Any, pretty: str) -> None:
        if gen == self.compile_gen and not self._stopped:
            self.busy_compiling = False
            self.compiled.emit(gen, loss, pretty)

    def _on_compile_failed(self, gen: int, err: object) -> None:
        if gen == self.compile_gen:
            self.busy_compiling = False
            self.compileFailed.emit(gen, err)

    def _on_called(self, gen: int, result: Any) -> None:
        if self._take_call(gen):
            self.called.emit(gen, result)

    def _on_call_failed(self, gen: int, exc: object) -> None:
        if self._take_call(gen):
            self.callFailed.emit(gen, exc)

    def _take_call(self, gen: int) -> bool:
        """Whether call ``gen``'s result is to be delivered (it is no longer on its way)."""
        if gen in self._free_calls:
            self._free_calls.discard(gen)
            return not self._stopped
        if gen == self.compile_gen:
            self.busy_compiling = False
            return True
        return False

    def shutdown(self) -> None:
        """Stop computing and stop the worker thread (waits for a compile in progress)."""
        self._stopped = True
        self._job = None
        self._slice.stop()
        self._worker.latest_compile = 1 << 62
        self._worker.stopped = True
        self._free_calls.clear()
        self._thread.quit()
        self._thread.wait(10_000)
