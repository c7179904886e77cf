"""Maps: many runs at once, summarised per run — learning-rate sweeps and basins.

Two questions a race of a few runs cannot answer, asked of the typed function:

* **Where does a learning rate stop converging?** :func:`sweep_map` runs one
  optimizer from one start over a grid of learning rates (log-spaced) × one
  other hyper-parameter (momentum, β₁, …) or × optimizer, and records per cell
  whether the run converged, ran out of steps or diverged, after how many
  steps, and its final loss.
* **Which minimum does each start fall into?** :func:`basin_map` runs one
  optimizer from every start point of a grid over the view, clusters the final
  points of the runs that converged into minima (:func:`cluster_minima`), and
  labels each start with its minimum, *not converged* or *diverged*.

Both run on :func:`final_states`, which steps the same vectorised optimizers
as :mod:`gdviz.core.engine` (built from :data:`~gdviz.core.optimizers.OPTIMIZERS`,
same learning-rate schedules, same :class:`~gdviz.core.engine.StopRules`
semantics, so a cell clicked in a map replays identically in a race) but keeps
only each run's *final* state instead of every row. Runs are processed in
chunks; runs that have stopped are dropped from the arrays as a chunk thins
out, so a map where most runs converge early costs far less than its step
budget. Between steps the caller's ``progress(done, total)`` is called; it
returns False (or raises) to cancel, which raises :class:`Cancelled`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gdviz.core.engine import STATUSES, LossLike, RunConfig, StopRules
from gdviz.core.optimizers import OPTIMIZERS, OptimizerSpec
from gdviz.core.schedules import CONSTANT, ScheduleSpec
from gdviz.core.specs import SpecError, format_spec

__all__ = [
    "CONVERGED",
    "DIVERGED",
    "MAX_STEPS",
    "NOT_CONVERGED",
    "OTHER_MINIMUM",
    "BasinMap",
    "Cancelled",
    "FinalStates",
    "Minimum",
    "Progress",
    "SweepMap",
    "basin_map",
    "cluster_minima",
    "final_states",
    "lr_grid",
    "parse_values",
    "sweep_map",
    "sweepable_params",
]

#: Status codes: indices into :data:`gdviz.core.engine.STATUSES`.
DIVERGED = STATUSES.index("diverged")
CONVERGED = STATUSES.index("converged")
MAX_STEPS = STATUSES.index("max_steps")

#: Basin labels below 0: the run did not converge within its steps / diverged /
#: converged to a point beyond the first :data:`MAX_MINIMA` minima.
NOT_CONVERGED = -1
DIVERGED_LABEL = -2
OTHER_MINIMUM = -3

#: At most this many distinct minima are reported; more would not be told
#: apart by colour anyway (and a flat plateau would otherwise give thousands).
MAX_MINIMA = 64

#: Runs per chunk: big enough that NumPy's per-call overhead is small, small
#: enough that the working arrays stay in cache and progress comes often.
CHUNK_RUNS = 8192
#: Steps between progress calls inside a chunk.
PROGRESS_EVERY = 25

#: ``progress(done, total)``: return False (or raise) to cancel.
Progress = Callable[[int, int], Any]


class Cancelled(Exception):
    """The computation was cancelled through its progress callback."""


# --------------------------------------------------------------------------- runner


@dataclass(frozen=True)
class FinalStates:
    """How each of K runs ended.

    Attributes
    ----------
    status
        ``(K,)`` int8 codes into :data:`~gdviz.core.engine.STATUSES`
        (:data:`CONVERGED`, :data:`MAX_STEPS`, :data:`DIVERGED`).
    stop_step
        ``(K,)``: the step at which the run stopped (as ``Trajectory.stop_step``).
    position
        ``(K, d)``: the final point — for a diverged run its last finite point,
        as the engine freezes it.
    loss
        ``(K,)``: the loss at ``position``.
    """

    status: np.ndarray
    stop_step: np.ndarray
    position: np.ndarray
    loss: np.ndarray

    def status_names(self) -> list[str]:
        """Status of each run as text (``"converged"``, …)."""
        return [STATUSES[c] for c in self.status.tolist()]


@dataclass
class _Batch:
    """Runs that share an optimizer group and a schedule (one vectorised optimizer)."""

    spec: OptimizerSpec
    params: list[dict[str, float | bool]]
    starts: np.ndarray
    schedule: ScheduleSpec
    index: np.ndarray  # where each run's result goes in the output


class _Ticker:
    """Progress in run-steps (a run that stops early counts its whole budget)."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total = max(int(total), 1)
        self.done = 0
        self.progress = progress

    def report(self, done: int) -> None:
        if self.progress is None:
            return
        if self.progress(min(int(done), self.total), self.total) is False:
            raise Cancelled("cancelled")


def _evaluator(loss: LossLike, d: int) -> Callable[[np.ndarray, np.ndarray, np.ndarray], None]:
    """``evaluate(P, L, G)``: write loss and gradient at the rows of P into L and G."""
    raw = getattr(loss, "raw_value_and_grad", None)
    if callable(raw):

        def evaluate(p: np.ndarray, lrow: np.ndarray, grow: np.ndarray) -> None:
            # Contiguous columns: NumPy's vectorised transcendental functions
            # then take the same path as Loss.value_and_grad (the engine's).
            cols = [np.ascontiguousarray(p[:, j]) for j in range(d)]
            try:
                res = raw(*cols)
            except ArithmeticError:
                res = (np.nan,) * (d + 1)
            lrow[...] = res[0]
            for j in range(d):
                grow[:, j] = res[j + 1]

        return evaluate
    vg = getattr(loss, "value_and_grad", None)
    if callable(vg):

        def evaluate(p, lrow, grow):
            v, g = vg(p)
            lrow[...] = v
            grow[...] = g

        return evaluate

    def evaluate(p, lrow, grow):
        lrow[...] = loss.value(p)
        grow[...] = loss.grad(p)

    return evaluate


def _run_batch(
    loss: LossLike,
    batch: _Batch,
    stop: StopRules,
    out: FinalStates,
    ticker: _Ticker,
    evaluate: Callable,
) -> None:
    """Run one batch to its end, writing each run's final state into ``out``.

    The stop tests are the engine's (see ``Engine._finish_rows``), applied to
    every row: diverged (non-finite or beyond ``bound``) wins over converged
    (gradient norm below ``grad_tol``, or loss change below ``loss_tol``),
    which wins over the step limit.
    """
    n, d = batch.starts.shape
    T = int(stop.max_steps)  # type: ignore[arg-type]
    bound, gtol, ltol = float(stop.bound), stop.grad_tol, stop.loss_tol
    spec, sched = batch.spec, batch.schedule
    params = list(batch.params)
    where = batch.index.copy()  # output slot of each live row
    P = np.array(batch.starts, dtype=np.float64)
    opt = spec.build(params, d)
    state = opt.init_state(P)
    base = np.array([float(p["lr"]) for p in params])[:, None]
    const_lr = sched.factor_free()
    needs_hess = spec.needs_hess
    L = np.empty(n)
    G = np.empty((n, d))
    prevP = P.copy()
    prevL = np.full(n, np.nan)
    live = np.ones(n, dtype=bool)  # rows not stopped yet (stopped rows await compaction)
    n_live = n
    done0 = ticker.done
    for t in range(T + 1):
        evaluate(P, L, G)
        # Column by column: a reduction along a short last axis (.all(axis=1))
        # cost more than the loss itself. |v| <= bound is also False for NaN.
        ok = np.abs(L) <= bound
        for j in range(d):
            ok &= np.abs(P[:, j]) <= bound
            ok &= np.isfinite(G[:, j])
        conv = np.zeros(len(L), dtype=bool)
        if gtol:
            conv = np.sqrt(np.einsum("kd,kd->k", G, G)) < gtol
        if ltol is not None and t > 0:
            conv |= np.abs(L - prevL) < ltol
        stopping = ~ok | conv if t < T else np.ones(len(L), dtype=bool)
        stopping &= live
        if stopping.any():
            rows = np.flatnonzero(stopping)
            bad = ~ok[rows]
            code = np.where(bad, DIVERGED, np.where(conv[rows], CONVERGED, MAX_STEPS))
            slots = where[rows]
            out.status[slots] = code
            out.stop_step[slots] = t
            # A diverged run ends at its last finite row (the row itself at t = 0).
            use_prev = bad & (t > 0)
            out.position[slots] = np.where(use_prev[:, None], prevP[rows], P[rows])
            out.loss[slots] = np.where(use_prev, prevL[rows], L[rows])
            live[rows] = False
            n_live -= rows.size
            if n_live == 0:
                break
            if n_live <= len(live) // 2:
                # Drop stopped rows; the optimizer is rebuilt for the survivors
                # (its per-run settings are (K, 1) arrays) and its state sliced.
                keep = np.flatnonzero(live)
                P, prevP, L, prevL, G = P[keep], prevP[keep], L[keep], prevL[keep], G[keep]
                state = {k: v[keep] for k, v in state.items()}
                params = [params[i] for i in keep.tolist()]
                opt = spec.build(params, d)
                base, where, live = base[keep], where[keep], live[keep]
        if t == T:
            break
        lr = base if const_lr else np.asarray(sched.lr_at(base, float(t)))
        hess = loss.hess(P) if needs_hess else None
        U = opt.step(P, G, state, lr, t + 1, hess)
        prevP, P = P, P + U
        prevL, L = L, prevL  # reuse the buffer: L is overwritten next row
        if t % PROGRESS_EVERY == PROGRESS_EVERY - 1:
            ticker.report(done0 + n * (t + 1))
    ticker.done = done0 + n * T
    ticker.report(ticker.done)


def _batches(configs: Sequence[RunConfig], d: int) -> list[_Batch]:
    """Group runs by optimizer branch and schedule, resolving each distinct setting once."""
    cache: dict[tuple, dict[str, float | bool]] = {}
    groups: dict[tuple, list[int]] = {}
    resolved: list[dict[str, float | bool]] = []
    for i, cfg in enumerate(configs):
        if not isinstance(cfg, RunConfig):
            raise TypeError(f"run {i + 1}: expected a RunConfig, got {type(cfg).__name__}")
        key = (cfg.optimizer, tuple(sorted(cfg.params.items())))
        p = cache.get(key)
        if p is None:
            p = cache[key] = cfg.resolved()
        resolved.append(p)
        if len(cfg.start) != d:
            raise ValueError(
                f"run {i + 1} ({cfg.optimizer}): the start has {len(cfg.start)} "
                f"coordinate(s) but the function has {d}"
            )
        gkey = (OPTIMIZERS[cfg.optimizer].group_key(p), cfg.schedule)
        groups.setdefault(gkey, []).append(i)
    starts = np.array([cfg.start for cfg in configs], dtype=np.float64).reshape(-1, d)
    out = []
    for (gkey, sched), idx in groups.items():
        ix = np.array(idx)
        out.append(_Batch(OPTIMIZERS[gkey[0]], [resolved[i] for i in idx], starts[ix], sched, ix))
    return out


def _run_batches(
    loss: LossLike,
    batches: list[_Batch],
    k: int,
    stop: StopRules,
    progress: Progress | None,
    chunk_runs: int,
) -> FinalStates:
    if stop.max_steps is None or stop.max_steps < 0:
        raise ValueError("maps need a step limit: StopRules(max_steps=N) with N >= 0")
    d = int(loss.dim)
    out = FinalStates(
        status=np.zeros(k, dtype=np.int8),
        stop_step=np.full(k, -1, dtype=np.int64),
        position=np.full((k, d), np.nan),
        loss=np.full(k, np.nan),
    )
    ticker = _Ticker(k * max(int(stop.max_steps), 1), progress)
    ticker.report(0)
    evaluate = _evaluator(loss, d)
    chunk_runs = max(1, int(chunk_runs))
    with np.errstate(all="ignore"):
        for b in batches:
            for a in range(0, len(b.index), chunk_runs):
                sl = slice(a, a + chunk_runs)
                part = _Batch(b.spec, b.params[sl], b.starts[sl], b.schedule, b.index[sl])
                _run_batch(loss, part, stop, out, ticker, evaluate)
    ticker.report(ticker.total)
    return out


def final_states(
    loss: LossLike,
    configs: Sequence[RunConfig],
    stop: StopRules,
    *,
    progress: Progress | None = None,
    chunk_runs: int = CHUNK_RUNS,
) -> FinalStates:
    """Run every configuration to its end and keep only how it ended.

    The same optimizers, schedules and stop rules as
    :func:`gdviz.core.engine.run`, so status, stop step and final point agree
    with a full trajectory of the same run; memory stays ``O(K·d)``.

    Parameters
    ----------
    loss
        A compiled loss (or anything the engine accepts).
    configs
        The runs (gradient noise is not supported here: maps are deterministic).
    stop
        Stop rules; ``max_steps`` is required.
    progress
        Called as ``progress(done, total)`` (run-steps) every few steps;
        returning False or raising cancels.
    chunk_runs
        Runs computed together.

    Raises
    ------
    Cancelled
        If ``progress`` asked to stop.
    SpecError
        For an unknown optimizer or a bad setting.
    ValueError
        For no runs, a start of the wrong length, or no step limit.
    """
    configs = tuple(configs)
    if not configs:
        raise ValueError("no runs: give at least one RunConfig")
    batches = _batches(configs, int(loss.dim))
    return _run_batches(loss, batches, len(configs), stop, progress, chunk_runs)


# --------------------------------------------------------------------------- sweeps


def lr_grid(low: float, high: float, n: int) -> np.ndarray:
    """``n`` learning rates spaced evenly on a log scale from ``low`` to ``high``."""
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low < high):
        raise ValueError(f"learning rates must satisfy 0 < low < high, got {low:g} and {high:g}")
    if int(n) < 1:
        raise ValueError(f"need at least 1 learning rate, got {n}")
    return np.geomspace(low, high, int(n)) if n > 1 else np.array([float(low)])


def parse_values(text: str) -> tuple[float, ...]:
    """Values for a sweep axis: ``"0, 0.5, 0.9"`` or ``"low:high:n"`` (evenly spaced).

    Raises ValueError with a one-line message.
    """
    t = text.strip()
    if not t:
        raise ValueError("give values, e.g. 0,0.5,0.9 or 0:0.99:12")
    if ":" in t:
        parts = [p.strip() for p in t.split(":")]
        if len(parts) != 3:
            raise ValueError(f"{t!r}: a range is low:high:n, e.g. 0:0.99:12")
        try:
            lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            raise ValueError(f"{t!r}: a range is low:high:n with a whole number n") from None
        if not (math.isfinite(lo) and math.isfinite(hi)) or not 1 <= n <= 1000:
            raise ValueError(f"{t!r}: low and high must be finite and n within 1…1000")
        return tuple(float(v) for v in np.linspace(lo, hi, n))
    out = []
    for p in t.split(","):
        try:
            v = float(p)
        except ValueError:
            raise ValueError(f"{p.strip()!r} is not a number") from None
        if not math.isfinite(v):
            raise ValueError(f"{p.strip()!r} is not a finite number")
        out.append(v)
    if len(out) > 1000:
        raise ValueError("at most 1000 values")
    return tuple(out)


def sweepable_params(optimizer: str) -> list[str]:
    """Hyper-parameters of ``optimizer`` a sweep can put on its second axis.

    Every numeric setting except the learning rate (which is the first axis).
    """
    spec = OPTIMIZERS.get(optimizer)
    if spec is None:
        raise SpecError(f"unknown optimizer {optimizer!r} (choose from {', '.join(OPTIMIZERS)})")
    return [hp.name for hp in spec.hyperparams if hp.kind != "bool" and hp.name != "lr"]


@dataclass(frozen=True)
class SweepMap:
    """A learning-rate sweep: ``ny`` rows (second axis) × ``nx`` learning rates.

    Cell ``[row, col]`` is the run :meth:`config` ``(row, col)`` returns.

    Attributes
    ----------
    function
        The loss text.
    variables
        Its variables.
    start
        The start point shared by every run.
    optimizer, params, schedule
        The base configuration (the swept keys are overridden per cell).
    lrs
        ``(nx,)`` learning rates (columns).
    y_param
        The second axis: a hyper-parameter name, ``"optimizer"``, or None for
        one row.
    y_values
        ``(ny,)`` values of that axis (optimizer names for ``"optimizer"``).
    steps, grad_tol, bound
        The stop rules used.
    status, stop_step, final_loss
        ``(ny, nx)`` per cell (status codes as in :class:`FinalStates`).
    final_position
        ``(ny, nx, d)``.
    """

    function: str
    variables: tuple[str, ...]
    start: tuple[float, ...]
    optimizer: str
    params: dict[str, float | bool]
    schedule: ScheduleSpec
    lrs: np.ndarray
    y_param: str | None
    y_values: tuple
    steps: int
    grad_tol: float | None
    bound: float
    status: np.ndarray
    stop_step: np.ndarray
    final_loss: np.ndarray
    final_position: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.status.shape  # type: ignore[return-value]

    def config(self, row: int, col: int) -> RunConfig:
        """The run of cell ``[row, col]``, ready to add to a race."""
        ny, nx = self.shape
        if not (0 <= row < ny and 0 <= col < nx):
            raise IndexError(f"cell ({row}, {col}) is outside the {ny}×{nx} map")
        return _cell_config(
            self.optimizer,
            self.params,
            self.schedule,
            self.start,
            float(self.lrs[col]),
            self.y_param,
            None if self.y_param is None else self.y_values[row],
        )

    def y_label(self, row: int) -> str:
        """The second-axis value of a row as text (``"0.9"``, ``"adam"``)."""
        if self.y_param is None:
            return self.optimizer
        v = self.y_values[row]
        return v if isinstance(v, str) else f"{v:g}"

    def csv_rows(self) -> list[list[str]]:
        """Header and one row per cell (rows of the map first), as text."""
        head = ["lr", self.y_param or "optimizer", "status", "steps", "final_loss"]
        head += [f"final_{v}" for v in self.variables]
        rows = [head]
        ny, nx = self.shape
        for r in range(ny):
            for c in range(nx):
                rows.append(
                    [
                        _num(self.lrs[c]),
                        self.y_label(r),
                        STATUSES[int(self.status[r, c])],
                        str(int(self.stop_step[r, c])),
                        _num(self.final_loss[r, c]),
                        *(_num(v) for v in self.final_position[r, c]),
                    ]
                )
        return rows


def _cell_config(
    optimizer: str,
    params: dict[str, float | bool],
    schedule: ScheduleSpec,
    start: tuple[float, ...],
    lr: float,
    y_param: str | None,
    y_value: Any,
) -> RunConfig:
    if y_param == "optimizer":
        names = {hp.name for hp in OPTIMIZERS[y_value].hyperparams}
        p = {k: v for k, v in params.items() if k in names}
        p["lr"] = lr
        return RunConfig(y_value, p, start, schedule)
    p = dict(params)
    p["lr"] = lr
    if y_param is not None:
        p[y_param] = float(y_value)
    return RunConfig(optimizer, p, start, schedule)


def _num(x: float) -> str:
    """Shortest text that reads back to the same float64 (empty for NaN)."""
    x = float(x)
    return "" if math.isnan(x) else repr(x)


def sweep_map(
    loss: LossLike,
    base: RunConfig,
    lrs: Sequence[float],
    *,
    y_param: str | None = None,
    y_values: Sequence[Any] = (),
    steps: int = 500,
    grad_tol: float | None = 1e-8,
    bound: float = 1e8,
    progress: Progress | None = None,
    chunk_runs: int = CHUNK_RUNS,
) -> SweepMap:
    """Sweep the learning rate × one other setting (or the optimizer) from one start.

    Parameters
    ----------
    loss
        The compiled loss.
    base
        Optimizer, settings, start and schedule shared by every cell; its
        ``lr`` (and ``y_param``) are replaced per cell.
    lrs
        Learning rates, the columns (e.g. :func:`lr_grid`).
    y_param
        None (one row), the name of a numeric hyper-parameter of
        ``base.optimizer`` (see :func:`sweepable_params`), or ``"optimizer"``.
    y_values
        The rows: values of ``y_param`` (each checked against its valid
        range), or optimizer names. For ``"optimizer"`` each row keeps the
        base settings that optimizer has and its own defaults otherwise.
    steps, grad_tol, bound
        Stop rules (:class:`~gdviz.core.engine.StopRules`).
    progress
        ``progress(done, total)``; False or an exception cancels
        (:class:`Cancelled`).

    Raises
    ------
    SpecError
        Unknown optimizer or setting, or a value out of its range.
    ValueError
        No learning rates or rows, a non-positive learning rate, a bad start.
    """
    lr_arr = np.asarray([float(v) for v in lrs], dtype=np.float64)
    if lr_arr.size == 0:
        raise ValueError("no learning rates to sweep")
    if not np.all(np.isfinite(lr_arr) & (lr_arr > 0)):
        raise ValueError("learning rates must be finite numbers > 0")
    spec = OPTIMIZERS.get(base.optimizer)
    if spec is None:
        raise SpecError(
            f"unknown optimizer {base.optimizer!r} (choose from {', '.join(OPTIMIZERS)})"
        )
    params = spec.resolve(base.params, fill_defaults=False)
    if y_param is None:
        values: tuple = (None,)
    elif y_param == "optimizer":
        values = tuple(str(v).strip().lower() for v in y_values)
        for v in values:
            if v not in OPTIMIZERS:
                raise SpecError(f"unknown optimizer {v!r} (choose from {', '.join(OPTIMIZERS)})")
    else:
        if y_param not in sweepable_params(base.optimizer):
            raise SpecError(
                f"{base.optimizer} has no numeric setting {y_param!r} to sweep "
                f"(choose from {', '.join(sweepable_params(base.optimizer)) or 'none'})"
            )
        hp = spec.hyperparam(y_param)
        values = tuple(float(hp.check(v, f"{base.optimizer}: ")) for v in y_values)
    if not values:
        raise ValueError(f"no values of {y_param} to sweep")
    start = tuple(float(v) for v in base.start)
    if len(start) != loss.dim:
        raise ValueError(
            f"the start has {len(start)} coordinate(s) but the function has {loss.dim}"
        )
    configs = [
        _cell_config(base.optimizer, params, base.schedule, start, float(lr), y_param, v)
        for v in values
        for lr in lr_arr
    ]
    stop = StopRules(max_steps=int(steps), grad_tol=grad_tol, bound=float(bound))
    res = final_states(loss, configs, stop, progress=progress, chunk_runs=chunk_runs)
    ny, nx = len(values), lr_arr.size
    return SweepMap(
        function=getattr(loss, "text", ""),
        variables=tuple(loss.variables),
        start=start,
        optimizer=base.optimizer,
        params=dict(params),
        schedule=base.schedule,
        lrs=lr_arr,
        y_param=y_param,
        y_values=tuple(values) if y_param is not None else (),
        steps=int(steps),
        grad_tol=grad_tol,
        bound=float(bound),
        status=res.status.reshape(ny, nx),
        stop_step=res.stop_step.reshape(ny, nx),
        final_loss=res.loss.reshape(ny, nx),
        final_position=res.position.reshape(ny, nx, -1),
    )


# --------------------------------------------------------------------------- basins


@dataclass(frozen=True)
class Minimum:
    """A point where converged runs ended.

    Attributes
    ----------
    position
        The lowest-loss final point of the cluster.
    loss
        The loss there.
    count
        How many runs ended in it.
    """

    position: tuple[float, ...]
    loss: float
    count: int


def cluster_minima(
    points: np.ndarray, losses: np.ndarray, tol: float, *, max_minima: int = MAX_MINIMA
) -> tuple[np.ndarray, tuple[Minimum, ...]]:
    """Group final points into minima, greedily and deterministically.

    Points are taken lowest loss first (ties by coordinates); the first point
    not yet assigned opens a cluster that takes every unassigned point within
    ``tol`` (Euclidean) of it. The result does not depend on the order of the
    input.

    Parameters
    ----------
    points
        ``(N, d)`` final points of converged runs (finite).
    losses
        ``(N,)`` their losses.
    tol
        Distance within which two final points are the same minimum.
    max_minima
        Points beyond this many clusters are labelled :data:`OTHER_MINIMUM`.

    Returns
    -------
    labels, minima
        ``labels[i]`` is the index into ``minima`` of point i (or
        :data:`OTHER_MINIMUM`); minima are in order of increasing loss, and
        minima of equal loss (to 6 digits of the largest) in order of position.
    """
    pts = np.asarray(points, dtype=np.float64)
    vals = np.asarray(losses, dtype=np.float64)
    n = len(pts)
    labels = np.full(n, OTHER_MINIMUM, dtype=np.int64)
    if n == 0:
        return labels, ()
    order = np.lexsort((*pts.T[::-1], vals))
    pts_o, vals_o = pts[order], vals[order]
    lab_o = np.full(n, OTHER_MINIMUM, dtype=np.int64)
    unassigned = np.ones(n, dtype=bool)
    minima: list[Minimum] = []
    first = 0
    tol2 = float(tol) ** 2
    while len(minima) < max_minima:
        free = np.flatnonzero(unassigned[first:])
        if free.size == 0:
            break
        first += int(free[0])
        centre = pts_o[first]
        diff = pts_o[first:] - centre
        near = (np.einsum("nd,nd->n", diff, diff) <= tol2) & unassigned[first:]
        idx = first + np.flatnonzero(near)
        lab_o[idx] = len(minima)
        unassigned[idx] = False
        minima.append(Minimum(tuple(float(v) for v in centre), float(vals_o[first]), int(idx.size)))
    # Report lowest first, but minima of equal depth (equal to 6 decimals of
    # max(1, largest |loss|), e.g. Himmelblau's four zeros up to rounding noise)
    # by position, so their numbers and colours do not hinge on the last bits.
    scale = max([1.0, *(abs(m.loss) for m in minima)])
    rank = sorted(
        range(len(minima)), key=lambda i: (round(minima[i].loss / scale, 6), minima[i].position)
    )
    if minima:
        new_index = np.empty(len(minima), dtype=np.int64)
        new_index[rank] = np.arange(len(minima))
        lab_o = np.where(lab_o >= 0, new_index[np.maximum(lab_o, 0)], lab_o)
    labels[order] = lab_o
    return labels, tuple(minima[i] for i in rank)


@dataclass(frozen=True)
class BasinMap:
    """Which minimum each start point of a grid falls into.

    Cell ``[row, col]`` starts at ``(xs[col], ys[row])`` (row-major, the order
    an image wants); for a function of one variable there is one row and
    ``ys`` is empty.

    Attributes
    ----------
    function, variables
        The loss.
    optimizer, params, schedule
        The configuration every start runs.
    domain
        The area covered, one ``(low, high)`` pair per variable; cells are
        centred in it (cell edges lie on the domain's edges).
    xs, ys
        Start coordinates of the columns and rows.
    steps, grad_tol, bound, merge_tol
        Stop rules and the clustering distance used (absolute).
    status, stop_step, final_loss
        ``(ny, nx)`` per start.
    final_position
        ``(ny, nx, d)``.
    labels
        ``(ny, nx)``: index into :attr:`minima`, or :data:`NOT_CONVERGED`,
        :data:`DIVERGED_LABEL`, :data:`OTHER_MINIMUM`.
    minima
        The minima found, lowest loss first.
    """

    function: str
    variables: tuple[str, ...]
    optimizer: str
    params: dict[str, float | bool]
    schedule: ScheduleSpec
    domain: tuple[tuple[float, float], ...]
    xs: np.ndarray
    ys: np.ndarray
    steps: int
    grad_tol: float | None
    bound: float
    merge_tol: float
    status: np.ndarray
    stop_step: np.ndarray
    final_loss: np.ndarray
    final_position: np.ndarray
    labels: np.ndarray
    minima: tuple[Minimum, ...] = field(default=())

    @property
    def shape(self) -> tuple[int, int]:
        return self.labels.shape  # type: ignore[return-value]

    def start(self, row: int, col: int) -> tuple[float, ...]:
        """The start point of cell ``[row, col]``."""
        ny, nx = self.shape
        if not (0 <= row < ny and 0 <= col < nx):
            raise IndexError(f"cell ({row}, {col}) is outside the {ny}×{nx} map")
        if len(self.variables) == 1:
            return (float(self.xs[col]),)
        return (float(self.xs[col]), float(self.ys[row]))

    def cell_at(self, point: Sequence[float]) -> tuple[int, int] | None:
        """The ``(row, col)`` of the cell containing ``point``, or None outside."""
        ny, nx = self.shape
        coords = [float(v) for v in point[: len(self.variables)]]
        if len(coords) != len(self.variables) or not all(math.isfinite(v) for v in coords):
            return None
        (x0, x1) = self.domain[0]
        col = math.floor((coords[0] - x0) / (x1 - x0) * nx)
        row = 0
        if len(self.variables) == 2:
            (y0, y1) = self.domain[1]
            row = math.floor((coords[1] - y0) / (y1 - y0) * ny)
        if 0 <= row < ny and 0 <= col < nx:
            return row, col
        return None

    def label_counts(self) -> dict[int, int]:
        """How many starts carry each label."""
        vals, counts = np.unique(self.labels, return_counts=True)
        return {int(v): int(c) for v, c in zip(vals, counts, strict=True)}

    def csv_rows(self) -> list[list[str]]:
        """Header and one row per start (rows of the map first), as text."""
        v = self.variables
        head = [f"start_{n}" for n in v] + ["status", "steps", "basin", "final_loss"]
        head += [f"final_{n}" for n in v]
        rows = [head]
        ny, nx = self.shape
        for r in range(ny):
            for c in range(nx):
                lab = int(self.labels[r, c])
                rows.append(
                    [
                        *(_num(s) for s in self.start(r, c)),
                        STATUSES[int(self.status[r, c])],
                        str(int(self.stop_step[r, c])),
                        str(lab + 1) if lab >= 0 else "",
                        _num(self.final_loss[r, c]),
                        *(_num(p) for p in self.final_position[r, c]),
                    ]
                )
        return rows


def basin_grid(
    domain: Sequence[Sequence[float]], n: int | tuple[int, int], dim: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cell-centred start coordinates ``xs`` (nx,) and ``ys`` (ny,; empty in 1-D)."""
    nx, ny = (n, n) if isinstance(n, int) else (int(n[0]), int(n[1]))
    if nx < 1 or (dim == 2 and ny < 1):
        raise ValueError(f"a basin map needs at least 1×1 cells, got {nx}×{ny}")
    (x0, x1) = domain[0]
    xs = x0 + (np.arange(nx) + 0.5) * ((x1 - x0) / nx)
    if dim == 1:
        return xs, np.empty(0)
    (y0, y1) = domain[1]
    ys = y0 + (np.arange(ny) + 0.5) * ((y1 - y0) / ny)
    return xs, ys


def basin_map(
    loss: LossLike,
    config: RunConfig,
    domain: Sequence[Sequence[float]],
    n: int | tuple[int, int] = 100,
    *,
    steps: int = 500,
    grad_tol: float | None = 1e-8,
    bound: float = 1e8,
    merge_tol: float = 0.01,
    progress: Progress | None = None,
    chunk_runs: int = CHUNK_RUNS,
) -> BasinMap:
    """Run ``config`` from every start of a grid over ``domain`` and label the basins.

    Parameters
    ----------
    loss
        The compiled loss (one or two variables).
    config
        Optimizer, settings and schedule; its start is ignored.
    domain
        ``((xmin, xmax), (ymin, ymax))`` (one pair for one variable).
    n
        Cells per side, or ``(nx, ny)``.
    steps, grad_tol, bound
        Stop rules (:class:`~gdviz.core.engine.StopRules`); only runs that
        *converge* (gradient norm below ``grad_tol``) are assigned a minimum.
    merge_tol
        Final points closer than ``merge_tol`` × the domain's diagonal are the
        same minimum.
    progress
        ``progress(done, total)``; False or an exception cancels
        (:class:`Cancelled`).
    """
    from gdviz.core.surface import normalize_domain

    d = int(loss.dim)
    if d not in (1, 2):
        raise ValueError(f"a basin map needs a function of 1 or 2 variables, not {d}")
    dom = normalize_domain(domain, d)
    if not (math.isfinite(merge_tol) and merge_tol > 0):
        raise ValueError(f"merge_tol must be a number > 0, not {merge_tol!r}")
    spec = OPTIMIZERS.get(config.optimizer)
    if spec is None:
        raise SpecError(
            f"unknown optimizer {config.optimizer!r} (choose from {', '.join(OPTIMIZERS)})"
        )
    params = spec.resolve(config.params)
    xs, ys = basin_grid(dom, n, d)
    if d == 1:
        starts = xs[:, None]
        ny, nx = 1, xs.size
    else:
        gx, gy = np.meshgrid(xs, ys)  # rows follow y: image order
        starts = np.column_stack([gx.ravel(), gy.ravel()])
        ny, nx = ys.size, xs.size
    k = len(starts)
    batch = _Batch(spec, [params] * k, starts, config.schedule, np.arange(k))
    stop = StopRules(max_steps=int(steps), grad_tol=grad_tol, bound=float(bound))
    res = _run_batches(loss, [batch], k, stop, progress, chunk_runs)

    diag = math.sqrt(sum((hi - lo) ** 2 for lo, hi in dom))
    tol = merge_tol * diag
    labels = np.where(res.status == DIVERGED, DIVERGED_LABEL, NOT_CONVERGED).astype(np.int64)
    conv = np.flatnonzero(res.status == CONVERGED)
    minima: tuple[Minimum, ...] = ()
    if conv.size:
        lab, minima = cluster_minima(res.position[conv], res.loss[conv], tol)
        labels[conv] = lab
    return BasinMap(
        function=getattr(loss, "text", ""),
        variables=tuple(loss.variables),
        optimizer=config.optimizer,
        params=dict(spec.resolve(config.params, fill_defaults=False)),
        schedule=config.schedule,
        domain=dom,
        xs=xs,
        ys=ys,
        steps=int(steps),
        grad_tol=grad_tol,
        bound=float(bound),
        merge_tol=tol,
        status=res.status.reshape(ny, nx),
        stop_step=res.stop_step.reshape(ny, nx),
        final_loss=res.loss.reshape(ny, nx),
        final_position=res.position.reshape(ny, nx, d),
        labels=labels.reshape(ny, nx),
        minima=minima,
    )


def describe_config(optimizer: str, params: dict[str, float | bool], schedule=CONSTANT) -> str:
    """Spec text of a map's configuration, e.g. ``"adam:beta1=0.9"`` (+ schedule)."""
    text = format_spec(optimizer, params)
    if schedule != CONSTANT:
        text += f" @ {schedule.to_text()}"
    return text
