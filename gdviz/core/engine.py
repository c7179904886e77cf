"""Run K optimizer configurations at once and record their trajectories.

Everything the window, the exporter and the maps show comes out of here::

    traj = run(loss, [RunConfig("adam", {"lr": 0.05}, (-1.5, 2.0)),
                      RunConfig("gd", {"lr": 1e-3}, (-1.5, 2.0))], steps=500)
    traj.positions[10, 0]      # where Adam is after 10 updates

Runs are vectorised: runs that share an optimizer (and its branch flags) form
one group whose hyper-parameters are ``(K_g, 1)`` arrays, and the loss is
evaluated once per step for all K runs, so a few thousand runs cost little more
than one.

Rows of a :class:`Trajectory`: row t holds the point after t updates, its loss
and gradient, and what happens next: ``lrs[t]`` and ``updates[t]`` are the
learning rate and the step of the update from t to t+1, ``state[name][t]`` the
optimizer state that update used (e.g. Adam's moments after taking in the
gradient at t).

Stop rules are checked per run; a stopped run is *frozen*: its later rows
repeat its last row (its last finite point if it diverged), with zero update and
zero learning rate, so a view can draw any index. The other runs go on.
Floating-point trouble never raises: the loop runs under
``numpy.errstate(all="ignore")`` and non-finite values are reported as
divergence.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np

from gdviz.core.optimizers import OPTIMIZERS, Optimizer
from gdviz.core.schedules import CONSTANT, ScheduleSpec
from gdviz.core.specs import SpecError, format_spec

__all__ = [
    "STATUSES",
    "Engine",
    "GradientNoise",
    "LossLike",
    "RunConfig",
    "StopRules",
    "Trajectory",
    "run",
]

#: Run statuses, in the order they are decided when several apply at one step.
STATUSES = ("running", "diverged", "converged", "max_steps")

_NEVER = np.iinfo(np.int64).max


class LossLike(Protocol):
    """What the engine needs of a loss (:class:`gdviz.core.loss.Loss` is one)."""

    variables: tuple[str, ...]
    dim: int

    def value(self, p: np.ndarray) -> np.ndarray: ...
    def grad(self, p: np.ndarray) -> np.ndarray: ...
    def hess(self, p: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class RunConfig:
    """One run: an optimizer with its settings, a start point and a schedule.

    ``params`` may leave settings out (they take the optimizer's defaults).
    """

    optimizer: str
    params: Mapping[str, float | bool] = field(default_factory=dict)
    start: tuple[float, ...] = ()
    schedule: ScheduleSpec = CONSTANT

    def __post_init__(self) -> None:
        # Accept schedule text and any sequence of numbers for convenience.
        if self.schedule is None:
            object.__setattr__(self, "schedule", CONSTANT)
        elif isinstance(self.schedule, str):
            from gdviz.core.schedules import parse_schedule

            object.__setattr__(self, "schedule", parse_schedule(self.schedule))
        object.__setattr__(self, "start", tuple(float(x) for x in self.start))

    def resolved(self) -> dict[str, float | bool]:
        """Every setting, defaults filled in; raises SpecError for bad ones."""
        spec = OPTIMIZERS.get(self.optimizer)
        if spec is None:
            raise SpecError(
                f"unknown optimizer {self.optimizer!r} (choose from {', '.join(OPTIMIZERS)})"
            )
        return spec.resolve(self.params)

    def label(self) -> str:
        """Spec text naming this run, e.g. ``"adam:lr=0.05"``."""
        return format_spec(self.optimizer, dict(self.params))


@dataclass(frozen=True)
class StopRules:
    """When a run stops.

    Attributes
    ----------
    max_steps
        A run that has made this many updates stops with status ``max_steps``;
        None for no limit.
    grad_tol
        Converged when the gradient norm falls below this (None or 0: never).
        With gradient noise the exact gradient is tested.
    loss_tol
        Also converged when the loss changes by less than this in one step
        (None: not used).
    bound
        Diverged when a coordinate or the loss leaves ``[-bound, bound]``, or
        when the loss, gradient or position is not finite.
    """

    max_steps: int | None = None
    grad_tol: float | None = 1e-8
    loss_tol: float | None = None
    bound: float = 1e8

    def __post_init__(self) -> None:
        if self.max_steps is not None and (
            isinstance(self.max_steps, bool) or int(self.max_steps) != self.max_steps
            or self.max_steps < 0
        ):  # fmt: skip
            raise ValueError(f"max_steps must be a whole number >= 0, not {self.max_steps!r}")
        for name in ("grad_tol", "loss_tol"):
            value = getattr(self, name)
            if value is not None and not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a finite number >= 0 or None, not {value!r}")
        if not self.bound > 0:
            raise ValueError(f"bound must be > 0 (inf for none), not {self.bound!r}")


@dataclass(frozen=True)
class GradientNoise:
    """Gaussian noise added to the exact gradient: ``g + σ·N(0, I)``.

    Each run draws from its own stream, seeded by ``seed`` and the run's index,
    so the same seed gives the same numbers and one run's noise does not
    depend on the others. This is a *noisy gradient*, not SGD on data.
    """

    sigma: float
    seed: int = 0
    label: ClassVar[str] = "noisy gradient"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.sigma) and self.sigma >= 0):
            raise ValueError(f"noise sigma must be a finite number >= 0, not {self.sigma!r}")
        if int(self.seed) != self.seed or self.seed < 0:
            raise ValueError(f"noise seed must be a whole number >= 0, not {self.seed!r}")


@dataclass
class Trajectory:
    """Recorded runs: rows ``start_step … start_step + n_steps``, K runs, d coordinates.

    Attributes
    ----------
    positions
        ``(T+1, K, d)``; row t is the point after ``start_step + t`` updates.
    losses
        ``(T+1, K)``.
    grads
        ``(T+1, K, d)``: the gradient the optimizer used (noisy, with noise).
    lrs
        ``(T+1, K)``: the learning rate of the update from row t to t+1
        (0 once the run stopped).
    updates
        ``(T+1, K, d)``: the step from row t to t+1 (0 once the run stopped).
    state
        Optimizer state per row, each ``(T+1, K, d)``, NaN for runs whose
        optimizer has no such entry: ``momentum_buffer``, ``sum``,
        ``square_avg``, ``grad_avg``, ``acc_delta``, ``exp_avg``,
        ``exp_avg_sq``, ``max_exp_avg_sq``, ``exp_inf``, ``mu_product``,
        ``m_hat``/``v_hat`` (bias-corrected moments), ``effective_lr`` (the
        per-coordinate step size), ``hess_eigvals``/``damping_mu`` (Newton).
    status
        Per run, one of :data:`STATUSES`, as of the last row.
    stop_step
        ``(K,)``: the step at which the status changed, -1 while running.
    start_step
        The step number of row 0.
    true_grads
        ``(T+1, K, d)`` exact gradients when noise was added, else None.
    """

    positions: np.ndarray
    losses: np.ndarray
    grads: np.ndarray
    lrs: np.ndarray
    updates: np.ndarray
    state: dict[str, np.ndarray]
    status: list[str]
    stop_step: np.ndarray
    start_step: int = 0
    true_grads: np.ndarray | None = None

    @property
    def n_steps(self) -> int:
        """T: the number of updates the rows span."""
        return self.positions.shape[0] - 1

    @property
    def n_runs(self) -> int:
        return self.positions.shape[1]

    @property
    def dim(self) -> int:
        return self.positions.shape[2]

    @property
    def end_step(self) -> int:
        """The step number of the last row."""
        return self.start_step + self.n_steps

    def last_row(self, k: int) -> int:
        """Index of run k's last row that is not a frozen repeat."""
        s = int(self.stop_step[k])
        if s < 0:
            return self.n_steps
        last = s - 1 if self.status[k] == "diverged" and s > 0 else s
        return min(max(last - self.start_step, 0), self.n_steps)

    def concat(self, *others: Trajectory) -> Trajectory:
        """This trajectory followed by later ones (each starting at the previous end).

        Consecutive segments from :meth:`Engine.advance` share their boundary
        row; it appears once in the result, as the later segment has it (a run
        found diverged at the next step has its boundary update set to 0
        there).
        """
        parts = [self, *others]
        for a, b in itertools.pairwise(parts):
            if b.start_step != a.end_step or b.n_runs != a.n_runs:
                raise ValueError(
                    f"cannot join rows {a.start_step}–{a.end_step} with rows starting at "
                    f"{b.start_step}"
                )

        def cat(arrays):
            return np.concatenate([a[:-1] for a in arrays[:-1]] + [arrays[-1]], axis=0)

        noisy = all(p.true_grads is not None for p in parts)
        return Trajectory(
            positions=cat([p.positions for p in parts]),
            losses=cat([p.losses for p in parts]),
            grads=cat([p.grads for p in parts]),
            lrs=cat([p.lrs for p in parts]),
            updates=cat([p.updates for p in parts]),
            state={n: cat([p.state[n] for p in parts]) for n in self.state},
            status=list(parts[-1].status),
            stop_step=parts[-1].stop_step.copy(),
            start_step=self.start_step,
            true_grads=cat([p.true_grads for p in parts]) if noisy else None,
        )


class _Group:
    """Runs sharing one vectorised optimizer; a contiguous slice of the internal order."""

    def __init__(self, opt: Optimizer, sl: slice) -> None:
        self.opt = opt
        self.sl = sl
        self.state: dict[str, np.ndarray] = {}


class Engine:
    """Computes K runs step by step, in chunks that the caller asks for.

    Parameters
    ----------
    loss
        The loss (:class:`gdviz.core.loss.Loss` or anything with ``dim``,
        ``value``, ``grad``, ``hess`` on ``(..., d)`` arrays; a
        ``value_and_grad`` method is used when present).
    configs
        The runs. Every start must have ``loss.dim`` coordinates.
    stop
        Stop rules; the default has no step limit.
    noise
        Optional gradient noise.
    record_state
        Record optimizer state rows (set False to save memory in big sweeps;
        ``Trajectory.state`` is then empty).
    block
        Rows between stop checks (a run stopping inside a block is still
        frozen from its exact step).

    The engine keeps only its current row; :meth:`advance` returns the next
    rows as a :class:`Trajectory` and forgets them, so memory stays bounded on
    long runs. Join segments with :meth:`Trajectory.concat`.
    """

    def __init__(
        self,
        loss: LossLike,
        configs: Sequence[RunConfig],
        stop: StopRules | None = None,
        noise: GradientNoise | None = None,
        *,
        record_state: bool = True,
        block: int = 256,
    ) -> None:
        self.loss = loss
        self.configs = tuple(configs)
        self.stop = stop or StopRules()
        self.noise = noise if noise is not None and noise.sigma > 0 else None
        self.record_state = record_state
        self.block = max(1, int(block))
        d = int(loss.dim)
        self.d = d
        k = len(self.configs)
        if k == 0:
            raise ValueError("no runs: give at least one RunConfig")
        self.k = k

        params: list[dict[str, float | bool]] = []
        starts = np.empty((k, d))
        for i, cfg in enumerate(self.configs):
            if not isinstance(cfg, RunConfig):
                raise TypeError(f"run {i + 1}: expected a RunConfig, got {type(cfg).__name__}")
            params.append(cfg.resolved())
            if len(cfg.start) != d:
                names = ", ".join(getattr(loss, "variables", ())) or f"{d} variables"
                raise ValueError(
                    f"run {i + 1} ({cfg.optimizer}): the start has {len(cfg.start)} "
                    f"coordinate(s) but the function has {d} ({names})"
                )
            starts[i] = cfg.start
        self.params = params

        # Group runs by optimizer branch; the internal order puts each group's
        # runs next to each other so a group works on a slice, not a gather.
        keys: dict[tuple, list[int]] = {}
        for i, cfg in enumerate(self.configs):
            keys.setdefault(OPTIMIZERS[cfg.optimizer].group_key(params[i]), []).append(i)
        order = [i for idx in keys.values() for i in idx]
        self._perm = np.array(order)
        self._identity = order == list(range(k))
        self._inv = np.argsort(self._perm)
        self.groups: list[_Group] = []
        pos = 0
        for idx in keys.values():
            spec = OPTIMIZERS[self.configs[idx[0]].optimizer]
            opt = spec.build([params[i] for i in idx], d)
            self.groups.append(_Group(opt, slice(pos, pos + len(idx))))
            pos += len(idx)
        if len(self.groups) == 1:
            self.groups[0].sl = slice(None)
        self.needs_hess = any(g.opt.needs_hess for g in self.groups)

        state_names: list[str] = []
        for g in self.groups:
            for n in (*g.opt.state_names, *g.opt.derived_names):
                if n not in state_names:
                    state_names.append(n)
        self.state_names = tuple(state_names) if record_state else ()

        # Learning rates: runs with the same schedule share one vectorised call.
        base = np.array([float(params[i]["lr"]) for i in order])
        by_sched: dict[ScheduleSpec, list[int]] = {}
        for j, i in enumerate(order):
            by_sched.setdefault(self.configs[i].schedule, []).append(j)
        self._scheds = [(s, np.array(js), base[js]) for s, js in by_sched.items()]
        self._const_lr = base if all(s.factor_free() for s in by_sched) else None

        self._evaluate = self._make_evaluator()
        if self.noise is not None:
            # Per-run streams keyed by (seed, run index): independent of K.
            self._rngs = [
                np.random.Generator(
                    np.random.PCG64(
                        np.random.SeedSequence(int(self.noise.seed), spawn_key=(int(i),))
                    )
                )
                for i in order
            ]
        self._stop_at = np.full(k, _NEVER, dtype=np.int64)
        self._freeze_at = np.full(k, _NEVER, dtype=np.int64)
        self._status = np.zeros(k, dtype=np.int8)  # index into STATUSES
        self.step = 0  # step number of the current (last computed) row

        buf = self._alloc(0, start=True)
        buf["P"][0] = starts[self._perm]
        for g in self.groups:
            g.state = g.opt.init_state(buf["P"][0, g.sl])
        with np.errstate(all="ignore"):
            self._fill_lrs(buf, 0)
            self._eval_row(buf, 0, 0)
            self._step_row(buf, 0, 0)
            self._finish_rows(buf, 0, 0, 0)
        self._carry = buf

    # ------------------------------------------------------------------ buffers

    def _alloc(self, n: int, *, start: bool = False) -> dict[str, Any]:
        k, d = self.k, self.d
        buf: dict[str, Any] = {
            "P": np.empty((n + 1, k, d)),
            "L": np.empty((n + 1, k)),
            "G": np.empty((n + 1, k, d)),
            "LR": np.empty((n + 1, k)),
            "U": np.empty((n + 1, k, d)),
            "TG": np.empty((n + 1, k, d)) if self.noise is not None else None,
            "S": {},
        }
        for name in self.state_names:
            arr = np.empty((n + 1, k, d))
            for grp in self.groups:
                if name not in grp.opt.state_names and name not in grp.opt.derived_names:
                    arr[:, grp.sl] = np.nan
            buf["S"][name] = arr
        if self.noise is not None:
            # Row 0 is drawn only for the start row; a segment's row 0 repeats
            # the previous segment's last row, which already had its noise.
            first = 0 if start else 1
            z = np.zeros((n + 1, k, d))
            if n + 1 > first:
                for j, rng in enumerate(self._rngs):
                    z[first:, j] = rng.standard_normal((n + 1 - first, d))
                z *= self.noise.sigma
            buf["Z"] = z
        return buf

    def _row_arrays(self, buf: dict[str, Any]) -> list[np.ndarray]:
        arrays = [buf["P"], buf["L"], buf["G"], buf["LR"], buf["U"], *buf["S"].values()]
        if buf["TG"] is not None:
            arrays.append(buf["TG"])
        return arrays

    # ------------------------------------------------------------------ per row

    def _fill_lrs(self, buf: dict[str, Any], first: int) -> None:
        """Learning rates for rows ``first…`` of ``buf`` (row r is step self.step + r)."""
        lr = buf["LR"]
        n = lr.shape[0] - first
        if self._const_lr is not None:
            lr[first:] = self._const_lr
            return
        t = np.arange(self.step + first, self.step + first + n, dtype=np.float64)[:, None]
        for sched, cols, base in self._scheds:
            lr[first:, cols] = sched.lr_at(base[None, :], t)

    def _eval_row(self, buf: dict[str, Any], i: int, _t: int) -> None:
        p = buf["P"][i]
        if self.noise is not None:
            self._evaluate(p, buf["L"][i], buf["TG"][i], _t)
            np.add(buf["TG"][i], buf["Z"][i], out=buf["G"][i])
        else:
            self._evaluate(p, buf["L"][i], buf["G"][i], _t)

    def _step_row(self, buf: dict[str, Any], i: int, t: int) -> None:
        """Compute the update from row i (global step t) and the state it used."""
        p, g, lr = buf["P"][i], buf["G"][i], buf["LR"][i][:, None]
        u, s = buf["U"][i], buf["S"]
        hess = self._hess_fn(p) if self.needs_hess else None
        for grp in self.groups:
            sl = grp.sl
            u[sl] = grp.opt.step(
                p[sl], g[sl], grp.state, lr[sl], t + 1, None if hess is None else hess[sl]
            )
            for name in grp.opt.state_names:
                if name in s:
                    s[name][i, sl] = grp.state[name]

    # ------------------------------------------------------------------ checks

    def _finish_rows(self, buf: dict[str, Any], a: int, b: int, t0: int) -> None:
        """Derived state, stop checks and freezing for rows a..b (step of row 0 is t0)."""
        rows = slice(a, b + 1)
        steps = np.arange(t0 + a, t0 + b + 1)
        if self.record_state:
            lr3 = buf["LR"][rows, :, None]
            tt = (steps + 1.0)[:, None, None]
            for grp in self.groups:
                sl = grp.sl
                st = {n: buf["S"][n][rows, sl] for n in grp.opt.state_names}
                derived = grp.opt.derive(st, lr3[:, sl], tt, buf["G"][rows, sl], buf["P"][rows, sl])
                for name, arr in derived.items():
                    buf["S"][name][rows, sl] = arr

        stop = self.stop
        active = self._stop_at == _NEVER
        if active.any():
            L, P = buf["L"][rows], buf["P"][rows]
            G = buf["TG"][rows] if buf["TG"] is not None else buf["G"][rows]
            bad = ~np.isfinite(L) | (np.abs(L) > stop.bound)
            bad |= ~np.isfinite(P).all(axis=-1) | (np.abs(P) > stop.bound).any(axis=-1)
            bad |= ~np.isfinite(G).all(axis=-1)
            conv = np.zeros_like(bad)
            if stop.grad_tol:
                conv |= np.sqrt(np.einsum("tkd,tkd->tk", G, G)) < stop.grad_tol
            if stop.loss_tol is not None and (a > 0 or t0 > 0):
                prev = buf["L"][a - 1 : b] if a > 0 else None
                if prev is not None:
                    conv |= np.abs(L - prev) < stop.loss_tol
            ends = np.zeros_like(bad)
            if stop.max_steps is not None:
                ends[steps == stop.max_steps] = True
                ends[steps > stop.max_steps] = True
            event = (bad | conv | ends) & active[None, :]
            hit = np.flatnonzero(event.any(axis=0))
            if hit.size:
                first = event[:, hit].argmax(axis=0)
                for j, f in zip(hit.tolist(), first.tolist(), strict=True):
                    step = int(steps[f])
                    if bad[f, j]:
                        code, freeze = 1, (f - 1 if step > 0 else f)
                    elif conv[f, j]:
                        code, freeze = 2, f
                    else:
                        code, freeze = 3, f
                    self._status[j] = code
                    self._stop_at[j] = step
                    self._freeze_at[j] = t0 + a + freeze
        self._freeze(buf, a, b, t0)

    def _freeze(self, buf: dict[str, Any], a: int, b: int, t0: int) -> None:
        """Make stopped runs repeat their frozen row over rows a-1..b."""
        stopped = np.flatnonzero(self._stop_at != _NEVER)
        if not stopped.size:
            return
        # Rows before the earliest freeze are untouched.
        lo = max(a - 1, 0, int(self._freeze_at[stopped].min()) - t0)
        if lo > b:
            return
        steps = np.arange(t0 + lo, t0 + b + 1)[:, None]
        fz = self._freeze_at[stopped][None, :]
        rows = slice(lo, b + 1)
        after = steps > fz  # rows that repeat the frozen row
        for arr in self._row_arrays(buf):
            if arr is buf["LR"] or arr is buf["U"]:
                continue
            frozen = self._frozen_values(buf, arr, stopped, t0)
            blk = arr[rows][:, stopped]
            mask = after if arr.ndim == 2 else after[..., None]
            arr[rows, stopped] = np.where(mask, frozen[None], blk)
        u = buf["U"][rows][:, stopped]
        u[steps >= fz] = 0.0
        buf["U"][rows, stopped] = u
        lr = buf["LR"][rows][:, stopped]
        lr[steps >= self._stop_at[stopped][None, :]] = 0.0
        buf["LR"][rows, stopped] = lr

    def _frozen_values(self, buf, arr, stopped, t0) -> np.ndarray:
        """The frozen row of each stopped run.

        A run frozen before this buffer repeats its frozen row in row 0 (the
        previous segment's last row), so that row stands in for it.
        """
        idx = np.maximum(self._freeze_at[stopped] - t0, 0)
        return arr[idx, stopped]

    # ------------------------------------------------------------------ stepping

    def advance(self, n_steps: int) -> Trajectory:
        """Compute the next ``n_steps`` updates of every run.

        Returns rows ``step … step + n_steps`` (``n_steps + 1`` rows; the first
        is the last row of the previous call, or the start). Stopped runs
        repeat their frozen row. The engine then keeps only the last row.
        """
        n = int(n_steps)
        if n < 0:
            raise ValueError(f"n_steps must be >= 0, not {n_steps!r}")
        t0 = self.step
        buf = self._alloc(n)
        carry = self._carry
        for name in ("P", "L", "G", "LR", "U", "TG"):
            if buf[name] is not None:
                buf[name][0] = carry[name][-1]
        for name, arr in buf["S"].items():
            arr[0] = carry["S"][name][-1]
        with np.errstate(all="ignore"):
            if n:
                self._fill_lrs(buf, 1)
            a = 1
            while a <= n:
                if not (self._stop_at == _NEVER).any():
                    # Every run has stopped: the rest only repeats frozen rows.
                    self._freeze(buf, a, n, t0)
                    break
                b = min(a + self.block - 1, n)
                self._loop(buf, a, b, t0)
                self._finish_rows(buf, a, b, t0)
                a = b + 1
        self.step = t0 + n
        self._carry = {
            key: (
                {s: v[-1:].copy() for s, v in val.items()}
                if isinstance(val, dict)
                else (None if val is None else val[-1:].copy())
            )
            for key, val in buf.items()
            if key != "Z"
        }
        return self._trajectory(buf, t0)

    def _loop(self, buf: dict[str, Any], a: int, b: int, t0: int) -> None:
        """The hot loop: rows a..b. Kept free of per-step allocation and checks."""
        P, L, G, U, LR, S = buf["P"], buf["L"], buf["G"], buf["U"], buf["LR"], buf["S"]
        TG, Z = buf["TG"], buf.get("Z")
        evaluate = self._evaluate
        hess_fn = self._hess_fn if self.needs_hess else None
        add = np.add
        lr3 = LR[:, :, None]
        single = self.groups[0] if len(self.groups) == 1 else None
        if single is not None:
            opt_step, state = single.opt.step, single.state
            rec = [(S[n], state[n]) for n in single.opt.state_names if n in S]
            # One learning rate for the whole group: pass a float (cheaper than
            # broadcasting a (K, 1) array, same numbers).
            scalar_lr = self.k == 1 or (
                self._const_lr is not None and bool(np.all(self._const_lr == self._const_lr[0]))
            )
            lr_col = LR[:, 0]
        for i in range(a, b + 1):
            p = P[i]
            add(P[i - 1], U[i - 1], out=p)
            if TG is not None:
                gi = TG[i]
                evaluate(p, L[i], gi, t0 + i)
                gi = add(gi, Z[i], out=G[i])
            else:
                gi = G[i]
                evaluate(p, L[i], gi, t0 + i)
            hess = hess_fn(p) if hess_fn is not None else None
            t = t0 + i + 1
            if single is not None:
                U[i] = opt_step(p, gi, state, float(lr_col[i]) if scalar_lr else lr3[i], t, hess)
                for dst, src in rec:
                    dst[i] = src
            else:
                u, lr = U[i], lr3[i]
                for grp in self.groups:
                    sl = grp.sl
                    u[sl] = grp.opt.step(
                        p[sl], gi[sl], grp.state, lr[sl], t, None if hess is None else hess[sl]
                    )
                    for name in grp.opt.state_names:
                        if name in S:
                            S[name][i, sl] = grp.state[name]

    def _make_evaluator(self):
        """A function ``(p, loss_row, grad_row, step)`` that writes the loss and gradient at p.

        A loss with a ``bind_runs(order)`` method (dataset mode's
        :class:`gdviz.core.dataset_loss.SampledObjective`) supplies its own
        evaluator, which uses ``step`` to pick each run's mini-batch, and a
        ``hess`` on the same batches; plain losses ignore ``step``.

        :attr:`gdviz.core.loss.Loss.raw_value_and_grad` is the generated
        ``f(x, y) -> (value, dx, dy)`` itself; calling it directly skips the
        public method's per-call set-up, which dominates when K is small. For
        one run it is called with NumPy scalars (about 10× faster than
        1-element arrays). Other losses go through ``value_and_grad`` or
        ``value`` and ``grad``. The loop runs under ``errstate(all="ignore")``.
        """
        loss, d = self.loss, self.d
        self._hess_fn = loss.hess
        bind = getattr(loss, "bind_runs", None)
        if callable(bind):
            # Dataset mode: the objective picks each run's mini-batch from the step.
            bound = bind([int(i) for i in self._perm])
            self._hess_fn = bound.hess
            return bound.evaluate
        raw = getattr(loss, "raw_value_and_grad", None)
        nan = (np.nan,) * (d + 1)
        if callable(raw) and self.k == 1 and d == 2:
            # The common case, unrolled: element writes are cheaper than a row write.
            def evaluate(p, lrow, grow, _t):
                x, y = p[0]
                try:
                    v, gx, gy = raw(x, y)
                except ArithmeticError:
                    v = gx = gy = np.nan
                lrow[0] = v
                grow[0, 0] = gx
                grow[0, 1] = gy

            return evaluate
        if callable(raw) and self.k == 1:

            def evaluate(p, lrow, grow, _t):
                try:
                    res = raw(*p[0])
                except ArithmeticError:
                    res = nan
                lrow[0] = res[0]
                grow[0] = res[1:]

            return evaluate
        if callable(raw) and self.k <= 64:

            def evaluate(p, lrow, grow, _t):
                try:
                    res = raw(*p.T)
                except ArithmeticError:
                    res = nan
                lrow[...] = res[0]
                for j in range(d):
                    grow[:, j] = res[j + 1]

            return evaluate
        vg = getattr(loss, "value_and_grad", None)
        if callable(vg):

            def evaluate(p, lrow, grow, _t):
                v, g = vg(p)
                lrow[...] = v
                grow[...] = g

            return evaluate

        def evaluate(p, lrow, grow, _t):
            lrow[...] = loss.value(p)
            grow[...] = loss.grad(p)

        return evaluate

    def _trajectory(self, buf: dict[str, Any], t0: int) -> Trajectory:
        inv = None if self._identity else self._inv

        def out(arr):
            return arr if inv is None else arr[:, inv]

        status = self._status if inv is None else self._status[inv]
        stop_at = self._stop_at if inv is None else self._stop_at[inv]
        return Trajectory(
            positions=out(buf["P"]),
            losses=out(buf["L"]),
            grads=out(buf["G"]),
            lrs=out(buf["LR"]),
            updates=out(buf["U"]),
            state={name: out(arr) for name, arr in buf["S"].items()},
            status=[STATUSES[c] for c in status.tolist()],
            stop_step=np.where(stop_at == _NEVER, -1, stop_at).astype(np.int64),
            start_step=t0,
            true_grads=None if buf["TG"] is None else out(buf["TG"]),
        )


def run(
    loss: LossLike,
    configs: Sequence[RunConfig],
    steps: int | None = None,
    stop: StopRules | None = None,
    noise: GradientNoise | None = None,
    *,
    record_state: bool = True,
) -> Trajectory:
    """Run every configuration for ``steps`` updates and return the whole trajectory.

    ``stop`` defaults to :class:`StopRules` with ``max_steps=steps``; ``steps``
    defaults to ``stop.max_steps``. See :class:`Engine` for the parameters.
    """
    if stop is None:
        stop = StopRules(max_steps=steps)
    if steps is None:
        if stop.max_steps is None:
            raise ValueError("give steps or StopRules(max_steps=...)")
        steps = stop.max_steps
    engine = Engine(loss, configs, stop, noise, record_state=record_state)
    return engine.advance(steps)
