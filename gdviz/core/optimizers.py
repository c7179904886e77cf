"""Every classic optimizer, vectorised over runs.

:data:`OPTIMIZERS` is the one registry: each :class:`OptimizerSpec` gives a
name, a label, its hyper-parameters (defaults and valid ranges), its update rule
in LaTeX and a docstring stating the rule. It feeds the window's combo boxes,
the command line, session files and the tests.

Update rules, hyper-parameter names and defaults follow PyTorch's documented
``torch.optim`` algorithms (``SGD``, ``Adagrad``, ``RMSprop``, ``Adadelta``,
``Adam``, ``AdamW``, ``Adamax``, ``NAdam``), and the arithmetic is done in the
same order as torch's single-tensor implementation, so a float64 run matches
torch number for number. ``betas`` are split into ``beta1`` and ``beta2``.

An :class:`Optimizer` steps a *group* of K runs that share one optimizer: its
hyper-parameters are arrays of shape ``(K, 1)`` and its state arrays have
shape ``(K, d)``, so one call advances every run of the group. Settings that
change the algorithm's branches (``amsgrad``, ``centered``, …) are the same for
the whole group (the engine groups runs by :meth:`OptimizerSpec.group_key`).

Step numbers ``t`` passed to :meth:`Optimizer.step` count from 1 for the first
update, as torch's ``state["step"]`` does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from gdviz.core.specs import HyperParam, SpecError, resolve_params

__all__ = ["OPTIMIZERS", "HyperParam", "Optimizer", "OptimizerSpec", "SpecError"]

Array = np.ndarray


# --------------------------------------------------------------------------- helpers


def _lerp(a: Array, b: Array, w: Array, low: bool | None) -> Array:
    """``torch.lerp(a, b, w)`` in place on ``a``.

    torch computes ``a + w·(b − a)`` for ``w < 0.5`` and ``b − (b − a)·(1 − w)``
    otherwise; ``low`` says which branch holds for the whole group (None: mixed).
    """
    diff = b - a
    if low is True:
        diff *= w
        a += diff
    elif low is False:
        a[...] = b - diff * (1.0 - w)
    else:
        a[...] = np.where(w < 0.5, a + w * diff, b - diff * (1.0 - w))
    return a


def _uniform(a: Array | float) -> Array | float:
    """A group's hyper-parameter as a float when every run has the same value.

    Arithmetic with a Python float is several times cheaper than broadcasting a
    ``(K, 1)`` array on small arrays, and gives the same float64 numbers.
    """
    if not isinstance(a, np.ndarray):
        return a
    flat = a.ravel()
    return float(flat[0]) if flat.size and np.all(flat == flat[0]) else a


def _branch(w: Array) -> bool | None:
    if np.all(w < 0.5):
        return True
    if np.all(w >= 0.5):
        return False
    return None


class Optimizer:
    """A group of K runs of one optimizer.

    Parameters
    ----------
    hp
        Every hyper-parameter: floats as arrays of shape ``(K, 1)``, booleans
        (the same for the group) as Python bools.
    k, d
        Number of runs and dimensions.

    Subclasses implement :meth:`step`; :meth:`derive` computes the values a
    teacher wants to see (bias-corrected moments, effective step sizes) from
    the recorded state after a chunk of steps, so the per-step loop stays lean.
    """

    #: State arrays, each ``(K, d)``, recorded every step.
    state_names: ClassVar[tuple[str, ...]] = ()
    #: Values computed by :meth:`derive` after a chunk.
    derived_names: ClassVar[tuple[str, ...]] = ("effective_lr",)
    needs_hess: ClassVar[bool] = False

    def __init__(self, hp: Mapping[str, Array | bool], k: int, d: int) -> None:
        self.hp = {n: v if isinstance(v, bool) else _uniform(v) for n, v in hp.items()}
        self.k, self.d = k, d
        wd = self.hp.get("weight_decay")
        self.weight_decay = wd if wd is not None and np.any(np.asarray(wd) != 0) else None

    def init_state(self, params: Array) -> dict[str, Array]:
        """Fresh state for runs starting at ``params`` ``(K, d)``."""
        return {name: np.zeros_like(params) for name in self.state_names}

    def _decay(self, params: Array, grad: Array) -> Array:
        # torch: grad = grad.add(param, alpha=weight_decay)
        if self.weight_decay is None:
            return grad
        return grad + self.weight_decay * params

    def step(
        self,
        params: Array,
        grad: Array,
        state: dict[str, Array],
        lr: Array,
        t: int,
        hess: Array | None = None,
    ) -> Array:
        """Advance the group's state in place; return the update ``Δθ`` (K, d).

        The new parameters are ``params + Δθ``. ``lr`` is an array of shape
        ``(K, 1)``, or a float when the whole group shares one rate; ``t`` is
        the 1-based number of this update; ``hess`` ``(K, d, d)`` is given to
        optimizers with :attr:`needs_hess`. ``params`` and ``grad`` are not
        modified.
        """
        raise NotImplementedError

    def derive(
        self,
        state: Mapping[str, Array],
        lrs: Array,
        t: Array,
        grads: Array,
        positions: Array,
    ) -> dict[str, Array]:
        """Teaching values for a chunk: arrays ``(n, K, d)`` from recorded rows.

        ``state`` holds the recorded state rows ``(n, K, d)``, ``lrs`` the rates
        ``(n, K, 1)``, ``t`` the 1-based update numbers ``(n, 1, 1)``, ``grads``
        and ``positions`` ``(n, K, d)``.
        """
        return {"effective_lr": np.broadcast_to(lrs, grads.shape).copy()}


# --------------------------------------------------------------------------- SGD family


class SGD(Optimizer):
    r"""Stochastic gradient descent as ``torch.optim.SGD`` (on exact gradients).

    With weight decay λ, momentum μ, dampening τ and learning rate γ::

        g ← ∇f(θ) + λθ
        b ← g                      (first step)
        b ← μ b + (1 − τ) g        (later steps)
        g ← g + μ b  (nesterov)    or   g ← b
        θ ← θ − γ g

    Without momentum (μ = 0) this is plain gradient descent ``θ ← θ − γ g``.
    """

    derived_names = ("effective_lr",)

    def __init__(self, hp, k, d, *, use_momentum: bool, nesterov: bool) -> None:
        super().__init__(hp, k, d)
        self.use_momentum = use_momentum
        self.nesterov = nesterov
        if use_momentum:
            self.momentum = self.hp["momentum"]
            damp = hp.get("dampening", np.zeros((k, 1)))
            # torch skips the buffer entirely when momentum is 0, so dampening
            # must not scale the gradient of such a run.
            self.one_minus_damp = _uniform(1.0 - np.where(hp["momentum"] == 0, 0.0, damp))
            self.state_names = ("momentum_buffer",)

    def step(self, params, grad, state, lr, t, hess=None):
        g = self._decay(params, grad)
        if self.use_momentum:
            buf = state["momentum_buffer"]
            if t == 1:
                buf[...] = g
            else:
                buf *= self.momentum
                buf += self.one_minus_damp * g
            g = g + self.momentum * buf if self.nesterov else buf
        return -lr * g


# --------------------------------------------------------------------------- adaptive


class Adagrad(Optimizer):
    r"""``torch.optim.Adagrad``::

    g ← ∇f(θ) + λθ
    γ̃ ← γ / (1 + (t − 1)·lr_decay)
    s ← s + g²                 (s starts at initial_accumulator_value)
    θ ← θ − γ̃ g / (√s + ε)
    """

    state_names = ("sum",)

    def init_state(self, params):
        return {"sum": np.zeros_like(params) + self.hp["initial_accumulator_value"]}

    def step(self, params, grad, state, lr, t, hess=None):
        g = self._decay(params, grad)
        clr = lr / (1.0 + (t - 1) * self.hp["lr_decay"])
        s = state["sum"]
        s += g * g
        std = np.sqrt(s)
        std += self.hp["eps"]
        return -clr * g / std

    def derive(self, state, lrs, t, grads, positions):
        clr = lrs / (1.0 + (t - 1) * _uniform(self.hp["lr_decay"]))
        return {"effective_lr": clr / (np.sqrt(state["sum"]) + _uniform(self.hp["eps"]))}


class RMSprop(Optimizer):
    r"""``torch.optim.RMSprop``::

    g ← ∇f(θ) + λθ
    v ← α v + (1 − α) g²
    ṽ ← v − ḡ²  with  ḡ ← α ḡ + (1 − α) g   (centered)   or   ṽ ← v
    b ← μ b + g / (√ṽ + ε);  θ ← θ − γ b     (momentum μ > 0)
    θ ← θ − γ g / (√ṽ + ε)                    (μ = 0)
    """

    derived_names = ("effective_lr",)

    def __init__(self, hp, k, d, *, centered: bool, use_momentum: bool) -> None:
        super().__init__(hp, k, d)
        self.centered = centered
        self.use_momentum = use_momentum
        names = ["square_avg"]
        if centered:
            names.append("grad_avg")
        if use_momentum:
            names.append("momentum_buffer")
        self.state_names = tuple(names)
        self.alpha = self.hp["alpha"]
        self.one_minus_alpha = _uniform(1.0 - hp["alpha"])
        self._low = _branch(1.0 - hp["alpha"])

    def step(self, params, grad, state, lr, t, hess=None):
        g = self._decay(params, grad)
        v = state["square_avg"]
        v *= self.alpha
        v += self.one_minus_alpha * g * g
        if self.centered:
            ga = _lerp(state["grad_avg"], g, self.one_minus_alpha, self._low)
            avg = np.sqrt(v + -1.0 * ga * ga)
        else:
            avg = np.sqrt(v)
        avg += self.hp["eps"]
        if self.use_momentum:
            buf = state["momentum_buffer"]
            buf *= self.hp["momentum"]
            buf += g / avg
            return -lr * buf
        return -lr * g / avg

    def derive(self, state, lrs, t, grads, positions):
        v = state["square_avg"]
        if self.centered:
            v = v - state["grad_avg"] ** 2
        return {"effective_lr": lrs / (np.sqrt(v) + _uniform(self.hp["eps"]))}


class Adadelta(Optimizer):
    r"""``torch.optim.Adadelta``::

    g ← ∇f(θ) + λθ
    v ← ρ v + (1 − ρ) g²
    Δ ← √(u + ε) / √(v + ε) · g
    u ← ρ u + (1 − ρ) Δ²
    θ ← θ − γ Δ
    """

    state_names = ("square_avg", "acc_delta", "effective_lr")
    derived_names = ()

    def step(self, params, grad, state, lr, t, hess=None):
        g = self._decay(params, grad)
        rho, eps = self.hp["rho"], self.hp["eps"]
        v, u = state["square_avg"], state["acc_delta"]
        v *= rho
        v += (1.0 - rho) * g * g
        std = np.sqrt(v + eps)
        delta = np.sqrt(u + eps)
        delta /= std
        # The per-coordinate scale applied to g (before the learning rate).
        np.multiply(lr, delta, out=state["effective_lr"])
        delta *= g
        u *= rho
        u += (1.0 - rho) * delta * delta
        return -lr * delta

    def derive(self, state, lrs, t, grads, positions):
        return {}


class Adam(Optimizer):
    r"""``torch.optim.Adam`` (and ``AdamW`` with decoupled weight decay)::

    g ← ∇f(θ) + λθ                   (Adam)    θ ← θ − γλθ   (AdamW)
    m ← β₁ m + (1 − β₁) g
    v ← β₂ v + (1 − β₂) g²
    m̂ ← m / (1 − β₁ᵗ)
    v̂ ← v / (1 − β₂ᵗ)                (amsgrad: v_max ← max(v_max, v), v̂ ← v_max / (1 − β₂ᵗ))
    θ ← θ − γ m̂ / (√v̂ + ε)
    """

    derived_names = ("m_hat", "v_hat", "effective_lr")

    def __init__(self, hp, k, d, *, amsgrad: bool, decoupled: bool) -> None:
        super().__init__(hp, k, d)
        self.amsgrad = amsgrad
        self.decoupled = decoupled
        self.state_names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")[: 3 if amsgrad else 2]
        self.beta1, self.beta2 = self.hp["beta1"], self.hp["beta2"]
        self.one_minus_beta1 = _uniform(1.0 - hp["beta1"])
        self.one_minus_beta2 = _uniform(1.0 - hp["beta2"])
        self._low = _branch(1.0 - hp["beta1"])

    def step(self, params, grad, state, lr, t, hess=None):
        decay = None
        if self.weight_decay is not None:
            if self.decoupled:
                # torch: param.mul_(1 - lr * weight_decay) before the step.
                decay = params * (1.0 - lr * self.weight_decay) - params
                g = grad
            else:
                g = grad + self.weight_decay * params
        else:
            g = grad
        m = _lerp(state["exp_avg"], g, self.one_minus_beta1, self._low)
        v = state["exp_avg_sq"]
        v *= self.beta2
        v += self.one_minus_beta2 * g * g
        bc1 = 1.0 - self.beta1**t
        bc2_sqrt = (1.0 - self.beta2**t) ** 0.5
        if self.amsgrad:
            vmax = state["max_exp_avg_sq"]
            np.maximum(vmax, v, out=vmax)
            v = vmax
        denom = np.sqrt(v)
        denom /= bc2_sqrt
        denom += self.hp["eps"]
        update = -(lr / bc1) * m / denom
        if decay is not None:
            update += decay
        return update

    def derive(self, state, lrs, t, grads, positions):
        bc1 = 1.0 - _uniform(self.beta1) ** t
        bc2 = 1.0 - _uniform(self.beta2) ** t
        v = state["max_exp_avg_sq"] if self.amsgrad else state["exp_avg_sq"]
        eff = np.sqrt(v)
        eff /= np.sqrt(bc2)
        eff += _uniform(self.hp["eps"])
        np.divide(lrs, eff, out=eff)
        return {"m_hat": state["exp_avg"] / bc1, "v_hat": v / bc2, "effective_lr": eff}


class Adamax(Optimizer):
    r"""``torch.optim.Adamax``::

    g ← ∇f(θ) + λθ
    m ← β₁ m + (1 − β₁) g
    u ← max(β₂ u, |g| + ε)
    θ ← θ − γ m / ((1 − β₁ᵗ) u)
    """

    state_names = ("exp_avg", "exp_inf")
    derived_names = ("m_hat", "effective_lr")

    def __init__(self, hp, k, d) -> None:
        super().__init__(hp, k, d)
        self.beta1, self.beta2 = self.hp["beta1"], self.hp["beta2"]
        self.one_minus_beta1 = _uniform(1.0 - hp["beta1"])
        self._low = _branch(1.0 - hp["beta1"])

    def step(self, params, grad, state, lr, t, hess=None):
        g = self._decay(params, grad)
        m = _lerp(state["exp_avg"], g, self.one_minus_beta1, self._low)
        u = state["exp_inf"]
        u *= self.beta2
        np.maximum(u, np.abs(g) + self.hp["eps"], out=u)
        clr = lr / (1.0 - self.beta1**t)
        return -clr * m / u

    def derive(self, state, lrs, t, grads, positions):
        bc1 = 1.0 - _uniform(self.beta1) ** t
        return {"m_hat": state["exp_avg"] / bc1, "effective_lr": lrs / state["exp_inf"]}


class NAdam(Optimizer):
    r"""``torch.optim.NAdam`` (Adam with Nesterov momentum and momentum decay ψ)::

    g ← ∇f(θ) + λθ            (decoupled_weight_decay: θ ← θ − γλθ instead)
    μₜ ← β₁ (1 − ½ · 0.96^(tψ)),   μₜ₊₁ ← β₁ (1 − ½ · 0.96^((t+1)ψ))
    m ← β₁ m + (1 − β₁) g
    v ← β₂ v + (1 − β₂) g²
    m̂ ← μₜ₊₁ m / (1 − ∏ᵢ₌₁ᵗ⁺¹ μᵢ) + (1 − μₜ) g / (1 − ∏ᵢ₌₁ᵗ μᵢ)
    v̂ ← v / (1 − β₂ᵗ)
    θ ← θ − γ m̂ / (√v̂ + ε)
    """

    state_names = ("exp_avg", "exp_avg_sq", "mu_product")
    derived_names = ("m_hat", "v_hat", "effective_lr")

    def __init__(self, hp, k, d, *, decoupled: bool) -> None:
        super().__init__(hp, k, d)
        self.decoupled = decoupled
        self.beta1, self.beta2 = self.hp["beta1"], self.hp["beta2"]
        self.one_minus_beta1 = _uniform(1.0 - hp["beta1"])
        self.one_minus_beta2 = _uniform(1.0 - hp["beta2"])
        self._low = _branch(1.0 - hp["beta1"])
        # With β₁ and ψ shared, every run's ∏μ is the same number: the
        # coefficients can then be computed on floats.
        self._shared_mu = isinstance(self.beta1, float) and isinstance(
            self.hp["momentum_decay"], float
        )

    def init_state(self, params):
        state = super().init_state(params)
        state["mu_product"] += 1.0
        return state

    def _mu(self, t):
        b1, psi = self.beta1, self.hp["momentum_decay"]
        return b1 * (1.0 - 0.5 * 0.96 ** (t * psi)), b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))

    def step(self, params, grad, state, lr, t, hess=None):
        decay = None
        if self.weight_decay is not None:
            if self.decoupled:
                decay = params * (1.0 - lr * self.weight_decay) - params
                g = grad
            else:
                g = grad + self.weight_decay * params
        else:
            g = grad
        bc2 = 1.0 - self.beta2**t
        mu, mu_next = self._mu(t)
        prod = state["mu_product"]
        prod *= mu
        m = _lerp(state["exp_avg"], g, self.one_minus_beta1, self._low)
        v = state["exp_avg_sq"]
        v *= self.beta2
        v += self.one_minus_beta2 * g * g
        denom = np.sqrt(v / bc2)
        denom += self.hp["eps"]
        pf = float(prod.flat[0]) if self._shared_mu else prod
        # The two coefficients in torch's order of operations.
        c_grad = -lr * (1.0 - mu) / (1.0 - pf)
        c_avg = (-lr * mu_next) / (1.0 - pf * mu_next)
        update = c_grad * g / denom
        update += c_avg * m / denom
        if decay is not None:
            update += decay
        return update

    def derive(self, state, lrs, t, grads, positions):
        g = grads
        if self.weight_decay is not None and not self.decoupled:
            g = grads + self.weight_decay * positions
        mu, mu_next = self._mu(t)
        prod = state["mu_product"]
        m_hat = (1.0 - mu) / (1.0 - prod) * g
        m_hat += mu_next / (1.0 - prod * mu_next) * state["exp_avg"]
        bc2 = 1.0 - _uniform(self.beta2) ** t
        v_hat = state["exp_avg_sq"] / bc2
        return {
            "m_hat": m_hat,
            "v_hat": v_hat,
            "effective_lr": lrs / (np.sqrt(v_hat) + _uniform(self.hp["eps"])),
        }


# --------------------------------------------------------------------------- Newton


class Newton(Optimizer):
    r"""Damped Newton's method with the exact Hessian H::

        λ₁ ≤ … ≤ λ_d   eigenvalues of H (symmetric)
        μ ← max(0, δ − λ₁) + max(0, −λ₁)
        θ ← θ − γ (H + μI)⁻¹ ∇f(θ)

    The damping is Levenberg–Marquardt style, from the smallest eigenvalue λ₁:

    * H positive definite with λ₁ ≥ δ: μ = 0, the pure Newton step; on a
      positive-definite quadratic one step with γ = 1 lands on the minimum.
    * 0 ≤ λ₁ < δ (nearly singular): μ lifts the smallest eigenvalue to δ, so the
      step stays finite.
    * λ₁ < 0 (indefinite, a saddle or a maximum): μ = δ + 2|λ₁|, so the worst
      direction gets curvature δ + |λ₁| — the step goes *downhill* along it
      with the size the curvature suggests instead of towards the saddle.

    δ is the ``damping`` setting (default 1e-3). A Hessian that is not finite
    gives a non-finite step, which the engine reports as divergence.
    """

    state_names = ("hess_eigvals", "damping_mu")
    derived_names = ()
    needs_hess = True

    def step(self, params, grad, state, lr, t, hess=None):
        if hess is None:
            raise ValueError("Newton's method needs the Hessian")
        delta = self.hp["damping"]
        if self.k == 1 and self.d == 2 and not isinstance(delta, np.ndarray):
            return self._step_one(grad, state, lr, hess, delta)
        if self.d == 1:
            lam = hess[:, :, 0]
            mu = np.maximum(0.0, delta - lam) + np.maximum(0.0, -lam)
            step = grad / (lam + mu)
        elif self.d == 2:
            # Closed-form eigenvalues and inverse of a symmetric 2×2 matrix:
            # much cheaper than LAPACK calls on many tiny matrices.
            a, b, c = hess[:, 0, 0], hess[:, 0, 1], hess[:, 1, 1]
            mid = 0.5 * (a + c)
            rad = np.hypot(0.5 * (a - c), b)
            lam = np.stack([mid - rad, mid + rad], axis=-1)
            lam_min = lam[:, 0]
            mu = np.maximum(0.0, delta - lam_min) + np.maximum(0.0, -lam_min)
            am, cm = a + mu, c + mu
            det = am * cm - b * b
            g0, g1 = grad[:, 0], grad[:, 1]
            step = np.stack([(cm * g0 - b * g1) / det, (am * g1 - b * g0) / det], axis=-1)
            mu = mu[:, None]
        else:
            finite = np.isfinite(hess).all(axis=(-2, -1))
            if not finite.all():
                # eigh fails on nan; those runs get a nan step instead.
                hess = np.where(finite[:, None, None], hess, np.eye(self.d))
            lam, q = np.linalg.eigh(hess)
            lam_min = lam[:, :1]
            mu = np.maximum(0.0, delta - lam_min) + np.maximum(0.0, -lam_min)
            coef = np.matmul(np.swapaxes(q, -1, -2), grad[..., None])[..., 0]
            coef /= lam + mu
            step = np.matmul(q, coef[..., None])[..., 0]
            if not finite.all():
                step[~finite] = np.nan
                lam[~finite] = np.nan
        state["hess_eigvals"][...] = lam
        state["damping_mu"][...] = mu
        return -lr * step

    def _step_one(self, grad, state, lr, hess, delta):
        """The 2-D formula on Python floats for a single run (same numbers, less overhead)."""
        h = hess[0]
        a, b, c = float(h[0, 0]), float(h[0, 1]), float(h[1, 1])
        mid = 0.5 * (a + c)
        rad = float(np.hypot(0.5 * (a - c), b))
        lam_min = mid - rad
        mu = max(0.0, delta - lam_min) + max(0.0, -lam_min)
        am, cm = a + mu, c + mu
        det = am * cm - b * b
        g0, g1 = float(grad[0, 0]), float(grad[0, 1])
        if det == 0.0 or not math.isfinite(det):
            step = np.full((1, 2), np.nan)  # as the array formula gives (0/0 or inf/inf)
        else:
            step = np.array([[(cm * g0 - b * g1) / det, (am * g1 - b * g0) / det]])
        state["hess_eigvals"][0] = (lam_min, mid + rad)
        state["damping_mu"][0] = mu
        return -lr * step

    def derive(self, state, lrs, t, grads, positions):
        return {}


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class OptimizerSpec:
    """One entry of :data:`OPTIMIZERS`.

    Attributes
    ----------
    name
        Registry key (``"adam"``).
    label
        Human label (``"Adam"``).
    hyperparams
        Its settings with defaults and valid ranges, torch.optim's names.
    rule_latex
        The update rule in LaTeX.
    doc
        The update rule in plain text (the class docstring).
    reference
        The torch.optim call it reproduces, or ``""``.
    """

    name: str
    label: str
    hyperparams: tuple[HyperParam, ...]
    rule_latex: str
    doc: str
    reference: str
    factory: type[Optimizer]
    flags: tuple[str, ...] = ()

    @property
    def needs_hess(self) -> bool:
        return self.factory.needs_hess

    def defaults(self) -> dict[str, float | bool]:
        """Every hyper-parameter at its default."""
        return {hp.name: hp.default for hp in self.hyperparams}

    def hyperparam(self, name: str) -> HyperParam:
        for hp in self.hyperparams:
            if hp.name == name:
                return hp
        raise KeyError(name)

    def resolve(
        self, params: Mapping[str, object], *, fill_defaults: bool = True
    ) -> dict[str, float | bool]:
        """Check ``params`` (values may be text); fill in defaults unless told not to.

        Raises :class:`~gdviz.core.specs.SpecError` for an unknown key or a bad
        or out-of-range value.
        """
        full = resolve_params(self.name, self.hyperparams, params)
        if fill_defaults:
            return full
        return {hp.name: full[hp.name] for hp in self.hyperparams if hp.name in params}

    def group_key(self, params: Mapping[str, float | bool]) -> tuple:
        """Runs with equal keys share one vectorised :class:`Optimizer`."""
        key = [self.name, *(bool(params[f]) for f in self.flags)]
        if self.name == "rmsprop":
            key.append(params["momentum"] > 0)
        return tuple(key)

    def build(self, params: list[Mapping[str, float | bool]], d: int) -> Optimizer:
        """A vectorised optimizer for runs with these (resolved) settings."""
        k = len(params)
        hp: dict[str, Array | bool] = {}
        for h in self.hyperparams:
            if h.kind == "bool":
                hp[h.name] = bool(params[0][h.name])
            else:
                hp[h.name] = np.array([[float(p[h.name])] for p in params], dtype=np.float64)
        first = params[0]
        name = self.name
        if name in ("gd", "momentum", "nesterov"):
            return SGD(hp, k, d, use_momentum=name != "gd", nesterov=name == "nesterov")
        if name == "rmsprop":
            return RMSprop(
                hp, k, d, centered=bool(first["centered"]), use_momentum=first["momentum"] > 0
            )
        if name in ("adam", "adamw"):
            return Adam(hp, k, d, amsgrad=bool(first["amsgrad"]), decoupled=name == "adamw")
        if name == "nadam":
            return NAdam(hp, k, d, decoupled=bool(first["decoupled_weight_decay"]))
        return self.factory(hp, k, d)


def _lr(default: float) -> HyperParam:
    return HyperParam(
        "lr", default, 0.0, math.inf, "float", True, "learning rate", ui_low=1e-5, ui_high=10.0
    )


def _wd(default: float = 0.0) -> HyperParam:
    return HyperParam(
        "weight_decay", default, 0.0, math.inf, "float", False, "weight decay", ui_high=1.0
    )


def _eps(default: float) -> HyperParam:
    return HyperParam("eps", default, 0.0, math.inf, "float", True, "ε", ui_low=1e-12, ui_high=1.0)


def _beta(name: str, default: float, label: str) -> HyperParam:
    return HyperParam(name, default, 0.0, 1.0, "float", False, label, high_open=True)


_MOMENTUM = HyperParam("momentum", 0.9, 0.0, 1.0, "float", False, "momentum")
_DAMPENING = HyperParam("dampening", 0.0, 0.0, 1.0, "float", False, "dampening")

_SGD_RULE = (
    r"\theta_{t+1} = \theta_t - \gamma\, g_t,\quad g_t = \nabla f(\theta_t) + \lambda\theta_t"
)
_MOM_RULE = r"b_t = \mu b_{t-1} + (1-\tau) g_t,\quad \theta_{t+1} = \theta_t - \gamma b_t"
_NEST_RULE = r"b_t = \mu b_{t-1} + g_t,\quad \theta_{t+1} = \theta_t - \gamma\,(g_t + \mu b_t)"
_ADAGRAD_RULE = (
    r"s_t = s_{t-1} + g_t^2,\quad \theta_{t+1} = \theta_t - "
    r"\frac{\gamma}{1+(t-1)\eta}\,\frac{g_t}{\sqrt{s_t}+\epsilon}"
)
_RMS_RULE = (
    r"v_t = \alpha v_{t-1} + (1-\alpha) g_t^2,\quad "
    r"\theta_{t+1} = \theta_t - \gamma\,\frac{g_t}{\sqrt{v_t}+\epsilon}"
)
_ADADELTA_RULE = (
    r"v_t = \rho v_{t-1} + (1-\rho) g_t^2,\quad "
    r"\Delta_t = \frac{\sqrt{u_{t-1}+\epsilon}}{\sqrt{v_t+\epsilon}}\,g_t,\quad "
    r"u_t = \rho u_{t-1} + (1-\rho)\Delta_t^2,\quad \theta_{t+1} = \theta_t - \gamma\Delta_t"
)
_ADAM_RULE = (
    r"m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,"
    r"\quad \theta_{t+1} = \theta_t - "
    r"\gamma\,\frac{m_t/(1-\beta_1^t)}{\sqrt{v_t/(1-\beta_2^t)}+\epsilon}"
)
_ADAMW_RULE = r"\theta_t \leftarrow \theta_t - \gamma\lambda\theta_t,\quad " + _ADAM_RULE
_ADAMAX_RULE = (
    r"m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad u_t = \max(\beta_2 u_{t-1}, |g_t|+\epsilon),"
    r"\quad \theta_{t+1} = \theta_t - \frac{\gamma\, m_t}{(1-\beta_1^t)\,u_t}"
)
_NADAM_RULE = (
    r"\mu_t = \beta_1\left(1 - \tfrac12\,0.96^{t\psi}\right),\quad "
    r"\hat m_t = \frac{\mu_{t+1} m_t}{1-\prod_{i=1}^{t+1}\mu_i} + "
    r"\frac{(1-\mu_t) g_t}{1-\prod_{i=1}^{t}\mu_i},\quad "
    r"\theta_{t+1} = \theta_t - \gamma\,\frac{\hat m_t}{\sqrt{v_t/(1-\beta_2^t)}+\epsilon}"
)
_NEWTON_RULE = (
    r"\theta_{t+1} = \theta_t - \gamma\,(H + \mu I)^{-1}\nabla f(\theta_t),\quad "
    r"\mu = \max(0, \delta - \lambda_{\min}) + \max(0, -\lambda_{\min})"
)


def _spec(name, label, hps, rule, factory, reference, flags=(), doc=None) -> OptimizerSpec:
    return OptimizerSpec(
        name=name,
        label=label,
        hyperparams=tuple(hps),
        rule_latex=rule,
        doc=doc or (factory.__doc__ or "").strip(),
        reference=reference,
        factory=factory,
        flags=tuple(flags),
    )


#: Every optimizer by name, in the order menus list them.
OPTIMIZERS: dict[str, OptimizerSpec] = {
    s.name: s
    for s in (
        _spec(
            "gd",
            "Gradient descent",
            (_lr(1e-3), _wd()),
            _SGD_RULE,
            SGD,
            "torch.optim.SGD(momentum=0)",
            doc="Plain gradient descent, torch.optim.SGD without momentum::\n\n"
            "    g ← ∇f(θ) + λθ\n    θ ← θ − γ g",
        ),
        _spec(
            "momentum",
            "Momentum (heavy ball)",
            (_lr(1e-3), _MOMENTUM, _DAMPENING, _wd()),
            _MOM_RULE,
            SGD,
            "torch.optim.SGD(momentum=0.9)",
            doc="Heavy-ball momentum, torch.optim.SGD(momentum=μ, dampening=τ)::\n\n"
            "    g ← ∇f(θ) + λθ\n    b ← g (first step),  b ← μ b + (1 − τ) g (later)\n"
            "    θ ← θ − γ b",
        ),
        _spec(
            "nesterov",
            "Nesterov momentum",
            (
                _lr(1e-3),
                HyperParam("momentum", 0.9, 0.0, 1.0, "float", False, "momentum", low_open=True),
                _wd(),
            ),
            _NEST_RULE,
            SGD,
            "torch.optim.SGD(momentum=0.9, nesterov=True)",
            doc="Nesterov momentum, torch.optim.SGD(momentum=μ, nesterov=True)::\n\n"
            "    g ← ∇f(θ) + λθ\n    b ← g (first step),  b ← μ b + g (later)\n"
            "    θ ← θ − γ (g + μ b)",
        ),
        _spec(
            "adagrad",
            "AdaGrad",
            (
                _lr(1e-2),
                HyperParam("lr_decay", 0.0, 0.0, math.inf, "float", False, "lr decay", ui_high=1.0),
                _wd(),
                HyperParam(
                    "initial_accumulator_value",
                    0.0,
                    0.0,
                    math.inf,
                    "float",
                    False,
                    "initial accumulator",
                    ui_high=1.0,
                ),
                _eps(1e-10),
            ),
            _ADAGRAD_RULE,
            Adagrad,
            "torch.optim.Adagrad",
        ),
        _spec(
            "rmsprop",
            "RMSProp",
            (
                _lr(1e-2),
                HyperParam("alpha", 0.99, 0.0, 1.0, "float", False, "smoothing α"),
                _eps(1e-8),
                _wd(),
                HyperParam("momentum", 0.0, 0.0, 1.0, "float", False, "momentum"),
                HyperParam("centered", False, kind="bool", label="centered"),
            ),
            _RMS_RULE,
            RMSprop,
            "torch.optim.RMSprop",
            flags=("centered",),
        ),
        _spec(
            "adadelta",
            "Adadelta",
            (
                _lr(1.0),
                HyperParam("rho", 0.9, 0.0, 1.0, "float", False, "decay ρ"),
                _eps(1e-6),
                _wd(),
            ),
            _ADADELTA_RULE,
            Adadelta,
            "torch.optim.Adadelta",
        ),
        _spec(
            "adam",
            "Adam",
            (
                _lr(1e-3),
                _beta("beta1", 0.9, "β₁"),
                _beta("beta2", 0.999, "β₂"),
                _eps(1e-8),
                _wd(),
                HyperParam("amsgrad", False, kind="bool", label="AMSGrad"),
            ),
            _ADAM_RULE,
            Adam,
            "torch.optim.Adam",
            flags=("amsgrad",),
        ),
        _spec(
            "adamw",
            "AdamW",
            (
                _lr(1e-3),
                _beta("beta1", 0.9, "β₁"),
                _beta("beta2", 0.999, "β₂"),
                _eps(1e-8),
                _wd(1e-2),
                HyperParam("amsgrad", False, kind="bool", label="AMSGrad"),
            ),
            _ADAMW_RULE,
            Adam,
            "torch.optim.AdamW",
            flags=("amsgrad",),
        ),
        _spec(
            "adamax",
            "Adamax",
            (
                _lr(2e-3),
                _beta("beta1", 0.9, "β₁"),
                _beta("beta2", 0.999, "β₂"),
                _eps(1e-8),
                _wd(),
            ),
            _ADAMAX_RULE,
            Adamax,
            "torch.optim.Adamax",
        ),
        _spec(
            "nadam",
            "NAdam",
            (
                _lr(2e-3),
                _beta("beta1", 0.9, "β₁"),
                _beta("beta2", 0.999, "β₂"),
                _eps(1e-8),
                _wd(),
                HyperParam(
                    "momentum_decay",
                    4e-3,
                    0.0,
                    math.inf,
                    "float",
                    False,
                    "momentum decay ψ",
                    ui_high=0.1,
                ),
                HyperParam(
                    "decoupled_weight_decay", False, kind="bool", label="decoupled weight decay"
                ),
            ),
            _NADAM_RULE,
            NAdam,
            "torch.optim.NAdam",
            flags=("decoupled_weight_decay",),
        ),
        _spec(
            "newton",
            "Newton (damped)",
            (
                _lr(1.0),
                HyperParam(
                    "damping",
                    1e-3,
                    0.0,
                    math.inf,
                    "float",
                    True,
                    "damping δ",
                    low_open=True,
                    ui_low=1e-8,
                    ui_high=10.0,
                ),
            ),
            _NEWTON_RULE,
            Newton,
            "",
        ),
    )
}
