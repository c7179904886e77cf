"""Compile a typed loss into fast, exact NumPy functions.

:func:`compile_loss` turns text into a :class:`Loss`: the expression is parsed
safely (:mod:`gdviz.core.expression`), differentiated symbolically (gradient and
Hessian), and each of value, gradient and Hessian is printed, with common
sub-expressions eliminated, as the source of a small Python function over NumPy
that we generate ourselves from the allow-listed tree. That source runs in a
namespace holding only ``numpy`` (no builtins).

Symbolic work can still take long on innocent-looking input, and a thread cannot
interrupt SymPy. With ``timeout=`` the whole compile runs in a warm worker
process (a fresh interpreter) that is killed and restarted when it overruns;
the result comes back as source text, LaTeX and pickled expressions. The same
worker compiles per-sample losses for
``gdviz.core.dataset_loss.compile_dataset_loss(..., timeout=...)``.
"""

from __future__ import annotations

import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter

from gdviz.core.expression import (
    ExpressionError,
    check_compilable,
    normalize_kinks,
    parse_expression,
)
from gdviz.core.mathtext import equations_text

__all__ = ["Loss", "compile_loss", "shutdown_worker", "warm_up"]

#: Seconds a cold compile worker may take to start before gdviz compiles in-process.
WORKER_START_TIMEOUT = 60.0


# --------------------------------------------------------------------------- #
# Code generation
# --------------------------------------------------------------------------- #


class _Printer(NumPyPrinter):
    """NumPy printer whose numbers never overflow Python ints or floats."""

    def __init__(self) -> None:
        super().__init__({"fully_qualified_modules": True, "allow_unknown_functions": False})

    def _print_Integer(self, expr: sympy.Integer) -> str:
        n = int(expr)
        if abs(n) <= 2**53:
            return str(n)
        return self._float_literal(n)

    def _print_Rational(self, expr: sympy.Rational) -> str:
        if abs(expr.p) <= 2**53 and expr.q <= 2**53:
            return super()._print_Rational(expr)
        try:
            value = expr.p / expr.q  # correctly rounded for ints of any size
        except OverflowError:
            value = float("inf") if expr.p > 0 else float("-inf")
        return self._float_literal(value)

    def _print_Pow(self, expr: sympy.Pow, rational: bool = False) -> str:
        # numpy.power is ~8x slower than multiplying for small integer exponents
        # other than 2 (which NumPy already squares fast); variables and CSE
        # temporaries are plain names, so repeating them costs nothing.
        base, exp = expr.args
        if isinstance(base, sympy.Symbol) and exp.is_Integer and 3 <= abs(int(exp)) <= 8:
            product = "*".join([self._print(base)] * abs(int(exp)))
            return f"({product})" if exp > 0 else f"(1/({product}))"
        return super()._print_Pow(expr, rational=rational)

    @staticmethod
    def _float_literal(value: float | int) -> str:
        try:
            f = float(value)
        except OverflowError:
            f = float("inf") if value > 0 else float("-inf")
        if f != f:  # pragma: no cover - never produced by checked expressions
            return "numpy.nan"
        if f in (float("inf"), float("-inf")):
            return "numpy.inf" if f > 0 else "(-numpy.inf)"
        return repr(f)


def _function_source(name: str, n_args: int, exprs: Sequence[sympy.Expr]) -> str:
    """Source of ``def name(_v0, ...): ... return (e0, e1, ...)`` with CSE."""
    replacements, reduced = sympy.cse(
        list(exprs), symbols=sympy.numbered_symbols("_c", real=True), order="none"
    )
    printer = _Printer()
    args = ", ".join(f"_v{i}" for i in range(n_args))
    lines = [f"def {name}({args}):"]
    for sym, sub in replacements:
        lines.append(f"    {sym} = {printer.doprint(sub)}")
    lines.append(f"    return ({''.join(printer.doprint(e) + ', ' for e in reduced)})")
    missing = getattr(printer, "_not_supported", set())
    if missing:  # pragma: no cover - check_compilable rejects these first
        raise ExpressionError("gdviz cannot compile this expression for NumPy")
    return "\n".join(lines) + "\n"


#: Joins the generated value and gradient so a caller gets both from one call
#: with exactly the numbers of the separate functions.
_VALUE_AND_GRAD = "def value_and_grad(*p):\n    return value(*p) + grad(*p)\n"


def _load_functions(sources: dict[str, str]) -> dict[str, Any]:
    """Execute generated sources in one namespace that holds only NumPy."""
    namespace: dict[str, Any] = {"numpy": np, "__builtins__": {}}
    for name in ("value", "grad", "hess"):
        exec(compile(sources[name], f"<gdviz {name}>", "exec"), namespace)
    exec(compile(_VALUE_AND_GRAD, "<gdviz value_and_grad>", "exec"), namespace)
    return namespace


# --------------------------------------------------------------------------- #
# The compile step (runs in-process or in the worker)
# --------------------------------------------------------------------------- #


def _compile_blob(text: str, variables: Sequence[str] | None) -> dict[str, Any]:
    """Parse, differentiate and generate code; everything a :class:`Loss` needs."""
    return _guarded(_compile, text, variables)


def _guarded(compile_fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """``compile_fn(*args)`` with every failure turned into an :class:`ExpressionError`.

    Shared by plain and dataset losses so that a compile fails with the same
    message in this process and in the worker.
    """
    try:
        return compile_fn(*args)
    except ExpressionError:
        raise
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply to compile") from None
    except MemoryError:
        raise ExpressionError("compiling this expression needs too much memory") from None
    except Exception as exc:
        # A SymPy corner we have not met: the person gets a message either way,
        # in-process or in the worker; the cause stays chained for debugging.
        raise ExpressionError(
            f"gdviz could not compile this expression ({type(exc).__name__}: {exc})"
        ) from exc


def _compile(text: str, variables: Sequence[str] | None) -> dict[str, Any]:
    parsed = parse_expression(text, variables=variables)
    names = parsed.variables
    symbols = [sympy.Symbol(n, real=True) for n in names]
    expr = parsed.expr
    grads = []
    for i, s in enumerate(symbols):
        g = normalize_kinks(sympy.diff(expr, s))
        check_compilable(g, f"the derivative with respect to {names[i]}")
        grads.append(g)
    d = len(symbols)
    hess: list[list[sympy.Expr]] = [[sympy.S.Zero] * d for _ in range(d)]
    for i in range(d):
        for j in range(i, d):
            h = normalize_kinks(sympy.diff(grads[i], symbols[j]))
            check_compilable(h, "the second derivative")
            hess[i][j] = hess[j][i] = h
    # Generated code sees the variables only as _v0, _v1: the person's names never
    # reach Python source.
    placeholders = {s: sympy.Symbol(f"_v{i}", real=True) for i, s in enumerate(symbols)}
    upper = [hess[i][j] for i in range(d) for j in range(i, d)]
    sources = {
        "value": _function_source("value", d, [expr.xreplace(placeholders)]),
        "grad": _function_source("grad", d, [g.xreplace(placeholders) for g in grads]),
        "hess": _function_source("hess", d, [h.xreplace(placeholders) for h in upper]),
    }
    if not expr.free_symbols:
        # Constants are checked as they are built, but SymPy can also fold a
        # variable away (asin(x - x + 2)); such a constant must still be real.
        with np.errstate(all="ignore"):
            value = _load_functions(sources)["value"](*([np.float64(0.0)] * d))[0]
        if not np.isfinite(value):
            raise ExpressionError(
                "the expression is a constant that is not a real number",
                None,
                "look for a division by zero or a function outside its domain",
            )
    grad_latex = _latex(grads[0] if d == 1 else sympy.Matrix(grads), sum(map(_size, grads)))
    hess_latex = _latex(sympy.Matrix(hess), sum(_size(h) for h in upper))
    try:
        # Printed here, in the compile process: the window then shows it
        # without unpickling the SymPy tree (up to 30 ms of Python that
        # competed with the GUI thread for the interpreter).
        pretty: str | None = equations_text(names, expr, grads)
    except Exception:  # display only: never fail a compile over printing
        pretty = None
    return {
        "text": text,
        "variables": names,
        "sources": sources,
        "latex": _latex(expr, _size(expr)),
        "grad_latex": grad_latex,
        "hess_latex": hess_latex,
        "pretty": pretty,
        "exprs": (expr, tuple(grads), tuple(tuple(row) for row in hess)),
    }


#: Expressions with more nodes than this are not typeset: nobody can read them,
#: and SymPy's LaTeX printer takes seconds on them.
LATEX_MAX_NODES = 1500
_TOO_LONG_LATEX = r"\text{(too long to display)}"


def _size(expr: sympy.Basic, cap: int = LATEX_MAX_NODES + 1) -> int:
    """Number of nodes in ``expr``, counting stops at ``cap``."""
    n = 0
    for _ in sympy.preorder_traversal(expr):
        n += 1
        if n >= cap:
            break
    return n


def _latex(expr: sympy.Basic, size: int) -> str:
    if size > LATEX_MAX_NODES:
        return _TOO_LONG_LATEX
    try:
        return sympy.latex(expr)
    except Exception:  # display only: never fail a compile over typesetting
        return r"\text{(cannot display)}"


# --------------------------------------------------------------------------- #
# Loss
# --------------------------------------------------------------------------- #


class LazyExpressions:
    """A compiled loss's SymPy expressions ``(expr, grads, hessian)``, built on first use.

    The compile worker sends them pickled; unpickling rebuilds SymPy objects
    (tens of milliseconds for a big gradient), so it is left until someone
    asks, once, under a lock (the window asks from two threads).
    """

    def __init__(self, raw: bytes | tuple) -> None:
        self._raw: bytes | tuple | None = raw
        self._value: tuple | None = None
        self._lock = threading.Lock()

    def get(self) -> tuple:
        with self._lock:
            if self._value is None:
                raw = self._raw
                # Pickled by gdviz's own compile worker, never by anyone else.
                self._value = pickle.loads(raw) if isinstance(raw, bytes) else raw
                self._raw = None
            return self._value


class Loss:
    """A compiled loss function of one or two variables.

    Use :func:`compile_loss` to make one. All evaluation methods take float64
    points with the variables on the last axis, run under
    ``numpy.errstate(all="ignore")`` and return real arrays: a logarithm of a
    negative number is nan, a division by zero is ±inf, and no warning escapes.

    Attributes
    ----------
    text : str
        The text the loss was compiled from.
    variables : tuple of str
        Variable names in order; the last axis of every point follows it.
    dim : int
        Number of variables ``d``.
    latex, grad_latex, hess_latex : str
        LaTeX of the function, its gradient (a column vector; a scalar when
        ``d == 1``) and its Hessian matrix.
    pretty : str or None
        The function and its gradient as one-line Unicode formulas, printed
        when it was compiled (None if they could not be printed).

    Notes
    -----
    For hot loops over a few points, :attr:`raw_value_and_grad` is the
    generated function itself: ``f(x, y) -> (value, dx, dy)`` on float64 NumPy
    scalars or arrays, with no shape handling and no ``errstate`` (the caller
    sets it). Its numbers equal :meth:`value` and :meth:`grad` bit for bit.
    """

    def __init__(self, blob: dict[str, Any]):
        self._blob = blob
        self.text: str = blob["text"]
        self.variables: tuple[str, ...] = tuple(blob["variables"])
        self.dim: int = len(self.variables)
        self.latex: str = blob["latex"]
        self.grad_latex: str = blob["grad_latex"]
        self.hess_latex: str = blob["hess_latex"]
        self.pretty: str | None = blob.get("pretty")
        funcs = _load_functions(blob["sources"])
        self._value = funcs["value"]
        self._grad = funcs["grad"]
        self._hess = funcs["hess"]
        self._value_and_grad = funcs["value_and_grad"]
        self._exprs = LazyExpressions(blob["exprs"])

    # -- symbolic side (lazy when the loss came from the worker) ------------
    def _expressions(self) -> tuple:
        return self._exprs.get()

    @property
    def expr(self) -> sympy.Expr:
        """The loss as a SymPy expression (symbols are real)."""
        return self._expressions()[0]

    @property
    def grad_exprs(self) -> tuple[sympy.Expr, ...]:
        """The gradient, one SymPy expression per variable."""
        return self._expressions()[1]

    @property
    def hess_exprs(self) -> tuple[tuple[sympy.Expr, ...], ...]:
        """The Hessian as a ``d × d`` tuple of SymPy expressions."""
        return self._expressions()[2]

    @property
    def raw_value_and_grad(self):
        """The generated ``f(*coords) -> (value, *grad)`` (see the class notes)."""
        return self._value_and_grad

    @property
    def sources(self) -> dict[str, str]:
        """The generated NumPy source of each function (for inspection)."""
        return dict(self._blob["sources"])

    # -- numeric side ------------------------------------------------------
    def _columns(self, p: Any) -> tuple[tuple[int, ...], list[np.ndarray]]:
        arr = np.asarray(p, dtype=np.float64)
        if arr.ndim == 0 or arr.shape[-1] != self.dim:
            raise ValueError(
                f"points for {self.text!r} need {self.dim} coordinate(s) on the last axis, "
                f"got shape {arr.shape}"
            )
        cols = [arr[..., i] for i in range(self.dim)]
        return arr.shape[:-1], cols

    def value(self, p: Any) -> np.ndarray:
        """Loss at points ``p`` of shape ``(..., d)``; returns shape ``(...)``."""
        shape, cols = self._columns(p)
        out = np.empty(shape)
        with np.errstate(all="ignore"):
            out[...] = _call(self._value, cols, 1)[0]
        return out

    def grad(self, p: Any) -> np.ndarray:
        """Gradient at points ``p`` of shape ``(..., d)``; returns shape ``(..., d)``."""
        shape, cols = self._columns(p)
        out = np.empty((*shape, self.dim))
        with np.errstate(all="ignore"):
            comps = _call(self._grad, cols, self.dim)
            for i, c in enumerate(comps):
                out[..., i] = c
        return out

    def value_and_grad(self, p: Any) -> tuple[np.ndarray, np.ndarray]:
        """Loss and gradient together, bit-for-bit equal to :meth:`value` and :meth:`grad`."""
        shape, cols = self._columns(p)
        value = np.empty(shape)
        grad = np.empty((*shape, self.dim))
        with np.errstate(all="ignore"):
            res = _call(self._value_and_grad, cols, 1 + self.dim)
            value[...] = res[0]
            for i, c in enumerate(res[1:]):
                grad[..., i] = c
        return value, grad

    def hess(self, p: Any) -> np.ndarray:
        """Hessian at points ``p`` of shape ``(..., d)``; returns ``(..., d, d)``."""
        shape, cols = self._columns(p)
        d = self.dim
        out = np.empty((*shape, d, d))
        with np.errstate(all="ignore"):
            comps = iter(_call(self._hess, cols, d * (d + 1) // 2))
            for i in range(d):
                for j in range(i, d):
                    c = next(comps)
                    out[..., i, j] = c
                    if j != i:
                        out[..., j, i] = c
        return out

    def value_at(self, point: Sequence[float]) -> float:
        """Loss at a single point: the fast path (no array set-up)."""
        if len(point) != self.dim:
            raise ValueError(f"{self.text!r} needs {self.dim} coordinate(s), got {len(point)}")
        args = [np.float64(v) for v in point]
        with np.errstate(all="ignore"):
            try:
                return float(self._value(*args)[0])
            except ArithmeticError:  # pragma: no cover - numpy scalars do not raise
                return float("nan")

    def __reduce__(self):
        blob = dict(self._blob)
        if not isinstance(blob["exprs"], bytes):
            blob["exprs"] = pickle.dumps(blob["exprs"])
        return (Loss, (blob,))

    def __repr__(self) -> str:
        return f"Loss({self.text!r}, variables={self.variables!r})"


def _call(fn, cols: list[np.ndarray], n_out: int) -> tuple:
    try:
        return fn(*cols)
    except ArithmeticError:  # pragma: no cover - float64 numpy inputs do not raise
        return (np.nan,) * n_out


# --------------------------------------------------------------------------- #
# The killable compile worker
# --------------------------------------------------------------------------- #


class _Worker:
    """One worker process that compiles requests until it is killed.

    A plain ``subprocess`` (not ``multiprocessing``) so that starting it never
    re-imports the caller's ``__main__`` (which fails for stdin, notebooks or
    embedded interpreters). Requests and replies are length-prefixed pickles on
    the child's stdin/stdout; a reader thread turns replies into a queue so the
    parent can wait with a timeout on every platform.
    """

    def __init__(self) -> None:
        code = (
            "import sys; sys.path[:0] = " + repr(list(sys.path)) + "; "
            "from gdviz.core._compile_worker import main; main()"
        )
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0) if os.name == "nt" else 0
        # The worker does no linear algebra: one BLAS thread keeps its memory
        # (and its address-space cap) small on machines with many cores.
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            creationflags=flags,
        )
        self.replies: queue.Queue = queue.Queue()
        self.ready = False
        self.reader = threading.Thread(target=self._read, name="gdviz-compile-reader", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        try:
            while True:
                head = stream.read(8)
                if len(head) < 8:
                    break
                body = stream.read(int.from_bytes(head, "little"))
                self.replies.put(pickle.loads(body))
        except Exception:  # any failure here means the worker is gone
            pass
        self.replies.put(None)

    def send(self, message: object) -> None:
        data = pickle.dumps(message)
        stream = self.proc.stdin
        assert stream is not None
        stream.write(len(data).to_bytes(8, "little") + data)
        stream.flush()

    def receive(self, timeout: float) -> tuple[bool, Any]:
        """(answered, reply); reply is None when the worker died."""
        try:
            return True, self.replies.get(timeout=timeout)
        except queue.Empty:
            return False, None

    def wait_ready(self, timeout: float) -> bool:
        if not self.ready:
            answered, reply = self.receive(timeout)
            self.ready = answered and reply == ("ready", None)
        return self.ready

    def kill(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        # The reader sees EOF once the process is gone; then its pipe can close.
        self.reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


_worker: _Worker | None = None
_worker_lock = threading.Lock()
#: Set when a worker could not start; timed compiles then run in-process.
_worker_unavailable = False


def _start_worker() -> _Worker | None:
    global _worker_unavailable
    if _worker_unavailable:
        return None
    try:
        return _Worker()
    except OSError:  # no usable interpreter to start (frozen or sandboxed app)
        _worker_unavailable = True
        return None


def warm_up() -> None:
    """Start the compile worker in the background so the first timed compile is fast."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = _start_worker()


def shutdown_worker() -> None:
    """Stop the compile worker (it is restarted on demand)."""
    global _worker
    with _worker_lock:
        if _worker is not None:
            try:
                _worker.send(None)
            except (OSError, ValueError):
                pass
            _worker.kill()
            _worker = None


#: What a worker request can ask to compile, and the arguments it takes:
#: ``("loss", (text, variables))`` runs :func:`_compile_blob`,
#: ``("dataset", (text, dataset_name, column_names, parameters))`` runs
#: :func:`gdviz.core.dataset_loss._compile_blob`. Both answer with a blob whose
#: ``"exprs"`` is pickled separately (unpickled lazily by the loss).
WORKER_KINDS = ("loss", "dataset")


def _compile_in_worker(kind: str, args: tuple, timeout: float):
    """The blob of compiling ``kind`` with ``args`` in the worker, or None when no worker can run.

    ``kind`` is one of :data:`WORKER_KINDS`; ``args`` must be small and
    picklable (names and text, never data).
    """
    if kind not in WORKER_KINDS:
        raise ValueError(f"unknown compile kind {kind!r}; expected one of {WORKER_KINDS}")
    global _worker, _worker_unavailable
    with _worker_lock:
        if _worker is None:
            _worker = _start_worker()
        worker = _worker
        if worker is None:
            return None
        if not worker.wait_ready(WORKER_START_TIMEOUT):
            # The platform cannot run the worker: compile here, unprotected.
            worker.kill()
            _worker = None
            _worker_unavailable = True
            return None
        try:
            worker.send((kind, args))
            answered, reply = worker.receive(timeout)
        except (OSError, ValueError):
            answered, reply = True, None
        if reply is None:
            worker.kill()
            _worker = _start_worker()  # restart now so the next compile finds it warm
            if not answered:
                raise ExpressionError(
                    f"compiling this expression took longer than {timeout:g} s and was stopped",
                    None,
                    "try a simpler expression",
                )
            raise ExpressionError(
                "compiling this expression stopped its worker process (out of memory?)",
                None,
                "try a simpler expression",
            )
    kind, payload = reply
    if kind == "error":
        raise payload
    return payload


def compile_loss(
    text: str, variables: Sequence[str] | None = None, *, timeout: float | None = None
) -> Loss:
    """Compile typed text into a :class:`Loss`.

    Parameters
    ----------
    text
        The loss as typed, e.g. ``"(1-x)^2 + 100(y-x^2)^2"``.
    variables
        Variable names in order (a sequence, or one string such as ``"w, b"``);
        ``None`` takes the one or two names the text uses (``x``, ``y`` first,
        then alphabetical).
    timeout
        Seconds the compile may take (> 0). When given, the compile runs in a
        separate worker process that is stopped when it overruns, so the caller
        never freezes; when ``None`` it runs in this process. Starting the
        worker the first time (about half a second; see :func:`warm_up`) does
        not count against it.

    Returns
    -------
    Loss

    Raises
    ------
    ExpressionError
        For invalid text, and for a compile that overruns ``timeout``.
    """
    if isinstance(variables, str):
        variables = variables.replace(",", " ").split()
    var_tuple = None if variables is None else tuple(variables)
    if timeout is not None:
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        blob = _compile_in_worker("loss", (text, var_tuple), float(timeout))
        if blob is not None:
            return Loss(blob)
    return Loss(_compile_blob(text, var_tuple))
