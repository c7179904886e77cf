"""Number-for-number agreement with torch.optim and torch.optim.lr_scheduler.

Optional: skipped where PyTorch is not installed (as in CI). The hand-worked
tests in test_optimizers.py and test_schedules.py stand on their own; this
checks the same rules against the reference implementation over many steps.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gdviz.core.engine import RunConfig, StopRules, run  # noqa: E402
from gdviz.core.schedules import parse_schedule  # noqa: E402

STEPS = 50
START = (-1.5, 2.0)


class Rosenbrock:
    """(1 − x)² + 100 (y − x²)², written out by hand."""

    dim, variables = 2, ("x", "y")

    def value(self, p):
        x, y = p[..., 0], p[..., 1]
        return (1 - x) ** 2 + 100 * (y - x**2) ** 2

    def grad(self, p):
        x, y = p[..., 0], p[..., 1]
        return np.stack([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)], axis=-1)

    def hess(self, p):  # pragma: no cover - no Newton here
        raise AssertionError


def torch_path(cls, kwargs, steps=STEPS, scheduler=None):
    p = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    opt = cls([p], **kwargs)
    sched = scheduler(opt) if scheduler else None
    out, lrs = [p.detach().clone().numpy()], []
    for _ in range(steps):
        opt.zero_grad()
        x, y = p[0], p[1]
        ((1 - x) ** 2 + 100 * (y - x**2) ** 2).backward()
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if sched:
            sched.step()
        out.append(p.detach().clone().numpy())
    return np.array(out), np.array(lrs)


def ours(name, params, steps=STEPS, schedule=None):
    cfg = RunConfig(name, params, START, parse_schedule(schedule or "constant"))
    traj = run(Rosenbrock(), [cfg], steps, StopRules(steps, grad_tol=None, bound=1e300))
    return traj.positions[:, 0], traj.lrs[:steps, 0]


O = torch.optim
CASES = [
    ("gd", O.SGD, {"lr": 1e-3}, {}),
    ("gd", O.SGD, {"lr": 1e-3, "weight_decay": 0.1}, {}),
    ("momentum", O.SGD, {"lr": 1e-3, "momentum": 0.9}, {}),
    ("momentum", O.SGD, {"lr": 5e-4, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01}, {}),
    ("nesterov", O.SGD, {"lr": 1e-3, "momentum": 0.9}, {"nesterov": True}),
    ("adagrad", O.Adagrad, {"lr": 0.1}, {}),
    (
        "adagrad",
        O.Adagrad,
        {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.5, "weight_decay": 0.1},
        {},
    ),
    ("rmsprop", O.RMSprop, {"lr": 0.01}, {}),
    ("rmsprop", O.RMSprop, {"lr": 0.003, "alpha": 0.9, "centered": True}, {}),
    ("rmsprop", O.RMSprop, {"lr": 0.005, "momentum": 0.5, "weight_decay": 0.1}, {}),
    ("adadelta", O.Adadelta, {"lr": 1.0}, {}),
    ("adadelta", O.Adadelta, {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.1}, {}),
    ("adam", O.Adam, {"lr": 0.01}, {}),
    ("adam", O.Adam, {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}, {}),
    ("adamw", O.AdamW, {"lr": 0.01}, {}),
    ("adamw", O.AdamW, {"lr": 0.01, "weight_decay": 0.3, "amsgrad": True}, {}),
    ("adamax", O.Adamax, {"lr": 0.02}, {}),
    ("adamax", O.Adamax, {"lr": 0.02, "weight_decay": 0.1}, {}),
    ("nadam", O.NAdam, {"lr": 0.02}, {}),
    ("nadam", O.NAdam, {"lr": 0.02, "momentum_decay": 0.01, "weight_decay": 0.1}, {}),
    ("nadam", O.NAdam, {"lr": 0.02, "weight_decay": 0.1, "decoupled_weight_decay": True}, {}),
]


def _torch_kwargs(params, extra):
    kw = dict(params, **extra)
    if "beta1" in kw or "beta2" in kw:
        kw["betas"] = (kw.pop("beta1", 0.9), kw.pop("beta2", 0.999))
    return kw


@pytest.fixture(autouse=True)
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.mark.parametrize(("name", "cls", "params", "extra"), CASES)
def test_optimizer_matches_torch(name, cls, params, extra):
    want, _ = torch_path(cls, _torch_kwargs(params, extra))
    got, _ = ours(name, params)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("beta1", [0.8, 0.3])  # 0.3: torch.lerp's other formula
def test_betas_map_to_beta1_and_beta2(beta1):
    params = {"lr": 0.02, "beta1": beta1, "beta2": 0.99}
    want, _ = torch_path(O.Adam, _torch_kwargs(params, {}))
    got, _ = ours("adam", params)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


S = torch.optim.lr_scheduler
SCHEDULES = [
    ("step:step_size=7,gamma=0.5", lambda o: S.StepLR(o, step_size=7, gamma=0.5)),
    ("exponential:gamma=0.95", lambda o: S.ExponentialLR(o, gamma=0.95)),
    ("cosine:t_max=20,eta_min=0.001", lambda o: S.CosineAnnealingLR(o, T_max=20, eta_min=0.001)),
    (
        "exponential:gamma=0.9,warmup=5,warmup_start=0.2",
        lambda o: S.ChainedScheduler(
            [S.LinearLR(o, start_factor=0.2, total_iters=5), S.ExponentialLR(o, gamma=0.9)]
        ),
    ),
    ("constant:warmup=4", lambda o: S.LinearLR(o, total_iters=4)),
]


@pytest.mark.parametrize(("text", "scheduler"), SCHEDULES)
def test_schedule_matches_torch_lr_scheduler(text, scheduler):
    want_path, want_lrs = torch_path(O.Adam, {"lr": 0.01}, steps=40, scheduler=scheduler)
    got_path, got_lrs = ours("adam", {"lr": 0.01}, steps=40, schedule=text)
    np.testing.assert_allclose(got_lrs, want_lrs, rtol=1e-12)
    np.testing.assert_allclose(got_path, want_path, rtol=1e-11, atol=1e-12)
