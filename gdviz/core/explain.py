"""Explain one step: the optimizer's update rule with this step's numbers in it, and badges.

For run k shown at step i (i ≥ 1) the explanation is the update that brought
it there, from θᵢ₋₁ to θᵢ, written out three times: as the rule, with the
numbers substituted, and as the result. For gradient descent at step 12::

    θ₁₂ = θ₁₁ − η·∇f(θ₁₁) = (−1.2, 0.5) − 0.1·(3.1, −2) = (−1.51, 0.7)

For Adam the lines also give m, v, m̂, v̂ and the effective step size per
coordinate. Every number is read from the :class:`~gdviz.core.engine.Trajectory`
(positions, gradients, learning rates, updates and recorded optimizer state),
never recomputed, so the panel shows exactly what the engine did; the
substituted arithmetic is a display of those numbers, and the tests check that
it reproduces the next point.

:func:`badges` says in a word what the run is doing at step i. The rules are
deliberately simple so a student can check them by eye; see :func:`badges`.

Nothing here imports Qt: :class:`Explanation` is data, with :meth:`~Explanation.text`
and :meth:`~Explanation.html` renderings for the panel, the command line or a
notebook.
"""

from __future__ import annotations

import html as _html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gdviz.core.optimizers import OPTIMIZERS

__all__ = [
    "BADGES",
    "Badge",
    "Explanation",
    "Line",
    "badges",
    "explain_step",
    "fmt",
    "lowest_loss",
]

_SUB = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")
_MINUS = "−"


def _sub(n: int) -> str:
    return str(n).translate(_SUB)


def fmt(v: float, digits: int = 4) -> str:
    """A number for display: ``digits`` significant digits, a real minus sign."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "∞" if v > 0 else f"{_MINUS}∞"
    if v == 0:
        return "0"
    s = f"{v:.{digits}g}"
    if "e" in s:
        mant, exp = s.split("e")
        s = f"{mant}·10{_sup(int(exp))}"
    return s.replace("-", _MINUS)


def _sup(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"))


def _vec(a: Any) -> str:
    a = np.atleast_1d(np.asarray(a, dtype=float))
    if a.size == 1:
        return fmt(a[0])
    return "(" + ", ".join(fmt(x) for x in a) + ")"


@dataclass(frozen=True)
class Line:
    """One equation: ``lhs = rule = substituted = result``.

    Attributes
    ----------
    lhs
        The quantity (``"θ₁₂"``).
    rule
        The rule in symbols (``"θ₁₁ − η·∇f(θ₁₁)"``), or ``""`` for a plain value.
    substituted
        The rule with numbers in (``"(−1.2, 0.5) − 0.1·(3.1, −2)"``), or ``""``.
    value
        The result, one number per coordinate (or a single number).
    """

    lhs: str
    rule: str
    substituted: str
    value: np.ndarray

    def text(self) -> str:
        parts = [self.lhs]
        if self.rule:
            parts.append(self.rule)
        if self.substituted:
            parts.append(self.substituted)
        parts.append(_vec(self.value))
        return " = ".join(parts)


#: Badge kinds in the order they are listed.
BADGES = ("diverging", "converged", "saddle", "oscillating", "overshooting", "crawling")

_BADGE_TEXT = {
    "diverging": "diverging",
    "converged": "converged",
    "saddle": "stuck at a saddle",
    "oscillating": "oscillating",
    "overshooting": "overshooting (loss went up)",
    "crawling": "crawling on a plateau",
}


@dataclass(frozen=True)
class Badge:
    """A short verdict on what a run is doing.

    Attributes
    ----------
    kind
        One of :data:`BADGES`.
    text
        The words shown (``"overshooting (loss went up)"``).
    reason
        The numbers that triggered it (``"f rose from 0.12 to 0.31"``).
    """

    kind: str
    text: str
    reason: str


@dataclass(frozen=True)
class Explanation:
    """One run at one step, explained.

    Attributes
    ----------
    run
        Run index k.
    step
        The step shown (row i of the trajectory, counted from step 0).
    optimizer
        Registry name.
    title
        ``"Adam · step 11 → 12"``-style heading.
    rule
        The general update rule in Unicode (one or more lines).
    lines
        The equations with this step's numbers.
    values
        The numbers used, by name: ``theta``, ``grad``, ``lr``, ``update``,
        ``theta_next``, and the optimizer's state (``exp_avg``, ``m_hat`` …);
        each taken from the trajectory.
    note
        A sentence for special cases (the start, a stopped run), else ``""``.
    badges
        Verdicts at this step.
    """

    run: int
    step: int
    optimizer: str
    title: str
    rule: str
    lines: tuple[Line, ...]
    values: Mapping[str, np.ndarray]
    note: str = ""
    badges: tuple[Badge, ...] = field(default_factory=tuple)

    def text(self) -> str:
        """Plain-text rendering (what a terminal or a screen reader gets)."""
        out = [self.title]
        if self.badges:
            out.append("[" + "] [".join(b.text for b in self.badges) + "]")
        out.append(self.rule)
        out.extend(line.text() for line in self.lines)
        if self.note:
            out.append(self.note)
        return "\n".join(out)

    def html(self, colors: Mapping[str, str] | None = None) -> str:
        """Rich-text rendering for a Qt label; every piece of text is escaped.

        ``colors`` maps badge kinds to CSS colours (a theme's choice).
        """
        colors = colors or {}
        esc = _html.escape
        parts = [f"<div style='font-weight:600'>{esc(self.title)}</div>"]
        if self.badges:
            chips = []
            for b in self.badges:
                c = colors.get(b.kind, "#888888")
                chips.append(
                    f"<span style='background:{esc(c)}; color:#ffffff;'>&nbsp;{esc(b.text)}"
                    "&nbsp;</span>"
                )
            parts.append("<div>" + " ".join(chips) + "</div>")
        parts.append(f"<div style='opacity:0.8'>{esc(self.rule).replace(chr(10), '<br>')}</div>")
        rows = []
        cell = "<tr><td align='right' nowrap>{}</td><td nowrap>&nbsp;=&nbsp;</td><td>{}</td></tr>"
        for line in self.lines:
            result = f"<b>{esc(_vec(line.value))}</b>"
            # The trailing space keeps "=" clear of the name: Qt measures
            # fallback-font subscripts in bold a little short.
            lhs = f"<b>{esc(line.lhs)}</b>&nbsp;"
            if line.rule and line.substituted:
                # Rule on one row, numbers and result under it: narrow enough
                # for a side panel at projector font sizes.
                rows.append(cell.format(lhs, esc(line.rule)))
                rows.append(cell.format("", f"{esc(line.substituted)} = {result}"))
            elif line.rule:
                rows.append(cell.format(lhs, f"{esc(line.rule)} = {result}"))
            else:
                rows.append(cell.format(lhs, result))
        if rows:
            parts.append("<table cellspacing='0' cellpadding='1'>" + "".join(rows) + "</table>")
        if self.note:
            parts.append(f"<div><i>{esc(self.note)}</i></div>")
        return "".join(parts)


# --------------------------------------------------------------------------- rules

_RULES = {
    "gd": "θₜ₊₁ = θₜ − η·gₜ,   gₜ = ∇f(θₜ)",
    "momentum": "bₜ = μ·bₜ₋₁ + (1 − τ)·gₜ   (b₀ = g₀)\nθₜ₊₁ = θₜ − η·bₜ",
    "nesterov": "bₜ = μ·bₜ₋₁ + gₜ   (b₀ = g₀)\nθₜ₊₁ = θₜ − η·(gₜ + μ·bₜ)",
    "adagrad": "sₜ = sₜ₋₁ + gₜ²\nθₜ₊₁ = θₜ − η/(√sₜ + ε) ⊙ gₜ",
    "rmsprop": "vₜ = α·vₜ₋₁ + (1 − α)·gₜ²\nθₜ₊₁ = θₜ − η/(√vₜ + ε) ⊙ gₜ",
    "adadelta": "vₜ = ρ·vₜ₋₁ + (1 − ρ)·gₜ²\n"
    "θₜ₊₁ = θₜ − η·√(uₜ₋₁ + ε)/√(vₜ + ε) ⊙ gₜ,   uₜ = ρ·uₜ₋₁ + (1 − ρ)·Δₜ²",
    "adam": "mₜ = β₁·mₜ₋₁ + (1 − β₁)·gₜ,   vₜ = β₂·vₜ₋₁ + (1 − β₂)·gₜ²\n"
    "m̂ₜ = mₜ/(1 − β₁ᵗ),   v̂ₜ = vₜ/(1 − β₂ᵗ)\nθₜ₊₁ = θₜ − η/(√v̂ₜ + ε) ⊙ m̂ₜ",
    "adamw": "mₜ = β₁·mₜ₋₁ + (1 − β₁)·gₜ,   vₜ = β₂·vₜ₋₁ + (1 − β₂)·gₜ²\n"
    "m̂ₜ = mₜ/(1 − β₁ᵗ),   v̂ₜ = vₜ/(1 − β₂ᵗ)\nθₜ₊₁ = θₜ − η/(√v̂ₜ + ε) ⊙ m̂ₜ − η·λ·θₜ",
    "adamax": "mₜ = β₁·mₜ₋₁ + (1 − β₁)·gₜ,   uₜ = max(β₂·uₜ₋₁, |gₜ| + ε)\n"
    "θₜ₊₁ = θₜ − η/uₜ ⊙ mₜ/(1 − β₁ᵗ)",
    "nadam": "mₜ = β₁·mₜ₋₁ + (1 − β₁)·gₜ,   vₜ = β₂·vₜ₋₁ + (1 − β₂)·gₜ²\n"
    "m̂ₜ = μₜ₊₁·mₜ/(1 − Πμ) + (1 − μₜ)·gₜ/(1 − Πμ),   v̂ₜ = vₜ/(1 − β₂ᵗ)\n"
    "θₜ₊₁ = θₜ − η/(√v̂ₜ + ε) ⊙ m̂ₜ",
    "newton": "θₜ₊₁ = θₜ − η·(H + μI)⁻¹∇f(θₜ),   μ from the smallest eigenvalue of H",
}

# Initial value of each state entry before the first update (optimizers' init_state).
_INIT = {"mu_product": 1.0}


def _row_value(traj: Any, name: str, row: int, k: int, init: float = 0.0) -> np.ndarray:
    """State ``name`` after update ``row`` (row -1: the initial state)."""
    if row < 0:
        if traj.start_step > 0:
            # The state before this segment's first row is in an earlier segment.
            return np.full(traj.dim, np.nan)
        return np.full(traj.dim, _INIT.get(name, init))
    return np.asarray(traj.state[name][row, k], dtype=float)


def explain_step(
    traj: Any,
    run: int,
    step: int,
    optimizer: str,
    params: Mapping[str, float | bool] | None = None,
    *,
    loss: Any = None,
    label: str | None = None,
    best_loss: float | None = None,
    grad_name: str = "∇f",
) -> Explanation:
    """Explain run ``run`` at step ``step`` of ``traj``.

    Parameters
    ----------
    traj
        The trajectory (rows from ``traj.start_step``; the window keeps one from step 0).
    run
        Run index k.
    step
        The step shown; the explanation is of the update that led to it
        (``step - 1 → step``). At step 0 it shows the start and the first gradient.
    optimizer, params
        The run's optimizer and its settings (missing ones take defaults): the
        trajectory does not store them, and the rule needs μ, β₁, β₂, ε, λ ….
    loss
        Optional compiled loss, used only by the saddle badge (Hessian).
    label
        Name of the run for the heading (defaults to the optimizer's label).
    best_loss
        :func:`lowest_loss` of ``traj``, if already known (for the badges).
    grad_name
        How the gradient the optimizer used is written (``"∇f"``; e.g.
        ``"∇f_batch"`` when each step sees a mini-batch of data).

    Raises
    ------
    IndexError
        For a run or step outside the trajectory.
    KeyError
        For an unknown optimizer.
    """
    spec = OPTIMIZERS[optimizer]
    hp = spec.resolve(dict(params or {}))
    k = int(run)
    if not 0 <= k < traj.n_runs:
        raise IndexError(f"run {run} is not in the trajectory (it has {traj.n_runs})")
    i = int(step) - traj.start_step
    if not 0 <= i <= traj.n_steps:
        raise IndexError(
            f"step {step} is not in the trajectory (steps {traj.start_step}…{traj.end_step})"
        )
    name = label or spec.label
    marks = tuple(badges(traj, k, int(step), loss=loss, best_loss=best_loss))
    rule = _RULES.get(optimizer, spec.doc)
    theta_i = traj.positions[i, k]
    values: dict[str, np.ndarray] = {"theta": theta_i.copy()}

    if i == 0:
        g0 = traj.grads[0, k]
        values["grad"] = g0.copy()
        lines = (
            Line("θ₀", "", "", theta_i),
            Line("∇f(θ₀)", "", "", g0),
            Line("f(θ₀)", "", "", np.array([traj.losses[0, k]])),
        )
        return Explanation(
            k,
            int(step),
            optimizer,
            f"{name} · start",
            rule,
            lines,
            values,
            "The start point. Step forward (→) to see the first update.",
            marks,
        )

    t = i - 1  # the update t → t+1 = i
    stop = int(traj.stop_step[k])
    if stop >= 0 and stop - traj.start_step <= t:
        status = traj.status[k]
        return Explanation(
            k,
            int(step),
            optimizer,
            f"{name} · step {step}",
            rule,
            (Line(f"θ{_sub(int(step))}", "", "", theta_i),),
            values,
            f"This run stopped at step {stop} ({status}); it no longer moves.",
            marks,
        )

    s = traj.start_step + t  # global number of the update's first row
    T, N = _sub(s), _sub(s + 1)
    theta = traj.positions[t, k]
    grad = traj.grads[t, k]
    lr = float(traj.lrs[t, k])
    update = traj.updates[t, k]
    nxt = traj.positions[t + 1, k]
    values.update(
        theta=theta.copy(),
        grad=grad.copy(),
        lr=np.array([lr]),
        update=update.copy(),
        theta_next=nxt.copy(),
    )
    lines: list[Line] = [Line(f"θ{T}", "", "", theta)]
    if traj.true_grads is not None:
        lines.append(Line(f"∇f(θ{T})", "", "", traj.true_grads[t, k]))
        lines.append(Line(f"g{T}", f"∇f(θ{T}) + noise", "", grad))
    else:
        lines.append(Line(f"g{T}", f"{grad_name}(θ{T})", "", grad))
    wd = float(hp.get("weight_decay", 0.0) or 0.0)
    g = grad
    if (
        wd
        and optimizer not in ("adamw",)
        and not (optimizer == "nadam" and hp.get("decoupled_weight_decay"))
    ):
        g = grad + wd * theta
        lines.append(Line(f"g{T}", f"∇f + λ·θ{T}", f"{_vec(grad)} + {fmt(wd)}·{_vec(theta)}", g))
    values["g"] = np.asarray(g, dtype=float).copy()
    lines.append(Line(f"η{T}", "", "", np.array([lr])))

    def st(name: str, row: int) -> np.ndarray:
        v = _row_value(traj, name, row, k)
        values[name if row == t else f"prev_{name}"] = v.copy()
        return v

    step_line: Line
    if optimizer == "gd":
        step_line = Line(
            f"θ{N}", f"θ{T} − η·g{T}", f"{_vec(theta)} − {fmt(lr)}·{_vec(g)}", theta + update
        )
    elif optimizer in ("momentum", "nesterov"):
        mu = float(hp["momentum"])
        b = st("momentum_buffer", t)
        if s == 0:
            lines.append(Line(f"b{T}", f"g{T}", "", b))
        else:
            bp = st("momentum_buffer", t - 1)
            if optimizer == "momentum":
                damp = 1.0 - float(hp.get("dampening", 0.0))
                lines.append(
                    Line(
                        f"b{T}",
                        f"μ·b{_sub(s - 1)} + (1 − τ)·g{T}",
                        f"{fmt(mu)}·{_vec(bp)} + {fmt(damp)}·{_vec(g)}",
                        b,
                    )
                )
            else:
                lines.append(
                    Line(
                        f"b{T}", f"μ·b{_sub(s - 1)} + g{T}", f"{fmt(mu)}·{_vec(bp)} + {_vec(g)}", b
                    )
                )
        if optimizer == "momentum":
            step_line = Line(
                f"θ{N}", f"θ{T} − η·b{T}", f"{_vec(theta)} − {fmt(lr)}·{_vec(b)}", theta + update
            )
        else:
            step_line = Line(
                f"θ{N}",
                f"θ{T} − η·(g{T} + μ·b{T})",
                f"{_vec(theta)} − {fmt(lr)}·({_vec(g)} + {fmt(mu)}·{_vec(b)})",
                theta + update,
            )
    elif optimizer == "adagrad":
        sp = _row_value(traj, "sum", t - 1, k, float(hp["initial_accumulator_value"]))
        values["prev_sum"] = sp.copy()
        ssum = st("sum", t)
        eff = st("effective_lr", t)
        lines.append(Line(f"s{T}", f"s{_sub(s - 1)} + g{T}²", f"{_vec(sp)} + {_vec(g)}²", ssum))
        lines.append(Line(f"α{T}", f"η/(√s{T} + ε)", "", eff))
        step_line = Line(
            f"θ{N}",
            f"θ{T} − α{T} ⊙ g{T}",
            f"{_vec(theta)} − {_vec(eff)} ⊙ {_vec(g)}",
            theta + update,
        )
    elif optimizer == "rmsprop":
        a = float(hp["alpha"])
        vp = st("square_avg", t - 1)
        v = st("square_avg", t)
        eff = st("effective_lr", t)
        lines.append(
            Line(
                f"v{T}",
                f"α·v{_sub(s - 1)} + (1 − α)·g{T}²",
                f"{fmt(a)}·{_vec(vp)} + {fmt(1 - a)}·{_vec(g)}²",
                v,
            )
        )
        lines.append(Line(f"α{T}", f"η/(√v{T} + ε)", "", eff))
        if float(hp["momentum"]) > 0:
            b = st("momentum_buffer", t)
            lines.append(Line(f"b{T}", f"μ·b{_sub(s - 1)} + g{T}/(√v{T} + ε)", "", b))
            step_line = Line(
                f"θ{N}", f"θ{T} − η·b{T}", f"{_vec(theta)} − {fmt(lr)}·{_vec(b)}", theta + update
            )
        else:
            step_line = Line(
                f"θ{N}",
                f"θ{T} − α{T} ⊙ g{T}",
                f"{_vec(theta)} − {_vec(eff)} ⊙ {_vec(g)}",
                theta + update,
            )
    elif optimizer == "adadelta":
        rho = float(hp["rho"])
        vp = st("square_avg", t - 1)
        v = st("square_avg", t)
        st("acc_delta", t - 1)
        st("acc_delta", t)
        eff = st("effective_lr", t)
        lines.append(
            Line(
                f"v{T}",
                f"ρ·v{_sub(s - 1)} + (1 − ρ)·g{T}²",
                f"{fmt(rho)}·{_vec(vp)} + {fmt(1 - rho)}·{_vec(g)}²",
                v,
            )
        )
        lines.append(Line(f"α{T}", f"η·√(u{_sub(s - 1)} + ε)/√(v{T} + ε)", "", eff))
        step_line = Line(
            f"θ{N}",
            f"θ{T} − α{T} ⊙ g{T}",
            f"{_vec(theta)} − {_vec(eff)} ⊙ {_vec(g)}",
            theta + update,
        )
    elif optimizer in ("adam", "adamw", "adamax", "nadam"):
        b1 = float(hp["beta1"])
        b2 = float(hp["beta2"])
        tt = s + 1  # torch's 1-based step count
        mp = st("exp_avg", t - 1)
        m = st("exp_avg", t)
        lines.append(
            Line(
                f"m{T}",
                f"β₁·m{_sub(s - 1)} + (1 − β₁)·g{T}",
                f"{fmt(b1)}·{_vec(mp)} + {fmt(1 - b1)}·{_vec(g)}",
                m,
            )
        )
        if optimizer == "adamax":
            up = st("exp_inf", t - 1)
            u = st("exp_inf", t)
            lines.append(
                Line(
                    f"u{T}",
                    f"max(β₂·u{_sub(s - 1)}, |g{T}| + ε)",
                    f"max({fmt(b2)}·{_vec(up)}, |{_vec(g)}| + {fmt(float(hp['eps']))})",
                    u,
                )
            )
            mh = st("m_hat", t)
            lines.append(Line(f"m̂{T}", f"m{T}/(1 − β₁^{tt})", f"{_vec(m)}/{fmt(1 - b1**tt)}", mh))
            eff = st("effective_lr", t)
            lines.append(Line(f"α{T}", f"η/u{T}", f"{fmt(lr)}/{_vec(u)}", eff))
        else:
            vp = st("exp_avg_sq", t - 1)
            v = st("exp_avg_sq", t)
            lines.append(
                Line(
                    f"v{T}",
                    f"β₂·v{_sub(s - 1)} + (1 − β₂)·g{T}²",
                    f"{fmt(b2)}·{_vec(vp)} + {fmt(1 - b2)}·{_vec(g)}²",
                    v,
                )
            )
            mh = st("m_hat", t)
            vh = st("v_hat", t)
            if optimizer == "nadam":
                lines.append(Line(f"m̂{T}", "μₜ₊₁·m/(1 − Πμ) + (1 − μₜ)·g/(1 − Πμ)", "", mh))
            else:
                lines.append(
                    Line(f"m̂{T}", f"m{T}/(1 − β₁^{tt})", f"{_vec(m)}/{fmt(1 - b1**tt)}", mh)
                )
            if "max_exp_avg_sq" in traj.state and hp.get("amsgrad"):
                vmax = st("max_exp_avg_sq", t)
                lines.append(
                    Line(f"v̂{T}", f"max(v)/(1 − β₂^{tt})", f"{_vec(vmax)}/{fmt(1 - b2**tt)}", vh)
                )
            else:
                lines.append(
                    Line(f"v̂{T}", f"v{T}/(1 − β₂^{tt})", f"{_vec(v)}/{fmt(1 - b2**tt)}", vh)
                )
            eff = st("effective_lr", t)
            lines.append(
                Line(
                    f"α{T}",
                    f"η/(√v̂{T} + ε)",
                    f"{fmt(lr)}/(√{_vec(vh)} + {fmt(float(hp['eps']))})",
                    eff,
                )
            )
        decoupled = optimizer == "adamw" or (
            optimizer == "nadam" and bool(hp.get("decoupled_weight_decay"))
        )
        if decoupled and wd:
            step_line = Line(
                f"θ{N}",
                f"θ{T} − α{T} ⊙ m̂{T} − η·λ·θ{T}",
                f"{_vec(theta)} − {_vec(eff)} ⊙ {_vec(mh)} − {fmt(lr)}·{fmt(wd)}·{_vec(theta)}",
                theta + update,
            )
        else:
            step_line = Line(
                f"θ{N}",
                f"θ{T} − α{T} ⊙ m̂{T}",
                f"{_vec(theta)} − {_vec(eff)} ⊙ {_vec(mh)}",
                theta + update,
            )
    elif optimizer == "newton":
        lam = st("hess_eigvals", t)
        mu_d = st("damping_mu", t)
        lines.append(Line("eigenvalues of H", "", "", lam))
        lines.append(Line("μ", "", "", np.array([float(np.ravel(mu_d)[0])])))
        with np.errstate(all="ignore"):
            direction = -update / lr if lr else np.zeros_like(update)
        values["direction"] = direction
        lines.append(Line(f"p{T}", f"(H + μI)⁻¹ g{T}", "", direction))
        step_line = Line(
            f"θ{N}",
            f"θ{T} − η·p{T}",
            f"{_vec(theta)} − {fmt(lr)}·{_vec(direction)}",
            theta + update,
        )
    else:  # pragma: no cover - every registry entry is handled above
        step_line = Line(
            f"θ{N}", f"θ{T} + Δθ{T}", f"{_vec(theta)} + {_vec(update)}", theta + update
        )
    lines.append(step_line)
    lines.append(Line(f"f(θ{N})", "", "", np.array([traj.losses[t + 1, k]])))
    return Explanation(
        k,
        int(step),
        optimizer,
        f"{name} · step {s} → {s + 1}",
        rule,
        tuple(lines),
        values,
        "",
        marks,
    )


# --------------------------------------------------------------------------- badges

#: Window of recent steps the oscillation rule looks at.
OSC_WINDOW = 6
#: Steps the plateau rule compares.
CRAWL_WINDOW = 10


def lowest_loss(traj: Any) -> float:
    """The lowest finite loss any run reaches in ``traj`` (inf if there is none).

    The plateau rule compares against it; compute it once per trajectory and
    pass it to :func:`badges` / :func:`explain_step` when explaining many steps.
    """
    losses = np.asarray(traj.losses)
    return float(np.min(losses, where=np.isfinite(losses), initial=np.inf))


def badges(
    traj: Any, run: int, step: int, *, loss: Any = None, best_loss: float | None = None
) -> list[Badge]:
    """What run ``run`` is doing at ``step``, by simple rules on the rows up to it.

    The rules (i is the row of ``step``, Lᵢ the loss, gᵢ the gradient, Δᵢ the
    step from row i to i+1):

    * **diverging** — the engine stopped the run as diverged at or before i;
      or the loss rose in each of the last 5 steps and Lᵢ is more than 10×
      above both L at 5 steps before and the start loss (in absolute value).
    * **converged** — the engine stopped the run as converged at or before i,
      or ‖gᵢ‖ ≤ 1e-8.
    * **stuck at a saddle** — ‖gᵢ‖ is under 1 % of ‖g₀‖ (or under 1e-3), the
      Hessian H at θᵢ has a negative eigenvalue (below −1e-6), and the critical
      point the local quadratic model predicts is close: ‖H⁻¹gᵢ‖ < 0.05·(1 + ‖θᵢ‖).
      A flat point that is not a minimum. Needs ``loss`` (for H).
    * **oscillating** — among the last 6 steps that led to i, at least 4 of the
      5 consecutive pairs point in opposite directions (Δⱼ·Δⱼ₊₁ < 0): the run
      bounces from one side of a valley to the other.
    * **overshooting (loss went up)** — Lᵢ > Lᵢ₋₁ (beyond rounding,
      1e-12·max(1, |Lᵢ₋₁|)): the last step jumped past the valley floor.
    * **crawling on a plateau** — at least 20 steps in, the loss still falls,
      but the last 10 steps lowered it by less than 1 % of everything it has
      dropped since the start, and by at least half as much as the 10 steps
      before (a steady crawl, not the fast-shrinking tail of convergence); and
      Lᵢ is still more than 1 % of that drop above the lowest loss any run
      reaches in the computed trajectory (so a run creeping the last digits
      into a minimum is not called crawling).

    ``converged`` excludes every other badge, ``diverging`` excludes
    overshooting, and ``saddle`` excludes crawling. ``best_loss`` is
    :func:`lowest_loss` of ``traj`` (computed here when not given).
    """
    k = int(run)
    i = int(step) - traj.start_step
    if not 0 <= i <= traj.n_steps:
        raise IndexError(f"step {step} is not in the trajectory")
    L = traj.losses[: i + 1, k]
    out: list[Badge] = []
    stop = int(traj.stop_step[k])
    stopped = stop >= 0 and stop - traj.start_step <= i
    g_i = traj.grads[i, k] if traj.true_grads is None else traj.true_grads[i, k]
    gnorm = float(np.linalg.norm(g_i))

    # converged
    if (stopped and traj.status[k] == "converged") or gnorm <= 1e-8:
        why = f"stopped at step {stop}" if stopped else f"‖∇f‖ = {fmt(gnorm)}"
        return [Badge("converged", _BADGE_TEXT["converged"], why)]

    # diverging
    diverging = False
    if stopped and traj.status[k] == "diverged":
        diverging = True
        out.append(Badge("diverging", _BADGE_TEXT["diverging"], f"stopped at step {stop}"))
    elif i >= 5:
        w = L[-6:]
        if np.all(np.diff(w) > 0) and abs(w[-1]) > 10 * abs(w[0]) and abs(w[-1]) > 10 * abs(L[0]):
            diverging = True
            out.append(
                Badge(
                    "diverging",
                    _BADGE_TEXT["diverging"],
                    f"f rose 5 steps in a row, {fmt(w[0])} → {fmt(w[-1])}",
                )
            )

    # saddle
    saddle = False
    g0 = traj.grads[0, k] if traj.true_grads is None else traj.true_grads[0, k]
    if not diverging and (gnorm < 0.01 * float(np.linalg.norm(g0)) or gnorm < 1e-3):
        near = _near_saddle(traj, k, i, loss)
        if near is not None:
            lam_min = near
            saddle = True
            out.append(
                Badge(
                    "saddle",
                    _BADGE_TEXT["saddle"],
                    f"‖∇f‖ = {fmt(gnorm)} but the Hessian has eigenvalue {fmt(lam_min)} < 0",
                )
            )

    # oscillating
    if i >= OSC_WINDOW:
        d = traj.positions[i - OSC_WINDOW + 1 : i + 1, k] - traj.positions[i - OSC_WINDOW : i, k]
        dots = np.einsum("ij,ij->i", d[1:], d[:-1])
        flips = int(np.sum(dots < 0))
        if flips >= 4:
            out.append(
                Badge(
                    "oscillating",
                    _BADGE_TEXT["oscillating"],
                    f"{flips} of the last {OSC_WINDOW - 1} steps reversed direction",
                )
            )

    # overshooting
    if not diverging and i >= 1:
        prev, cur = float(L[-2]), float(L[-1])
        if cur > prev + 1e-12 * max(1.0, abs(prev)):
            out.append(
                Badge(
                    "overshooting",
                    _BADGE_TEXT["overshooting"],
                    f"f rose from {fmt(prev)} to {fmt(cur)}",
                )
            )

    # crawling
    if not saddle and not diverging and i >= 2 * CRAWL_WINDOW and i >= 20:
        total = float(L[0] - L[-1])
        last = float(L[-1 - CRAWL_WINDOW] - L[-1])
        before = float(L[-1 - 2 * CRAWL_WINDOW] - L[-1 - CRAWL_WINDOW])
        best = lowest_loss(traj) if best_loss is None else float(best_loss)
        if not math.isfinite(best):
            best = float(L[-1])
        if (
            total > 0
            and last > 0
            and L[-1] <= L[-2]
            and last < 0.01 * total
            and last >= 0.5 * before
            and float(L[-1]) - best > 0.01 * total
        ):
            out.append(
                Badge(
                    "crawling",
                    _BADGE_TEXT["crawling"],
                    f"the last {CRAWL_WINDOW} steps lowered f by {fmt(last)} "
                    f"({fmt(100 * last / total, 2)} % of the drop so far)",
                )
            )
    order = {kind: n for n, kind in enumerate(BADGES)}
    return sorted(out, key=lambda b: order[b.kind])


def _near_saddle(traj: Any, k: int, i: int, loss: Any) -> float | None:
    """The negative smallest Hessian eigenvalue at row i if θᵢ is near a saddle, else None."""
    if loss is None or not hasattr(loss, "hess"):
        return None
    theta = traj.positions[i, k]
    try:
        with np.errstate(all="ignore"):
            h = np.asarray(loss.hess(theta), dtype=float)
            g = np.asarray(loss.grad(theta), dtype=float)
    except (ArithmeticError, ValueError, TypeError):
        return None  # a badge is not worth an error
    if h.shape != (traj.dim, traj.dim) or not (np.isfinite(h).all() and np.isfinite(g).all()):
        return None
    lam, q = np.linalg.eigh(h)
    if lam[0] >= -1e-6 or np.any(np.abs(lam) < 1e-12):
        return None
    newton = q @ ((q.T @ g) / lam)  # H⁻¹g through the eigen-decomposition
    if np.linalg.norm(newton) >= 0.05 * (1.0 + np.linalg.norm(theta)):
        return None
    return float(lam[0])
