"""A loss over a dataset: the mean of a typed per-sample loss, plus a penalty.

In dataset mode a person types the loss of *one sample*, e.g.
``(w*x + b - y)^2``. Names that are columns of the dataset (``x``, ``y``) are
data; the other one or two names (``w``, ``b``) are the parameters gradient
descent moves. The total loss is

.. math:: L(θ) = \\frac{1}{n}\\sum_{i=1}^{n} ℓ(θ; x_i, y_i) + λ‖θ‖

with an optional L2 (``λ‖θ‖²``) or L1 (``λ‖θ‖₁``) penalty.

:func:`compile_dataset_loss` differentiates ℓ symbolically (gradient and
Hessian with respect to the parameters) and prints each as NumPy code that is
vectorised over samples and runs at once, so every gradient is exact: a step's
gradient is the mean of the exact per-sample gradients over the samples it
used. When ℓ is a polynomial of low degree in the parameters (squared error,
for one), the full-data loss is expanded into sufficient statistics — the mean
of each coefficient over the data, computed once — so the loss surface on a
big grid costs no more than a typed f(x, y). When every parameter sits in one
argument u that is affine in them (``log(1 + exp(-y*(w*x + b)))``,
``abs(w*x + b - y)``), ℓ = F(u, data): the full-data loss forms u for blocks of
grid points and samples with one matrix product against data coefficients
computed once, and applies only F elementwise. Other losses are evaluated over
the data in chunks.

:meth:`DatasetLoss.sampled` pairs the loss with mini-batch sizes (batch,
stochastic, mini-batch b) and a shuffle seed; :func:`gdviz.core.engine.run`
then computes each run's gradient on that run's current mini-batch, and
:meth:`SampledObjective.trace` tells which samples every step used, its epoch,
and the full-data loss beside the mini-batch loss.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

from gdviz.core.data import BatchSampler, Dataset
from gdviz.core.expression import (
    ExpressionError,
    KinkAbs,
    check_compilable,
    normalize_kinks,
    parse_expression,
)
from gdviz.core.loss import (
    LazyExpressions,
    _compile_in_worker,
    _function_source,
    _guarded,
    _latex,
    _size,
)

__all__ = [
    "DatasetLoss",
    "DatasetTrace",
    "FullLossCache",
    "Model",
    "Penalty",
    "SampledObjective",
    "compile_dataset_loss",
    "compile_model",
    "parse_batch_size",
    "parse_penalty",
]

#: Largest degree (in the parameters) expanded into sufficient statistics:
#: higher powers of data lose too much precision when expanded.
MAX_STATS_DEGREE = 4
#: Largest per-sample loss (in SymPy nodes) a model is read off by solving.
MODEL_MAX_NODES = 60
#: Samples × points evaluated at once on the chunked (non-polynomial) path:
#: temporaries of 256 kB stay in cache.
CHUNK_ELEMENTS = 1 << 15
#: Points × samples per block on the affine path: the matrix product that
#: forms the inner argument amortises its call overhead over bigger blocks.
AFFINE_CHUNK_ELEMENTS = 1 << 17
#: Point-sample pairs below which the full-data loss stays on the calling
#: thread: handing work to another thread costs tens of microseconds.
PARALLEL_MIN_ELEMENTS = 1 << 18


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


#: Threads the full-data loss spreads blocks of grid points over. NumPy's
#: elementwise functions release the GIL, so on two cores the surface of a
#: logistic loss over 10,000 samples takes about half the time.
THREADS = max(1, min(8, _cpu_count()))

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _over_points(m_pts: int, n: int, work: Callable[[int, int], None]) -> None:
    """Call ``work(a, b)`` on ranges of points covering ``[0, m_pts)``.

    Big jobs (``m_pts × n`` pairs) are split into one contiguous range per
    thread; each call writes only its own rows of the output, so no locking
    is needed. Every part has finished when this returns, also on error.
    """
    global _pool
    k = min(THREADS, m_pts, (m_pts * n) // PARALLEL_MIN_ELEMENTS)
    if k <= 1:
        work(0, m_pts)
        return
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(THREADS, thread_name_prefix="gdviz-data")
        pool = _pool
    bounds = np.linspace(0, m_pts, k + 1).astype(int)
    futures = [pool.submit(work, int(a), int(b)) for a, b in itertools.pairwise(bounds)]
    wait(futures, return_when=FIRST_EXCEPTION)
    wait(futures)  # no part may still write to the output after an error
    for f in futures:
        f.result()


_PENALTIES = ("none", "l2", "l1")


# --------------------------------------------------------------------------- #
# Penalty
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Penalty:
    """A penalty on the parameters: ``λ‖θ‖²`` (``l2``), ``λ‖θ‖₁`` (``l1``) or none.

    The L1 penalty's derivative is taken as ``λ·sign(θ)`` (0 at 0), as for
    ``abs`` in a typed loss.
    """

    kind: str = "none"
    strength: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in _PENALTIES:
            raise ValueError(f"penalty must be one of {', '.join(_PENALTIES)}, not {self.kind!r}")
        lam = float(self.strength)
        if not (math.isfinite(lam) and lam >= 0):
            raise ValueError(f"penalty strength λ must be a finite number >= 0, not {lam!r}")
        object.__setattr__(self, "strength", lam)

    @property
    def active(self) -> bool:
        return self.kind != "none" and self.strength > 0

    def value(self, p: np.ndarray) -> np.ndarray | float:
        """Penalty at points ``(..., d)``."""
        if not self.active:
            return 0.0
        if self.kind == "l2":
            return self.strength * np.einsum("...d,...d->...", p, p)
        return self.strength * np.abs(p).sum(axis=-1)

    def grad(self, p: np.ndarray) -> np.ndarray | float:
        """Penalty gradient at points ``(..., d)``."""
        if not self.active:
            return 0.0
        if self.kind == "l2":
            return (2.0 * self.strength) * p
        return self.strength * np.sign(p)

    def hess_diag(self) -> float:
        """The penalty's Hessian is this number times the identity (0 for L1 off the kinks)."""
        return 2.0 * self.strength if self.active and self.kind == "l2" else 0.0

    def latex(self, variables: Sequence[str]) -> str:
        """``+ λ(w² + b²)`` with λ written out, or ``""``."""
        if not self.active:
            return ""
        syms = [sympy.Symbol(v, real=True) for v in variables]
        lam = _latex_number(self.strength)
        if self.kind == "l2":
            inner = " + ".join(sympy.latex(s**2) for s in syms)
        else:
            inner = " + ".join(rf"\left|{sympy.latex(s)}\right|" for s in syms)
        return rf" + {lam}\left({inner}\right)"

    def to_text(self) -> str:
        return "none" if not self.active else f"{self.kind}={self.strength:g}"


def _latex_number(x: float) -> str:
    text = f"{x:g}"
    if "e" in text:
        mant, exp = text.split("e")
        return rf"{mant} \cdot 10^{{{int(exp)}}}"
    return text


def parse_penalty(text: str | None) -> Penalty:
    """``"l2=0.01"``, ``"l1:0.1"``, ``"none"`` → :class:`Penalty`; ValueError with a message."""
    if text is None or text.strip().lower() in ("", "none", "0"):
        return Penalty()
    raw = text.strip().lower()
    for sep in ("=", ":"):
        if sep in raw:
            kind, _, val = raw.partition(sep)
            break
    else:
        raise ValueError(f"penalty {text!r}: write l2=λ or l1=λ, e.g. l2=0.01")
    kind = kind.strip()
    if kind not in ("l1", "l2"):
        raise ValueError(f"penalty {text!r}: the kind is l1 or l2, not {kind!r}")
    try:
        lam = float(val)
    except ValueError:
        raise ValueError(f"penalty {text!r}: λ must be a number, not {val.strip()!r}") from None
    return Penalty(kind, lam)


def parse_batch_size(text: str | int | None, n: int | None = None) -> int | None:
    """Text to a batch size: ``batch``/``all`` → None (all samples), ``sgd`` → 1, ``32`` → 32."""
    if text is None:
        return None
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        t = str(text).strip().lower()
        if t in ("batch", "all", "full", "n"):
            return None
        if t in ("sgd", "stochastic"):
            return 1
        try:
            value = int(t)
        except ValueError:
            raise ValueError(
                f"batch size {text!r}: give a whole number, 'batch' (all samples) or 1"
            ) from None
    if value < 1:
        raise ValueError(f"batch size must be at least 1, not {value}")
    if n is not None and value >= n:
        return None
    return value


# --------------------------------------------------------------------------- #
# Compiling the per-sample loss
# --------------------------------------------------------------------------- #


def _usable_columns(columns: Sequence[str]) -> tuple[str, ...]:
    """The column names an expression can use (a CSV header may hold any text)."""
    from gdviz.core.expression import _valid_name

    return tuple(c for c in columns if _valid_name(c))


def _load_function(source: str, name: str):
    """Execute generated source in a namespace that holds only NumPy (no builtins)."""
    namespace: dict[str, Any] = {"numpy": np, "__builtins__": {}}
    exec(compile(source, f"<gdviz dataset {name}>", "exec"), namespace)
    return namespace[name]


def _degree(e: sympy.Basic, params: frozenset) -> int | None:
    """Upper bound of ``e``'s degree in ``params`` if it is a polynomial in them, else None."""
    if e in params:
        return 1
    if not e.free_symbols & params:
        return 0
    if e.is_Add:
        parts = [_degree(a, params) for a in e.args]
        return None if None in parts else max(parts)  # type: ignore[type-var]
    if e.is_Mul:
        parts = [_degree(a, params) for a in e.args]
        return None if None in parts else sum(parts)  # type: ignore[arg-type]
    if e.is_Pow and e.exp.is_Integer and int(e.exp) >= 0:
        inner = _degree(e.base, params)
        return None if inner is None else inner * int(e.exp)
    return None


def _stats_terms(
    expr: sympy.Expr, params: list[sympy.Symbol]
) -> list[tuple[tuple[int, ...], sympy.Expr]] | None:
    """ℓ as ``Σ c_α(data)·θ^α`` when it is a polynomial of low degree in θ."""
    deg = _degree(expr, frozenset(params))
    if deg is None or deg > MAX_STATS_DEGREE:
        return None
    try:
        poly = sympy.Poly(sympy.expand(expr, deep=False), *params)
    except (sympy.PolynomialError, sympy.GeneratorsNeeded):
        return None
    terms = []
    for monom, coeff in poly.terms():
        c = sympy.sympify(coeff)
        if c.free_symbols & set(params):  # pragma: no cover - Poly keeps them apart
            return None
        check_compilable(c, "a coefficient of the loss")
        terms.append((tuple(int(m) for m in monom), c))
    return terms


def _affine_inner(
    expr: sympy.Expr, params: list[sympy.Symbol]
) -> tuple[sympy.Expr, list[sympy.Expr]] | None:
    """The single argument of ℓ that is affine in θ, with its data coefficients.

    ℓ = F(u(θ, data), data) with u = c_0 + Σ_j c_j θ_j lets the full-data loss
    form u for a block of grid points and samples with one matrix product and
    apply only F elementwise. Returns ``(u, [c_1, …, c_d, c_0])`` when every
    appearance of θ in ℓ is inside the same maximal affine sub-expression u,
    else None.
    """
    pset = frozenset(params)
    found: set[sympy.Expr] = set()

    def walk(e: sympy.Basic) -> None:
        if not e.free_symbols & pset:
            return
        if _degree(e, pset) == 1:
            found.add(e)
            return
        for a in e.args:
            walk(a)

    walk(expr)
    if len(found) != 1:
        return None
    (u,) = found
    if u is expr:  # ℓ itself affine: the statistics path covers it
        return None
    try:
        poly = sympy.Poly(u, *params)
    except (sympy.PolynomialError, sympy.GeneratorsNeeded):
        return None
    if poly.total_degree() > 1:
        return None
    coeffs = []
    for j in range(len(params)):
        monom = tuple(int(i == j) for i in range(len(params)))
        coeffs.append(sympy.sympify(poly.coeff_monomial(monom)))
    coeffs.append(sympy.sympify(poly.coeff_monomial((0,) * len(params))))
    if any(c.free_symbols & pset for c in coeffs):  # pragma: no cover - Poly keeps them apart
        return None
    for c in coeffs:
        check_compilable(c, "a coefficient of the loss")
    return u, coeffs


def _compile_blob(
    text: str, dataset_name: str, columns: Sequence[str], parameters: Sequence[str] | None
) -> dict[str, Any]:
    """Everything a :class:`DatasetLoss` needs, from names alone (runs in-process or in the worker).

    Parameters
    ----------
    text
        The per-sample loss as typed.
    dataset_name
        The dataset's name (for messages).
    columns
        The dataset's column names, in order. The data itself is not needed:
        the compile is symbolic, so a request to the compile worker stays small.
    parameters
        The parameter names in order, or None for the parser's choice.
    """
    return _guarded(_compile, text, dataset_name, tuple(columns), parameters)


def _compile(
    text: str, dataset_name: str, columns: tuple[str, ...], parameters: Sequence[str] | None
) -> dict[str, Any]:
    usable = _usable_columns(columns)
    params_given = None if parameters is None else tuple(parameters)
    if params_given is not None:
        clash = [p for p in params_given if p in columns]
        if clash:
            raise ExpressionError(
                f"'{clash[0]}' is a data column, so it cannot also be a parameter"
            )
    parsed = parse_expression(text, variables=params_given, data=usable, max_variables=2)
    expr = parsed.expr
    free = {s.name for s in expr.free_symbols}
    used_data = tuple(c for c in usable if c in free)
    if params_given is None:
        params = tuple(v for v in parsed.variables if v in free and v not in usable)
    else:
        params = params_given
    cols = ", ".join(columns)
    if not used_data:
        raise ExpressionError(
            f"the loss uses no data column — the columns of {dataset_name} are {cols}",
            None,
            "e.g. (w*x + b - y)^2",
        )
    if not params:
        raise ExpressionError(
            f"the loss has no parameters to fit: every name in it is a data column ({cols})",
            None,
            "add one or two parameters, e.g. (w*x + b - y)^2",
        )
    theta = [sympy.Symbol(v, real=True) for v in params]
    data_syms = [sympy.Symbol(c, real=True) for c in used_data]
    d = len(theta)
    grads = []
    for name, s in zip(params, theta, strict=True):
        g = normalize_kinks(sympy.diff(expr, s))
        check_compilable(g, f"the derivative with respect to {name}")
        grads.append(g)
    hess = [[sympy.S.Zero] * d for _ in range(d)]
    for i in range(d):
        for j in range(i, d):
            h = normalize_kinks(sympy.diff(grads[i], theta[j]))
            check_compilable(h, "the second derivative")
            hess[i][j] = hess[j][i] = h
    upper = [hess[i][j] for i in range(d) for j in range(i, d)]

    # Generated code sees only _v0, _v1, …: parameters first, then data columns.
    ph = {s: sympy.Symbol(f"_v{i}", real=True) for i, s in enumerate([*theta, *data_syms])}
    n_args = d + len(data_syms)
    sources = {
        "value": _function_source("value", n_args, [expr.xreplace(ph)]),
        "vg": _function_source("vg", n_args, [e.xreplace(ph) for e in (expr, *grads)]),
        "hess": _function_source("hess", n_args, [h.xreplace(ph) for h in upper]),
    }
    terms = _stats_terms(expr, theta)
    if terms is not None:
        # L(θ) = Σ s_α θ^α with s_α the data means of the coefficients.
        svars = [sympy.Symbol(f"_s{k}", real=True) for k in range(len(terms))]
        poly = sympy.Add(
            *(
                s * sympy.Mul(*(t**m for t, m in zip(theta, monom, strict=True)))
                for s, (monom, _) in zip(svars, terms, strict=True)
            )
        )
        pgrads = [sympy.diff(poly, t) for t in theta]
        phess = [sympy.diff(pgrads[i], theta[j]) for i in range(d) for j in range(i, d)]
        sph = {s: sympy.Symbol(f"_v{i}", real=True) for i, s in enumerate([*theta, *svars])}
        dph = {s: sympy.Symbol(f"_v{i}", real=True) for i, s in enumerate(data_syms)}
        m = len(svars)
        sources["coef"] = _function_source(
            "coef", len(data_syms), [c.xreplace(dph) for _, c in terms]
        )
        sources["pvalue"] = _function_source("pvalue", d + m, [poly.xreplace(sph)])
        sources["pvg"] = _function_source("pvg", d + m, [e.xreplace(sph) for e in (poly, *pgrads)])
        sources["phess"] = _function_source("phess", d + m, [h.xreplace(sph) for h in phess])
    affine = None if terms is not None else _affine_inner(expr, theta)
    if affine is not None:
        # ℓ = F(u, data) with u affine in θ: F gets the placeholder first, then data.
        u, ucoef = affine
        usym = sympy.Symbol("_u", real=True)
        outer = expr.xreplace({u: usym})
        if outer.free_symbols & set(theta):  # pragma: no cover - walk found every θ
            affine = None
        else:
            check_compilable(outer, "the loss")
            aph = {s: sympy.Symbol(f"_v{i}", real=True) for i, s in enumerate([usym, *data_syms])}
            dph = {s: sympy.Symbol(f"_v{i}", real=True) for i, s in enumerate(data_syms)}
            sources["acoef"] = _function_source(
                "acoef", len(data_syms), [c.xreplace(dph) for c in ucoef]
            )
            sources["aouter"] = _function_source(
                "aouter", 1 + len(data_syms), [outer.xreplace(aph)]
            )

    # LaTeX: the sample index i on every data symbol.
    sub = {s: sympy.Symbol(f"{s.name}_i", real=True) for s in data_syms}
    sample = expr.xreplace(sub)
    sample_latex = _latex(sample, _size(sample))
    grad_i = [g.xreplace(sub) for g in grads]
    grad_vec = grad_i[0] if d == 1 else sympy.Matrix(grad_i)
    hess_mat = sympy.Matrix([[h.xreplace(sub) for h in row] for row in hess])
    return {
        "text": text,
        "params": params,
        "data": used_data,
        "sources": sources,
        "sample_latex": sample_latex,
        "grad_i_latex": _latex(grad_vec, sum(map(_size, grad_i))),
        "hess_i_latex": _latex(hess_mat, sum(_size(h) for h in upper)),
        "exprs": (expr, tuple(grads), tuple(tuple(r) for r in hess)),
        "n_terms": None if terms is None else len(terms),
        # Which outputs of vg vary from sample to sample (the rest are the same
        # for every sample, so their mean is themselves).
        "vg_varies": tuple(bool(e.free_symbols & set(data_syms)) for e in (expr, *grads)),
    }


def _wrap(latex: str) -> str:
    return rf"\left[{latex}\right]"


def _reduce_sum(v: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Sum over the last axis of ``v`` broadcast to ``shape``."""
    arr = np.asarray(v)
    if arr.shape == shape:
        return np.add.reduce(arr, axis=-1)
    if arr.ndim == 0:
        return np.full(shape[:-1], float(arr) * shape[-1])
    return np.add.reduce(np.broadcast_to(arr, shape), axis=-1)


def _reduce_mean(v: Any, shape: tuple[int, ...], m: int) -> np.ndarray:
    """Mean over the last axis of ``v`` broadcast to ``shape`` (constants stay cheap)."""
    arr = np.asarray(v)
    if arr.shape == shape:
        return np.add.reduce(arr, axis=-1) / m
    if arr.ndim == 0:
        return np.full(shape[:-1], float(arr))
    return np.add.reduce(np.broadcast_to(arr, shape), axis=-1) / m


class DatasetLoss:
    """The mean of a per-sample loss over a dataset, plus a penalty.

    Make one with :func:`compile_dataset_loss`. It behaves like a compiled
    :class:`gdviz.core.loss.Loss` whose function is the *full-data* loss
    ``L(θ) = mean_i ℓ(θ; data_i) + penalty(θ)``: ``value``, ``grad``, ``hess``
    take points ``(..., d)``; surfaces, the engine (batch gradient descent)
    and the exporter can use it as it is. :meth:`sampled` gives the mini-batch
    version.

    Attributes
    ----------
    text : str
        The per-sample loss as typed.
    variables : tuple of str
        The parameters (one or two), in order.
    data_names : tuple of str
        The dataset columns the loss uses.
    dataset : Dataset
    penalty : Penalty
    dim : int
    n : int
        Number of samples.
    latex, grad_latex, hess_latex : str
        The total loss with its sum and penalty; the mini-batch gradient and
        Hessian (mean over a batch B of the per-sample ones, plus the penalty's).
    sample_latex : str
        The per-sample loss ℓ with data written ``x_i``.
    uses_statistics : bool
        True when the full-data loss is evaluated from sufficient statistics.
    uses_affine : bool
        True when ℓ = F(u, data) with u affine in the parameters, so the
        full-data loss forms u with a matrix product (value only).
    """

    #: The name its values go by in plots and captions: the full-data loss
    #: L(θ), not the per-sample ℓ that was typed (a plain loss is ``f``).
    value_name = "L"

    def __init__(self, blob: dict[str, Any], dataset: Dataset, penalty: Penalty):
        self._blob = blob
        self.text: str = blob["text"]
        self.variables: tuple[str, ...] = tuple(blob["params"])
        self.data_names: tuple[str, ...] = tuple(blob["data"])
        self.dim = len(self.variables)
        self.dataset = dataset
        self.penalty = penalty
        self.n = dataset.n
        # "exprs" is bytes when the loss was compiled in the worker: see _expressions.
        self._exprs = LazyExpressions(blob["exprs"])
        src = blob["sources"]
        self._value = _load_function(src["value"], "value")
        self._vg = _load_function(src["vg"], "vg")
        self._hess = _load_function(src["hess"], "hess")
        # Contiguous float64 columns: gathers and ufuncs are fastest on them.
        self._cols = [np.ascontiguousarray(dataset.column(c)) for c in self.data_names]
        self._stats: list[np.ndarray] | None = None
        if "coef" in src:
            coef = _load_function(src["coef"], "coef")
            with np.errstate(all="ignore"):
                raw = coef(*self._cols)
            stats = [np.float64(np.mean(np.broadcast_to(c, (self.n,)))) for c in raw]
            if all(np.isfinite(s) for s in stats):
                self._stats = stats
                self._pvalue = _load_function(src["pvalue"], "pvalue")
                self._pvg = _load_function(src["pvg"], "pvg")
                self._phess = _load_function(src["phess"], "phess")
        self.uses_statistics = self._stats is not None
        # (d + 1, n) data coefficients of the affine inner argument, if any.
        self._affine: np.ndarray | None = None
        if self._stats is None and "acoef" in src:
            acoef = _load_function(src["acoef"], "acoef")
            with np.errstate(all="ignore"):
                raw = acoef(*self._cols)
            rows = np.array([np.broadcast_to(c, (self.n,)) for c in raw], dtype=np.float64)
            if np.isfinite(rows).all():
                self._affine = np.ascontiguousarray(rows)
                self._aouter = _load_function(src["aouter"], "aouter")
        self.uses_affine = self._affine is not None
        n = self.n
        pen = penalty.latex(self.variables)
        self.sample_latex: str = blob["sample_latex"]
        self.latex = rf"\frac{{1}}{{{n}}}\sum_{{i=1}}^{{{n}}} {_wrap(self.sample_latex)}{pen}"
        pen_g = ""
        if penalty.active:
            theta = (
                sympy.latex(sympy.Symbol(self.variables[0], real=True))
                if self.dim == 1
                else sympy.latex(sympy.Matrix([sympy.Symbol(v) for v in self.variables]))
            )
            lam = _latex_number(2 * penalty.strength if penalty.kind == "l2" else penalty.strength)
            pen_g = (
                rf" + {lam}\,{theta}"
                if penalty.kind == "l2"
                else rf" + {lam}\,\operatorname{{sign}}{theta}"
            )
        self.grad_latex = rf"\frac{{1}}{{|B|}}\sum_{{i\in B}} {blob['grad_i_latex']}{pen_g}"
        pen_h = ""
        if penalty.active and penalty.kind == "l2":
            pen_h = rf" + {_latex_number(2 * penalty.strength)}\,I"
        self.hess_latex = rf"\frac{{1}}{{|B|}}\sum_{{i\in B}} {blob['hess_i_latex']}{pen_h}"

    # -- description -----------------------------------------------------------
    def roles(self) -> str:
        """Which names are data and which are parameters, for people."""
        return (
            f"data: {', '.join(self.data_names)} ({self.dataset.name}, {self.n:,} samples) · "
            f"parameters: {', '.join(self.variables)}"
        )

    # -- symbolic side (lazy when the loss came from the compile worker) --------
    def _expressions(self) -> tuple:
        return self._exprs.get()

    @property
    def expr(self) -> sympy.Expr:
        """The per-sample loss ℓ as a SymPy expression."""
        return self._expressions()[0]

    @property
    def grad_exprs(self) -> tuple[sympy.Expr, ...]:
        """∂ℓ/∂θ_j, one per parameter."""
        return self._expressions()[1]

    @property
    def hess_exprs(self) -> tuple[tuple[sympy.Expr, ...], ...]:
        """∂²ℓ/∂θ_j∂θ_k as a ``d × d`` tuple."""
        return self._expressions()[2]

    @property
    def sources(self) -> dict[str, str]:
        """Generated NumPy source of each function (for inspection)."""
        return dict(self._blob["sources"])

    # -- points ------------------------------------------------------------------
    def _points(self, p: Any) -> np.ndarray:
        arr = np.asarray(p, dtype=np.float64)
        if arr.ndim == 0 or arr.shape[-1] != self.dim:
            raise ValueError(
                f"points for {self.text!r} need {self.dim} coordinate(s) "
                f"({', '.join(self.variables)}) on the last axis, got shape {arr.shape}"
            )
        return arr

    def _gather(self, idx: np.ndarray | None) -> list[np.ndarray]:
        if idx is None:
            return self._cols
        return [c[idx] for c in self._cols]

    # -- per sample (for checks and the data panel) ------------------------------
    def sample_values(self, point: Sequence[float], idx: Any = None) -> np.ndarray:
        """ℓ for each sample (or the samples ``idx``) at one parameter point."""
        th = [np.float64(v) for v in self._points(point)]
        cols = self._gather(None if idx is None else np.asarray(idx, dtype=np.intp))
        m = cols[0].shape[0]
        with np.errstate(all="ignore"):
            return np.broadcast_to(self._value(*th, *cols)[0], (m,)).astype(np.float64)

    def sample_grads(self, point: Sequence[float], idx: Any = None) -> np.ndarray:
        """∇ℓ for each sample (or the samples ``idx``) at one point: shape ``(m, d)``."""
        th = [np.float64(v) for v in self._points(point)]
        cols = self._gather(None if idx is None else np.asarray(idx, dtype=np.intp))
        m = cols[0].shape[0]
        with np.errstate(all="ignore"):
            res = self._vg(*th, *cols)
        return np.stack([np.broadcast_to(g, (m,)) for g in res[1:]], axis=-1).astype(np.float64)

    # -- full data -----------------------------------------------------------------
    def _chunked(self, fn, pts: np.ndarray, n_out: int) -> list[np.ndarray]:
        """Means over all samples of ``fn``'s outputs at points (M, d).

        Work goes in blocks of about :data:`CHUNK_ELEMENTS` point-sample pairs,
        small enough for the temporaries to stay in cache; ranges of points
        go to :data:`THREADS` threads.
        """
        m_pts, n, d = pts.shape[0], self.n, self.dim
        outs = [np.zeros(m_pts) for _ in range(n_out)]
        s_step = min(n, CHUNK_ELEMENTS)
        p_step = max(1, CHUNK_ELEMENTS // s_step)
        cols = self._cols

        def work(first: int, last: int) -> None:
            with np.errstate(all="ignore"):  # NumPy's error state is per thread
                for a in range(first, last, p_step):
                    b = min(a + p_step, last)
                    th = [pts[a:b, j : j + 1] for j in range(d)]
                    for lo in range(0, n, s_step):
                        hi = min(lo + s_step, n)
                        res = fn(*th, *[c[None, lo:hi] for c in cols])
                        for k in range(n_out):
                            outs[k][a:b] += _reduce_sum(res[k], (b - a, hi - lo))

        _over_points(m_pts, n, work)
        for o in outs:
            o /= n
        return outs

    def _affine_value(self, pts: np.ndarray) -> np.ndarray:
        """Mean over all samples of ℓ at points (M, d) through the affine inner argument.

        u = [θ, 1] @ A for a block of points and samples in one matrix product
        (A holds the data coefficients of u, computed once), then the outer
        function F(u, data) elementwise: a few passes over the block instead
        of one per operation of u.
        """
        a_mat = self._affine
        assert a_mat is not None
        m_pts, n = pts.shape[0], self.n
        lhs = np.empty((m_pts, self.dim + 1))
        lhs[:, :-1] = pts
        lhs[:, -1] = 1.0
        out = np.zeros(m_pts)
        s_step = min(n, AFFINE_CHUNK_ELEMENTS)
        p_step = max(1, AFFINE_CHUNK_ELEMENTS // s_step)
        cols = self._cols
        blocks = [
            (lo, min(lo + s_step, n), np.ascontiguousarray(a_mat[:, lo : lo + s_step]))
            for lo in range(0, n, s_step)
        ]

        def work(first: int, last: int) -> None:
            with np.errstate(all="ignore"):  # NumPy's error state is per thread
                for lo, hi, blk in blocks:
                    data = [c[None, lo:hi] for c in cols]
                    for a in range(first, last, p_step):
                        b = min(a + p_step, last)
                        res = self._aouter(lhs[a:b] @ blk, *data)[0]
                        out[a:b] += _reduce_sum(res, (b - a, hi - lo))

        _over_points(m_pts, n, work)
        out /= n
        return out

    def _full(self, pts: np.ndarray, kind: str) -> list[np.ndarray]:
        d = self.dim
        if self._stats is not None:
            th = [np.ascontiguousarray(pts[:, j]) for j in range(d)]
            fn = {"value": self._pvalue, "vg": self._pvg, "hess": self._phess}[kind]
            res = fn(*th, *self._stats)
            return [np.broadcast_to(r, (pts.shape[0],)) for r in res]
        if kind == "value" and self._affine is not None:
            return [self._affine_value(pts)]
        fn = {"value": self._value, "vg": self._vg, "hess": self._hess}[kind]
        n_out = {"value": 1, "vg": 1 + d, "hess": d * (d + 1) // 2}[kind]
        return self._chunked(fn, pts, n_out)

    def value(self, p: Any) -> np.ndarray:
        """Full-data loss (with penalty) at points ``(..., d)``; shape ``(...)``."""
        arr = self._points(p)
        flat = arr.reshape(-1, self.dim)
        with np.errstate(all="ignore"):
            v = self._full(flat, "value")[0] + self.penalty.value(flat)
        return np.asarray(v, dtype=np.float64).reshape(arr.shape[:-1])

    def value_and_grad(self, p: Any) -> tuple[np.ndarray, np.ndarray]:
        """Full-data loss and gradient at points ``(..., d)``."""
        arr = self._points(p)
        flat = arr.reshape(-1, self.dim)
        with np.errstate(all="ignore"):
            res = self._full(flat, "vg")
            v = res[0] + self.penalty.value(flat)
            g = np.stack(res[1:], axis=-1) + self.penalty.grad(flat)
        return (
            np.asarray(v, dtype=np.float64).reshape(arr.shape[:-1]),
            np.asarray(g, dtype=np.float64).reshape(arr.shape),
        )

    def grad(self, p: Any) -> np.ndarray:
        """Full-data gradient at points ``(..., d)``."""
        return self.value_and_grad(p)[1]

    def hess(self, p: Any) -> np.ndarray:
        """Full-data Hessian at points ``(..., d)``; shape ``(..., d, d)``."""
        arr = self._points(p)
        flat = arr.reshape(-1, self.dim)
        d = self.dim
        out = np.empty((flat.shape[0], d, d))
        with np.errstate(all="ignore"):
            comps = iter(self._full(flat, "hess"))
            for i in range(d):
                for j in range(i, d):
                    c = next(comps)
                    out[:, i, j] = c
                    out[:, j, i] = c
            if self.penalty.hess_diag():
                out[:, range(d), range(d)] += self.penalty.hess_diag()
        return out.reshape((*arr.shape[:-1], d, d))

    def value_at(self, point: Sequence[float]) -> float:
        """Full-data loss at one point."""
        return float(self.value(np.asarray(point, dtype=np.float64)[None, :])[0])

    # -- mini-batches ----------------------------------------------------------------
    def batch_value_and_grad(
        self, theta: np.ndarray, idx: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mini-batch loss and gradient: runs ``theta (K, d)``, samples ``idx (K, b)``.

        ``idx`` None means all samples (the full-data values). The penalty is
        included. Returns shapes ``(K,)`` and ``(K, d)``.
        """
        theta = np.asarray(theta, dtype=np.float64)
        k, d = theta.shape
        with np.errstate(all="ignore"):
            if idx is None:
                res = self._full(theta, "vg")
                v = np.array(res[0], dtype=np.float64)
                g = np.stack(res[1:], axis=-1)
            else:
                m = idx.shape[-1]
                cols = [c[idx] for c in self._cols]
                th = [theta[:, j : j + 1] for j in range(d)]
                res = self._vg(*th, *cols)
                shape = (k, m)
                v = _reduce_mean(res[0], shape, m)
                g = np.stack([_reduce_mean(r, shape, m) for r in res[1:]], axis=-1)
            if self.penalty.active:
                v = v + self.penalty.value(theta)
                g = g + self.penalty.grad(theta)
        return v, g

    def batch_hess(self, theta: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
        """Mini-batch Hessian (mean over ``idx``, plus the penalty's): ``(K, d, d)``."""
        theta = np.asarray(theta, dtype=np.float64)
        k, d = theta.shape
        if idx is None:
            return self.hess(theta)
        m = idx.shape[-1]
        cols = [c[idx] for c in self._cols]
        th = [theta[:, j : j + 1] for j in range(d)]
        out = np.empty((k, d, d))
        with np.errstate(all="ignore"):
            comps = iter(self._hess(*th, *cols))
            for i in range(d):
                for j in range(i, d):
                    c = _reduce_mean(next(comps), (k, m), m)
                    out[:, i, j] = c
                    out[:, j, i] = c
        if self.penalty.hess_diag():
            out[:, range(d), range(d)] += self.penalty.hess_diag()
        return out

    def subset(self, indices: Any) -> DatasetLoss:
        """The same loss over the samples ``indices`` only (no recompile).

        For pictures of very large datasets: a surface from a few thousand
        samples looks like the full one at a fraction of the cost.
        """
        idx = np.asarray(indices, dtype=np.intp)
        if idx.ndim != 1 or idx.size == 0:
            raise ValueError("a subset needs at least one sample index")
        data = self.dataset
        sub = Dataset(
            data.name,
            {c: data.column(c)[idx] for c in data.names},
            source=data.source,
            description=f"{idx.size:,} of the {data.n:,} samples of {data.name}",
            model=data.model,
            link=data.link,
            default_loss=data.default_loss,
        )
        return DatasetLoss(self._blob, sub, self.penalty)

    def sampled(
        self, batch_sizes: int | Sequence[int | None] | None, seed: int = 0
    ) -> SampledObjective:
        """This loss with mini-batches: one batch size for every run, or one per run.

        ``None`` (or any size ``>= n``) is batch gradient descent, 1 is
        stochastic, ``b`` a mini-batch. ``seed`` seeds every run's shuffles.
        """
        return SampledObjective(self, batch_sizes, seed)

    def __repr__(self) -> str:
        return (
            f"DatasetLoss({self.text!r}, parameters={self.variables!r}, "
            f"data={self.data_names!r}, n={self.n}, penalty={self.penalty.to_text()!r})"
        )


def compile_dataset_loss(
    text: str,
    dataset: Dataset,
    *,
    parameters: Sequence[str] | None = None,
    penalty: Penalty | None = None,
    timeout: float | None = None,
) -> DatasetLoss:
    """Compile a per-sample loss over ``dataset``.

    Parameters
    ----------
    text
        The loss of one sample, e.g. ``"(w*x + b - y)^2"``. Names that are
        columns of the dataset are data; the others (one or two) are parameters.
    dataset
        The samples.
    parameters
        The parameter names in order (default: those the text uses, in the
        parser's order).
    penalty
        Optional L2/L1 penalty added to the mean.
    timeout
        Seconds the symbolic compile may take (> 0). When given, it runs in
        the same killable worker process as ``compile_loss(..., timeout=...)``,
        which is stopped when it overruns, so the caller never freezes; only
        the text and the dataset's name and column names are sent, never the
        data. When ``None`` it runs in this process. Starting the worker the
        first time does not count against it, and where no worker can run the
        compile falls back to this process.

    Returns
    -------
    DatasetLoss

    Raises
    ------
    ExpressionError
        For invalid text, a loss with no data column or no parameter, more
        than two parameters, and a compile that overruns ``timeout``.
    ValueError
        For a ``timeout`` that is not a positive number.
    """
    params = None if parameters is None else tuple(parameters)
    args = (text, dataset.name, tuple(dataset.names), params)
    blob = None
    if timeout is not None:
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        blob = _compile_in_worker("dataset", args, float(timeout))
    if blob is None:
        blob = _compile_blob(*args)
    return DatasetLoss(blob, dataset, penalty or Penalty())


@dataclass(frozen=True)
class Model:
    """What the data panel draws: the prediction of a parameter point along one column.

    Attributes
    ----------
    text : str
        The model, e.g. ``"w*x + b"``.
    column : str
        The data column on the horizontal axis (``x``).
    target : str or None
        The column predicted (drawn vertically), if known.
    link : str
        ``"identity"`` (draw the model itself) or ``"sigmoid"`` (draw σ(model)).
    """

    text: str
    column: str
    target: str | None
    link: str
    _fn: Any = None
    _params: tuple[str, ...] = ()

    def predict(self, theta: Any, xs: Any) -> np.ndarray:
        """Model values for parameter points ``theta (K, d)`` at ``xs (m,)``: ``(K, m)``."""
        th = np.asarray(theta, dtype=np.float64).reshape(-1, len(self._params))
        x = np.asarray(xs, dtype=np.float64)
        cols = [th[:, j : j + 1] for j in range(th.shape[1])]
        with np.errstate(all="ignore"):
            z = np.broadcast_to(self._fn(*cols, x[None, :])[0], (th.shape[0], x.size))
            if self.link == "sigmoid":
                z = 1.0 / (1.0 + np.exp(-z))
        return np.array(z, dtype=np.float64)


def compile_model(loss: DatasetLoss, text: str | None = None) -> Model | None:
    """The model to draw for ``loss``: ``text``, else the dataset's, else one read off the loss.

    A loss that is a function of ``m - y`` (or ``y - m``) for a data column
    ``y``, such as ``(w*x + b - y)^2`` or ``abs(y - a*x)``, has the model
    ``m``: solving ∂ℓ/∂y = 0 finds it. Returns None when there is no model in
    one data column and the loss's parameters (the panel then shows only the
    samples).
    """
    data = loss.dataset
    params = loss.variables
    candidates: list[tuple[str, str | None]] = []
    if text:
        candidates.append((text, None))
    if data.model:
        candidates.append((data.model, None))
    for cand, target in candidates:
        model = _model_from_text(cand, loss, target, data.link)
        if model is not None:
            return model
    # Read the model off the loss: ℓ(m(θ, x) − y) is smallest at y = m. Only
    # small losses: solve is symbolic work without a time limit.
    if _size(loss.expr, MODEL_MAX_NODES + 1) > MODEL_MAX_NODES:
        return None
    syms = {s.name: s for s in loss.expr.free_symbols}
    for target in reversed(loss.data_names):
        ys = syms.get(target)
        if ys is None or len(loss.data_names) != 2:
            continue
        other = next(c for c in loss.data_names if c != target)
        # |m − y| is smallest where (m − y)² is: square kinks first. Only low
        # powers of y: solving (m − y)^1000 would expand it.
        smooth = loss.expr.replace(KinkAbs, lambda a: a**2)
        deg = _degree(smooth, frozenset([ys]))
        if deg is None or deg > MAX_STATS_DEGREE:
            continue
        try:
            with np.errstate(all="ignore"):
                sol = sympy.solve(sympy.diff(sympy.expand(smooth), ys), ys)
        except Exception:  # solve can fail in many ways; no model is fine
            continue
        if len(sol) == 1 and ys not in sol[0].free_symbols:
            names = {s.name for s in sol[0].free_symbols}
            if names <= {*params, other}:
                return _build_model(sol[0], params, other, target, "identity")
    return None


def _model_from_text(text: str, loss: DatasetLoss, target: str | None, link: str) -> Model | None:
    cols = [c for c in loss.data_names if c in loss.dataset.names]
    try:
        parsed = parse_expression(text, variables=loss.variables, data=tuple(cols))
    except ExpressionError:
        return None
    used = [c for c in cols if sympy.Symbol(c, real=True) in parsed.expr.free_symbols]
    if len(used) != 1:
        return None
    if target is None:
        rest = [c for c in loss.data_names if c != used[0]]
        target = rest[0] if len(rest) == 1 else None
    return _build_model(parsed.expr, loss.variables, used[0], target, link)


def _build_model(expr, params, column, target, link) -> Model:
    syms = [sympy.Symbol(p, real=True) for p in params] + [sympy.Symbol(column, real=True)]
    ph = {s: sympy.Symbol(f"_v{i}", real=True) for i, s in enumerate(syms)}
    fn = _load_function(_function_source("model", len(syms), [expr.xreplace(ph)]), "model")
    return Model(sympy.sstr(expr), column, target, link, fn, tuple(params))


# --------------------------------------------------------------------------- #
# Mini-batch objective for the engine
# --------------------------------------------------------------------------- #


class _Bound:
    """A :class:`SampledObjective` bound to the engine's order of runs.

    ``evaluate(p, lrow, grow, t)`` writes each run's mini-batch loss and
    gradient at step ``t``; ``hess(p)`` is the mini-batch Hessian on the batches
    of the latest ``evaluate`` (the engine calls them in that order). The
    engine's loop already runs under ``errstate(all="ignore")``.

    Runs that share a batch size form a group evaluated in one call; a group
    of one run is evaluated on NumPy scalars and 1-D batches, which costs far
    less per step than ``(1, b)`` arrays when steps are many and batches small.
    """

    def __init__(self, obj: SampledObjective, order: Sequence[int]):
        self.loss = obj.loss
        self._k = len(order)
        n = obj.loss.n
        by_size: dict[int | None, list[int]] = {}
        for pos, run in enumerate(order):
            by_size.setdefault(obj.batch_sizes[run], []).append(pos)
        self.groups: list[tuple[Any, BatchSampler]] = []
        self._evals = []
        self._last: list[np.ndarray | None] = [None] * len(by_size)
        for size, rows in by_size.items():
            sampler = BatchSampler(n, size, [order[r] for r in rows], obj.seed)
            sel: Any = slice(None) if len(rows) == len(order) else np.array(rows)
            self.groups.append((sel, sampler))
            gi = len(self.groups) - 1
            if sampler.full:
                self._evals.append(self._full_group(gi, sel))
            elif len(rows) == 1:
                self._evals.append(self._single_run(gi, rows[0], sampler))
            else:
                self._evals.append(self._many_runs(gi, sel, sampler))
        if len(self._evals) == 1:
            self.evaluate = self._evals[0]  # type: ignore[method-assign]

    def evaluate(self, p: np.ndarray, lrow: np.ndarray, grow: np.ndarray, t: int) -> None:
        for ev in self._evals:
            ev(p, lrow, grow, t)

    def _full_group(self, gi: int, sel: Any):
        loss = self.loss
        if loss._stats is not None and not isinstance(sel, np.ndarray) and self._k == 1:
            # One batch run on sufficient statistics: a handful of scalar operations.
            pvg, stats, pen = loss._pvg, loss._stats, loss.penalty

            def evaluate_one(p, lrow, grow, t):
                th = p[0]
                res = pvg(*th, *stats)
                grow[0] = res[1:]
                if pen.active:
                    lrow[0] = res[0] + pen.value(th)
                    grow[0] += pen.grad(th)
                else:
                    lrow[0] = res[0]

            return evaluate_one

        def evaluate(p, lrow, grow, t):
            v, g = loss.batch_value_and_grad(p[sel], None)
            lrow[sel] = v
            grow[sel] = g

        return evaluate

    def _single_run(self, gi: int, row: int, sampler: BatchSampler):
        loss = self.loss
        cols, vg, d = loss._cols, loss._vg, loss.dim
        varies = loss._blob["vg_varies"]
        reduce = np.add.reduce
        pen = loss.penalty
        lam = pen.strength if pen.active else 0.0
        l1 = pen.kind == "l1"
        last = self._last
        indices = sampler.first_run_indices

        def evaluate(p, lrow, grow, t):
            idx = indices(t)
            last[gi] = idx[None, :]
            m = idx.shape[0]
            th = p[row]
            res = vg(*th, *[c[idx] for c in cols])
            v = reduce(res[0]) / m if varies[0] else float(res[0])
            gr = grow[row]
            for j in range(d):
                gr[j] = reduce(res[j + 1]) / m if varies[j + 1] else res[j + 1]
            if lam:
                if l1:
                    v += lam * float(np.abs(th).sum())
                    gr += lam * np.sign(th)
                else:
                    v += lam * float(th @ th)
                    gr += (2.0 * lam) * th
            lrow[row] = v

        return evaluate

    def _many_runs(self, gi: int, sel: Any, sampler: BatchSampler):
        loss = self.loss
        cols, vg, d = loss._cols, loss._vg, loss.dim
        pen = loss.penalty
        last = self._last

        def evaluate(p, lrow, grow, t):
            idx = sampler.indices(t)
            last[gi] = idx
            ps = p[sel]
            k, m = idx.shape
            res = vg(*[ps[:, j : j + 1] for j in range(d)], *[c[idx] for c in cols])
            shape = (k, m)
            v = _reduce_mean(res[0], shape, m)
            g = grow[sel] if isinstance(sel, np.ndarray) else grow
            for j in range(d):
                g[:, j] = _reduce_mean(res[j + 1], shape, m)
            if pen.active:
                v = v + pen.value(ps)
                g += pen.grad(ps)
            lrow[sel] = v
            if isinstance(sel, np.ndarray):
                grow[sel] = g

        return evaluate

    def hess(self, p: np.ndarray) -> np.ndarray:
        k, d = p.shape
        out = np.empty((k, d, d))
        for gi, (sel, _sampler) in enumerate(self.groups):
            out[sel] = self.loss.batch_hess(p[sel], self._last[gi])
        return out


class FullLossCache:
    """Full-data losses of trajectory rows already computed, for one objective.

    :meth:`SampledObjective.full_loss_curve` looks rows up here by index and
    reuses a value only when the row's positions are the same as when it was
    computed (so a recomputed trajectory never shows stale numbers); another
    objective empties it.
    """

    def __init__(self) -> None:
        self._owner: Any = None
        self._rows = np.empty(0, dtype=np.int64)
        self._pos = np.empty((0, 0, 0))
        self._loss = np.empty((0, 0))

    def values(self, objective: Any, rows: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Losses ``(len(rows), K)`` at positions ``pos`` ``(len(rows), K, d)``."""
        if objective is not self._owner or self._pos.shape[1:] != pos.shape[1:]:
            self._owner = objective
            self._rows = np.empty(0, dtype=np.int64)
            self._pos = np.empty((0, *pos.shape[1:]))
            self._loss = np.empty((0, pos.shape[1]))
        at = np.searchsorted(self._rows, rows)
        at_c = np.minimum(at, max(len(self._rows) - 1, 0))
        hit = np.zeros(len(rows), dtype=bool)
        if len(self._rows):
            old = self._pos[at_c]
            same = (old == pos) | (np.isnan(old) & np.isnan(pos))
            hit = (self._rows[at_c] == rows) & same.all(axis=(1, 2))
        out = np.empty((len(rows), pos.shape[1]))
        out[hit] = self._loss[at_c[hit]]
        miss = ~hit
        if miss.any():
            out[miss] = objective.loss.value(pos[miss])
            keep = np.ones(len(self._rows), dtype=bool)
            keep[at_c[hit]] = True
            # Stale rows (same index, other positions) are replaced.
            stale = at_c[miss & (self._rows[at_c] == rows)] if len(self._rows) else at_c[:0]
            keep[stale] = False
            rows_all = np.concatenate([self._rows[keep], rows[miss]])
            order = np.argsort(rows_all, kind="stable")
            self._rows = rows_all[order]
            self._pos = np.concatenate([self._pos[keep], pos[miss]])[order]
            self._loss = np.concatenate([self._loss[keep], out[miss]])[order]
        return out


class SampledObjective:
    """A :class:`DatasetLoss` with a batch size per run and a shuffle seed.

    Pass it to :func:`gdviz.core.engine.run` or :class:`~gdviz.core.engine.Engine`
    as the loss: each run's gradient at step t is the mean of the per-sample
    gradients over the samples that run uses at step t (plus the penalty's),
    and ``Trajectory.losses`` holds the mini-batch losses. Its own ``value``,
    ``grad`` and ``hess`` are the full-data ones (for surfaces).

    Parameters
    ----------
    loss
        The dataset loss.
    batch_sizes
        One size for every run, or one per run (``None``: all samples).
    seed
        Shuffle seed (whole number >= 0).
    """

    def __init__(
        self, loss: DatasetLoss, batch_sizes: int | Sequence[int | None] | None, seed: int = 0
    ):
        if isinstance(seed, bool) or int(seed) != seed or seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, not {seed!r}")
        self.loss = loss
        self.seed = int(seed)
        self.variables = loss.variables
        self.dim = loss.dim
        self.text = loss.text
        n = loss.n
        if batch_sizes is None or isinstance(batch_sizes, int):
            self._one = _norm_size(batch_sizes, n)
            self._sizes: tuple[int | None, ...] | None = None
        else:
            self._one = None
            self._sizes = tuple(_norm_size(b, n) for b in batch_sizes)
            if not self._sizes:
                raise ValueError("give at least one batch size")

    # LossLike: full-data values, for surfaces and views.
    def value(self, p: Any) -> np.ndarray:
        return self.loss.value(p)

    def grad(self, p: Any) -> np.ndarray:
        return self.loss.grad(p)

    def hess(self, p: Any) -> np.ndarray:
        return self.loss.hess(p)

    def value_at(self, point: Sequence[float]) -> float:
        return self.loss.value_at(point)

    @property
    def batch_sizes(self) -> _Sizes:
        """Batch size of run k (``None`` = all samples), indexable by run."""
        return _Sizes(self._one, self._sizes)

    def batch_size(self, run: int) -> int:
        """Number of samples run ``run`` uses per step (``n`` for batch)."""
        b = self.batch_sizes[run]
        return self.loss.n if b is None else b

    @property
    def n_runs(self) -> int | None:
        """How many runs the batch sizes were given for (None: one size for any number)."""
        return None if self._sizes is None else len(self._sizes)

    def fits(self, trajectory: Any) -> bool:
        """Whether ``trajectory`` can have been computed on this objective.

        Its runs must number as the batch sizes given (if one per run) and
        move in this loss's parameters. A window that keeps showing the last
        runs while new ones are computed asks this before pairing the two.
        """
        _rows, k, d = np.shape(trajectory.positions)
        return d == self.dim and self.n_runs in (None, k)

    def variant(self, run: int) -> str:
        """``"batch"``, ``"stochastic"`` or ``"mini-batch"`` for run ``run``."""
        b = self.batch_sizes[run]
        return "batch" if b is None else ("stochastic" if b == 1 else "mini-batch")

    def steps_per_epoch(self, run: int) -> int:
        return -(-self.loss.n // self.batch_size(run))

    def bind_runs(self, order: Sequence[int]) -> _Bound:
        """Engine hook: the evaluator for runs in the engine's internal ``order``."""
        if self._sizes is not None and len(self._sizes) != len(order):
            raise ValueError(
                f"{len(self._sizes)} batch sizes given for {len(order)} runs: give one per run"
            )
        return _Bound(self, order)

    def sampler(self, run: int) -> BatchSampler:
        return BatchSampler(self.loss.n, self.batch_sizes[run], [run], self.seed)

    def batch_indices(self, run: int, step: int) -> np.ndarray:
        """The samples run ``run`` used for its gradient at ``step`` (sorted for batch runs)."""
        return self.sampler(run).run_indices(run, step)

    def full_loss_curve(
        self, traj: Any, max_evaluations: float = 2e7, cache: FullLossCache | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Full-data loss of a trajectory's rows, thinned to a work budget.

        Every row when the loss has sufficient statistics or the budget allows
        ``rows × runs × n`` per-sample evaluations; otherwise every ``s``-th row
        and the last, with ``s`` the smallest power of two that keeps within
        the budget. Returns ``(rows, losses (len(rows), K))``.

        With a ``cache``, rows whose positions it already holds for this
        objective are not evaluated again: a trajectory delivered in growing
        parts (as the window computes it) costs only its new rows, and the
        power-of-two strides keep the rows of a longer trajectory a subset of
        those of a shorter one.
        """
        n_rows, k = traj.positions.shape[:2]
        cost = 1 if self.loss.uses_statistics else self.loss.n
        keep = max(2, int(max_evaluations // max(1, k * cost)))
        if keep >= n_rows:
            rows = np.arange(n_rows)
        else:
            stride = 1
            while (n_rows - 1) // stride + 2 > keep:
                stride *= 2
            rows = np.unique(np.append(np.arange(0, n_rows, stride), n_rows - 1))
        pos = traj.positions[rows]
        if cache is None:
            return rows, self.loss.value(pos)
        return rows, cache.values(self, rows, pos)

    def trace(self, traj: Any, *, full_loss: bool = True) -> DatasetTrace:
        """Dataset facts for a trajectory computed with this objective.

        Parameters
        ----------
        traj
            A :class:`gdviz.core.engine.Trajectory` of runs on this objective.
        full_loss
            Compute the full-data loss of every row (exact; chunked over the
            data when the loss has no sufficient statistics).
        """
        steps = traj.start_step + np.arange(traj.positions.shape[0])
        k = traj.positions.shape[1]
        epochs = np.empty((steps.size, k), dtype=np.int64)
        for r in range(k):
            epochs[:, r] = steps // self.steps_per_epoch(r)
        full = None
        if full_loss:
            full = self.loss.value(traj.positions)
        return DatasetTrace(self, traj, steps, epochs, full)


class _Sizes:
    def __init__(self, one: int | None, sizes: tuple[int | None, ...] | None):
        self._one, self._sizes = one, sizes

    def __getitem__(self, run: int) -> int | None:
        if self._sizes is None:
            return self._one
        if not -len(self._sizes) <= run < len(self._sizes):
            raise IndexError(f"run {run}: batch sizes were given for {len(self._sizes)} runs")
        return self._sizes[run]


def _norm_size(b: int | None, n: int) -> int | None:
    if b is None:
        return None
    if isinstance(b, bool) or int(b) != b or b < 1:
        raise ValueError(f"batch size must be a whole number >= 1 (or None for all), not {b!r}")
    return None if b >= n else int(b)


@dataclass
class DatasetTrace:
    """What each row of a dataset-mode trajectory saw.

    Attributes
    ----------
    objective : SampledObjective
    trajectory : Trajectory
    steps : ndarray (T+1,)
        The step number of each row.
    epochs : ndarray (T+1, K)
        The epoch (from 0) of the mini-batch each row's gradient used.
    full_losses : ndarray (T+1, K) or None
        Full-data loss at each row (``trajectory.losses`` is the mini-batch loss).
    """

    objective: SampledObjective
    trajectory: Any
    steps: np.ndarray
    epochs: np.ndarray
    full_losses: np.ndarray | None

    @property
    def batch_losses(self) -> np.ndarray:
        """The mini-batch loss (with penalty) of every row: ``trajectory.losses``."""
        return self.trajectory.losses

    def indices(self, run: int, row: int) -> np.ndarray:
        """Samples whose gradients row ``row`` of run ``run`` averaged."""
        return self.objective.batch_indices(run, int(self.steps[row]))
