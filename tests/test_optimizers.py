"""Each optimizer against values worked out by hand on quadratics.

The expected numbers below come from the update rules written out on paper
(torch.optim's documented algorithms) for f(x) = x² (gradient 2x) or small
2-D quadratics, not from the code under test.
"""

import math

import numpy as np
import pytest

from gdviz.core.engine import RunConfig, StopRules, run
from gdviz.core.optimizers import OPTIMIZERS
from gdviz.core.specs import SpecError

EPS8 = 1e-8


class Quadratic:
    """f(p) = ½ pᵀ A p + bᵀ p, written out by hand (no SymPy)."""

    def __init__(self, a, b=None):
        self.a = np.atleast_2d(np.asarray(a, dtype=float))
        self.dim = self.a.shape[0]
        self.b = np.zeros(self.dim) if b is None else np.asarray(b, dtype=float)
        self.variables = ("x", "y")[: self.dim]
        self.hess_calls = 0

    def value(self, p):
        p = np.asarray(p, dtype=float)
        return 0.5 * np.einsum("...i,ij,...j->...", p, self.a, p) + p @ self.b

    def grad(self, p):
        return np.asarray(p, dtype=float) @ self.a.T + self.b

    def hess(self, p):
        self.hess_calls += 1
        p = np.asarray(p, dtype=float)
        return np.broadcast_to(self.a, (*p.shape[:-1], self.dim, self.dim)).copy()


SQUARE = Quadratic([[2.0]])  # f(x) = x², f'(x) = 2x


def xs(name, params, start=(1.0,), steps=3, loss=SQUARE):
    traj = run(loss, [RunConfig(name, params, start)], steps, StopRules(steps, grad_tol=None))
    return traj.positions[:, 0, 0] if len(start) == 1 else traj.positions[:, 0]


# --------------------------------------------------------------------------- registry


def test_registry_names_and_entries():
    assert list(OPTIMIZERS) == [
        "gd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta",
        "adam", "adamw", "adamax", "nadam", "newton",
    ]  # fmt: skip
    for name, spec in OPTIMIZERS.items():
        assert spec.name == name
        assert spec.label and spec.rule_latex and "θ" in spec.doc
        assert spec.hyperparams[0].name == "lr"
        for hp in spec.hyperparams:
            # Every default lies in its own valid range.
            assert hp.check(hp.default) == hp.default
            assert hp.label


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gd", {"lr": 1e-3, "weight_decay": 0.0}),
        ("momentum", {"lr": 1e-3, "momentum": 0.9, "dampening": 0.0}),
        ("nesterov", {"momentum": 0.9}),
        ("adagrad", {"lr": 1e-2, "lr_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10}),
        ("rmsprop", {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "momentum": 0.0, "centered": False}),
        ("adadelta", {"lr": 1.0, "rho": 0.9, "eps": 1e-6}),
        ("adam", {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "amsgrad": False}),
        ("adamw", {"lr": 1e-3, "weight_decay": 1e-2}),
        ("adamax", {"lr": 2e-3, "beta1": 0.9, "beta2": 0.999}),
        ("nadam", {"lr": 2e-3, "momentum_decay": 4e-3, "decoupled_weight_decay": False}),
        ("newton", {"lr": 1.0}),
    ],
)
def test_defaults_are_torchs(name, expected):
    defaults = OPTIMIZERS[name].defaults()
    for key, value in expected.items():
        assert defaults[key] == value


def test_resolve_rejects_unknown_keys_and_out_of_range_values():
    adam = OPTIMIZERS["adam"]
    with pytest.raises(SpecError, match=r"no setting 'betas1'.*did you mean beta1"):
        adam.resolve({"betas1": 0.5})
    with pytest.raises(SpecError, match=r"beta1=1 is out of range: must be \[0, 1\)"):
        adam.resolve({"beta1": 1.0})
    with pytest.raises(SpecError, match=r"lr=-0\.1 is out of range"):
        adam.resolve({"lr": -0.1})
    with pytest.raises(SpecError, match="amsgrad must be true or false"):
        adam.resolve({"amsgrad": "yes"})
    with pytest.raises(SpecError, match="finite"):
        adam.resolve({"lr": float("nan")})
    with pytest.raises(SpecError, match="momentum=0 is out of range"):
        OPTIMIZERS["nesterov"].resolve({"momentum": 0})
    with pytest.raises(SpecError, match="damping=0 is out of range"):
        OPTIMIZERS["newton"].resolve({"damping": 0})
    assert adam.resolve({"lr": "0.05", "amsgrad": "true"})["amsgrad"] is True


# --------------------------------------------------------------------------- SGD family


def test_gd_by_hand():
    np.testing.assert_allclose(xs("gd", {"lr": 0.1}), [1.0, 0.8, 0.64, 0.512], rtol=1e-15)
    # weight decay λ = 0.5: g = 2x + 0.5x.
    np.testing.assert_allclose(xs("gd", {"lr": 0.1, "weight_decay": 0.5}, steps=1), [1.0, 0.75])


def test_momentum_by_hand():
    # b = 2 → x=0.8; b = 0.9·2 + 1.6 = 3.4 → x=0.46; b = 0.9·3.4 + 0.92 = 3.98 → x=0.062
    np.testing.assert_allclose(
        xs("momentum", {"lr": 0.1, "momentum": 0.9}), [1.0, 0.8, 0.46, 0.062], rtol=1e-13
    )
    # dampening 0.5 scales the new gradient after the first step: b = 1.8 + 0.8 = 2.6
    np.testing.assert_allclose(
        xs("momentum", {"lr": 0.1, "momentum": 0.9, "dampening": 0.5}, steps=2),
        [1.0, 0.8, 0.54],
        rtol=1e-13,
    )
    # momentum 0 is plain gradient descent whatever the dampening (torch skips the buffer)
    np.testing.assert_allclose(
        xs("momentum", {"lr": 0.1, "momentum": 0.0, "dampening": 0.5}), [1.0, 0.8, 0.64, 0.512]
    )


def test_nesterov_by_hand():
    # b=2, step g + μb = 3.8 → 0.62; g=1.24, b = 1.8 + 1.24 = 3.04, step 1.24 + 2.736 → 0.2224
    np.testing.assert_allclose(
        xs("nesterov", {"lr": 0.1, "momentum": 0.9}, steps=2), [1.0, 0.62, 0.2224], rtol=1e-13
    )


# --------------------------------------------------------------------------- adaptive


def test_adagrad_by_hand():
    x1 = 1 - 0.1 * 2 / (math.sqrt(4) + 1e-10)
    x2 = x1 - 0.1 * (2 * x1) / (math.sqrt(4 + (2 * x1) ** 2) + 1e-10)
    np.testing.assert_allclose(xs("adagrad", {"lr": 0.1}, steps=2), [1, x1, x2], rtol=1e-14)
    # lr_decay: the second step uses lr / (1 + 1·0.5); the accumulator starts at 1.
    p = {"lr": 0.1, "lr_decay": 0.5, "initial_accumulator_value": 1.0}
    y1 = 1 - 0.1 * 2 / (math.sqrt(1 + 4) + 1e-10)
    y2 = y1 - (0.1 / 1.5) * (2 * y1) / (math.sqrt(5 + (2 * y1) ** 2) + 1e-10)
    np.testing.assert_allclose(xs("adagrad", p, steps=2), [1, y1, y2], rtol=1e-14)


def test_rmsprop_by_hand():
    v1 = 0.01 * 4
    x1 = 1 - 0.01 * 2 / (math.sqrt(v1) + EPS8)
    v2 = 0.99 * v1 + 0.01 * (2 * x1) ** 2
    x2 = x1 - 0.01 * (2 * x1) / (math.sqrt(v2) + EPS8)
    np.testing.assert_allclose(xs("rmsprop", {"lr": 0.01}, steps=2), [1, x1, x2], rtol=1e-14)
    # centered: subtract the squared running mean of g
    c1 = 1 - 0.01 * 2 / (math.sqrt(0.04 - 0.02**2) + EPS8)
    np.testing.assert_allclose(xs("rmsprop", {"lr": 0.01, "centered": True}, steps=1), [1, c1])
    # momentum 0.5: b = g/(√v+ε), then b = 0.5 b + g/(√v+ε)
    b1 = 2 / (math.sqrt(v1) + EPS8)
    m1 = 1 - 0.01 * b1
    b2 = 0.5 * b1 + (2 * m1) / (math.sqrt(0.99 * v1 + 0.01 * (2 * m1) ** 2) + EPS8)
    np.testing.assert_allclose(
        xs("rmsprop", {"lr": 0.01, "momentum": 0.5}, steps=2), [1, m1, m1 - 0.01 * b2], rtol=1e-14
    )


def test_adadelta_by_hand():
    eps = 1e-6
    v1 = 0.1 * 4
    d1 = math.sqrt(0 + eps) / math.sqrt(v1 + eps) * 2
    u1 = 0.1 * d1**2
    x1 = 1 - d1
    g1 = 2 * x1
    v2 = 0.9 * v1 + 0.1 * g1**2
    d2 = math.sqrt(u1 + eps) / math.sqrt(v2 + eps) * g1
    np.testing.assert_allclose(xs("adadelta", {}, steps=2), [1, x1, x1 - d2], rtol=1e-13)


def adam_by_hand(lr, x0, steps, *, wd=0.0, decoupled=False, amsgrad=False):
    b1, b2 = 0.9, 0.999
    m = v = vmax = 0.0
    x = x0
    out = [x]
    for t in range(1, steps + 1):
        g = 2 * x
        if decoupled:
            x = x * (1 - lr * wd)
        else:
            g = g + wd * x
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = max(vmax, v)
        vv = vmax if amsgrad else v
        x = x - lr * (m / (1 - b1**t)) / (math.sqrt(vv / (1 - b2**t)) + EPS8)
        out.append(x)
    return out


def test_adam_first_step_is_lr_times_sign():
    # m̂ = g and v̂ = g² after one step: the first move is lr (up to ε).
    np.testing.assert_allclose(xs("adam", {"lr": 0.1}, steps=1), [1.0, 0.9], rtol=1e-8)


def test_adam_by_hand():
    np.testing.assert_allclose(
        xs("adam", {"lr": 0.1}, steps=4), adam_by_hand(0.1, 1, 4), rtol=1e-13
    )
    np.testing.assert_allclose(
        xs("adam", {"lr": 0.1, "weight_decay": 0.5}, steps=3),
        adam_by_hand(0.1, 1, 3, wd=0.5),
        rtol=1e-13,
    )


def test_amsgrad_keeps_the_largest_second_moment():
    # lr 0.97 from 1: x1 = 0.03, g1 = 0.06, so v2 = 0.999·0.004 + 0.001·0.0036 < v1.
    p = {"lr": 0.97, "amsgrad": True}
    ams = xs("adam", p, steps=2)
    plain = xs("adam", {"lr": 0.97}, steps=2)
    np.testing.assert_allclose(ams, adam_by_hand(0.97, 1, 2, amsgrad=True), rtol=1e-12)
    np.testing.assert_allclose(plain, adam_by_hand(0.97, 1, 2), rtol=1e-12)
    assert ams[2] != plain[2]


def test_adamw_decays_the_weights_directly():
    # θ ← θ(1 − lr·λ) = 0.95, then the Adam step of size lr: 0.85
    np.testing.assert_allclose(xs("adamw", {"lr": 0.1, "weight_decay": 0.5}, steps=1), [1, 0.85])
    np.testing.assert_allclose(
        xs("adamw", {"lr": 0.1, "weight_decay": 0.5}, steps=3),
        adam_by_hand(0.1, 1, 3, wd=0.5, decoupled=True),
        rtol=1e-13,
    )


def test_adamax_by_hand():
    u1 = 2 + EPS8
    x1 = 1 - (0.1 / 0.1) * 0.2 / u1
    m2 = 0.9 * 0.2 + 0.1 * 2 * x1
    u2 = max(0.999 * u1, abs(2 * x1) + EPS8)
    x2 = x1 - (0.1 / (1 - 0.9**2)) * m2 / u2
    np.testing.assert_allclose(xs("adamax", {"lr": 0.1}, steps=2), [1, x1, x2], rtol=1e-14)


def test_nadam_by_hand():
    b1, b2, psi, lr = 0.9, 0.999, 0.004, 0.1

    def mu(t):
        return b1 * (1 - 0.5 * 0.96 ** (t * psi))

    x, m, v, prod, out = 1.0, 0.0, 0.0, 1.0, [1.0]
    for t in (1, 2, 3):
        g = 2 * x
        prod *= mu(t)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom = math.sqrt(v / (1 - b2**t)) + EPS8
        m_hat = mu(t + 1) * m / (1 - prod * mu(t + 1)) + (1 - mu(t)) * g / (1 - prod)
        x = x - lr * m_hat / denom
        out.append(x)
    np.testing.assert_allclose(xs("nadam", {"lr": lr}, steps=3), out, rtol=1e-13)
    # The recorded m̂ and step size give the update: Δθ = −(γ/(√v̂ + ε))·m̂.
    traj = run(SQUARE, [RunConfig("nadam", {"lr": lr, "weight_decay": 0.1}, (1.0,))], 5)
    s = traj.state
    m_hat0 = mu(2) * 0.1 * 2.1 / (1 - mu(1) * mu(2)) + (1 - mu(1)) * 2.1 / (1 - mu(1))
    assert s["m_hat"][0, 0, 0] == pytest.approx(m_hat0, rel=1e-14)
    np.testing.assert_allclose(
        traj.updates[:5, 0], -s["effective_lr"][:5, 0] * s["m_hat"][:5, 0], rtol=1e-12
    )


# --------------------------------------------------------------------------- Newton


def test_newton_lands_on_the_minimum_of_a_positive_definite_quadratic():
    loss = Quadratic([[2.0, 1.0], [1.0, 4.0]], b=[1.0, -2.0])
    x_star = np.linalg.solve(loss.a, -loss.b)
    path = xs("newton", {}, start=(3.0, -5.0), steps=1, loss=loss)
    np.testing.assert_allclose(path[1], x_star, atol=1e-14)


def test_newton_half_step_with_lr_half():
    path = xs("newton", {"lr": 0.5}, steps=1)
    np.testing.assert_allclose(path, [1.0, 0.5])


def test_newton_at_a_saddle_goes_downhill():
    # f = x² − y² at (1, 0.1): λ = −2, 2, so μ = (δ + 2) + 2 and H + μI = diag(6+δ, 2+δ).
    loss = Quadratic([[2.0, 0.0], [0.0, -2.0]])
    d = 1e-3
    path = xs("newton", {}, start=(1.0, 0.1), steps=1, loss=loss)
    np.testing.assert_allclose(path[1], [1 - 2 / (6 + d), 0.1 + 0.2 / (2 + d)], rtol=1e-14)
    assert loss.value(path[1]) < loss.value(path[0])


def test_newton_on_a_singular_hessian_stays_finite():
    # f = (x + y)²: H = [[2, 2], [2, 2]] is singular; the minimum is the line x = −y.
    loss = Quadratic([[2.0, 2.0], [2.0, 2.0]])
    path = xs("newton", {}, start=(1.0, 2.0), steps=1, loss=loss)
    assert np.isfinite(path).all()
    assert abs(path[1].sum()) < 1e-3 * 3  # (x+y) shrinks by δ/(4+δ)
    # A linear direction (f = x² + y): H = diag(2, 0), so μ = δ and H + μI = diag(2+δ, δ).
    lin = Quadratic([[2.0, 0.0], [0.0, 0.0]], b=[0.0, 1.0])
    path = xs("newton", {"damping": 0.5}, start=(1.0, 0.0), steps=1, loss=lin)
    np.testing.assert_allclose(path[1], [1 - 2 / 2.5, -1 / 0.5])


def test_hessian_is_only_computed_when_newton_runs():
    loss = Quadratic([[2.0, 0.0], [0.0, 6.0]])
    run(loss, [RunConfig("adam", {}, (1.0, 1.0))], 5)
    assert loss.hess_calls == 0
    run(loss, [RunConfig("adam", {}, (1.0, 1.0)), RunConfig("newton", {}, (1.0, 1.0))], 5)
    assert loss.hess_calls > 0


# --------------------------------------------------------------------------- every optimizer


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("dim", [1, 2, 3])
def test_every_optimizer_descends_in_1d_and_2d(name, dim):
    # Written for d dimensions: 3 works too (the app uses 1 and 2).
    loss = Quadratic(np.diag([2.0, 6.0, 1.0][:dim]))
    lr = {"adadelta": 1.0, "newton": 1.0}.get(name, 0.05)
    start = (1.0, -1.0, 2.0)[:dim]
    traj = run(loss, [RunConfig(name, {"lr": lr}, start)], 200, StopRules(200, grad_tol=1e-10))
    assert traj.status[0] in ("converged", "max_steps")
    assert np.isfinite(traj.positions).all()
    assert traj.losses[-1, 0] < 0.5 * traj.losses[0, 0]


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_vectorised_group_equals_runs_alone(name):
    # Different hyper-parameters and starts in one group give each run's own numbers.
    loss = Quadratic([[2.0, 0.5], [0.5, 1.0]])
    configs = [
        RunConfig(name, {"lr": lr}, start)
        for lr, start in ((0.05, (1.0, 1.0)), (0.02, (-2.0, 0.5)), (0.1, (0.3, -1.0)))
    ]
    together = run(loss, configs, 30, StopRules(30, grad_tol=None))
    for k, cfg in enumerate(configs):
        alone = run(loss, [cfg], 30, StopRules(30, grad_tol=None))
        np.testing.assert_allclose(together.positions[:, k], alone.positions[:, 0], rtol=1e-12)
        for key, arr in alone.state.items():
            np.testing.assert_allclose(together.state[key][:, k], arr[:, 0], rtol=1e-12)


@pytest.mark.parametrize("name", ["adam", "adamax", "nadam", "rmsprop"])
def test_moment_averages_follow_both_lerp_branches(name):
    # torch.lerp switches formula at weight 0.5; a group may mix runs on both sides.
    key = "alpha" if name == "rmsprop" else "beta1"
    params = [{"lr": 0.05, key: 0.3}, {"lr": 0.05, key: 0.9}]
    if name == "rmsprop":
        params = [dict(p, centered=True) for p in params]
    loss = Quadratic([[2.0, 0.5], [0.5, 1.0]])
    configs = [RunConfig(name, p, (1.0, -1.0)) for p in params]
    together = run(loss, configs, 20, StopRules(20, grad_tol=None))
    for k, cfg in enumerate(configs):
        alone = run(loss, [cfg], 20, StopRules(20, grad_tol=None))
        np.testing.assert_allclose(together.positions[:, k], alone.positions[:, 0], rtol=1e-13)
    # By hand for the first average: m₁ = (1 − β₁)·g₀ either way.
    if name != "rmsprop":
        g0 = loss.grad(np.array([1.0, -1.0]))
        np.testing.assert_allclose(together.state["exp_avg"][0, 0], 0.7 * g0, rtol=1e-15)
        np.testing.assert_allclose(together.state["exp_avg"][0, 1], 0.1 * g0, rtol=1e-14)
