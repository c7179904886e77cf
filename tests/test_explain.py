"""Explain: the numbers shown are the trajectory's, the arithmetic shown is true, badges fire."""

from __future__ import annotations

import numpy as np
import pytest

from gdviz.core.engine import GradientNoise, RunConfig, Trajectory, run
from gdviz.core.explain import BADGES, badges, explain_step, fmt
from gdviz.core.lessons import lesson, run_session
from gdviz.core.loss import compile_loss
from gdviz.core.optimizers import OPTIMIZERS

START = (-1.3, 0.8)

#: (optimizer, params) covering every registry entry and each branch with its own lines.
CASES = [
    ("gd", {"lr": 0.05}),
    ("gd", {"lr": 0.05, "weight_decay": 0.1}),
    ("momentum", {"lr": 0.02, "momentum": 0.9}),
    ("momentum", {"lr": 0.02, "momentum": 0.8, "dampening": 0.3}),
    ("nesterov", {"lr": 0.02, "momentum": 0.9}),
    ("adagrad", {"lr": 0.3, "initial_accumulator_value": 0.1}),
    ("rmsprop", {"lr": 0.01}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.5, "centered": True}),
    ("adadelta", {"lr": 1.0}),
    ("adam", {"lr": 0.05}),
    ("adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.01}),
    ("adamw", {"lr": 0.05, "weight_decay": 0.1}),
    ("adamax", {"lr": 0.05}),
    ("nadam", {"lr": 0.05}),
    ("newton", {"lr": 0.5}),
]


def test_every_optimizer_has_a_case() -> None:
    assert {name for name, _ in CASES} == set(OPTIMIZERS)


@pytest.fixture(scope="module")
def bowl():
    return compile_loss("x^2 + 3y^2 + 0.5 x y + 0.1x^4")


def _check_arithmetic(opt: str, hp: dict, v: dict) -> None:
    """The substituted rule, evaluated on the values shown, gives the next point."""
    spec = OPTIMIZERS[opt].resolve(hp)
    theta, g, lr, nxt = v["theta"], v["g"], float(v["lr"][0]), v["theta_next"]
    if opt == "gd":
        expect = theta - lr * g
    elif opt == "momentum":
        if "prev_momentum_buffer" in v:
            b = spec["momentum"] * v["prev_momentum_buffer"] + (1 - spec["dampening"]) * g
            np.testing.assert_allclose(v["momentum_buffer"], b, rtol=1e-12, atol=1e-300)
        expect = theta - lr * v["momentum_buffer"]
    elif opt == "nesterov":
        expect = theta - lr * (g + spec["momentum"] * v["momentum_buffer"])
    elif opt == "adagrad":
        np.testing.assert_allclose(v["sum"], v["prev_sum"] + g * g, rtol=1e-12)
        expect = theta - v["effective_lr"] * g
    elif opt == "rmsprop" and spec["momentum"] > 0:
        expect = theta - lr * v["momentum_buffer"]
    elif opt in ("rmsprop", "adadelta"):
        expect = theta - v["effective_lr"] * g
    elif opt in ("adam", "adamw", "adamax", "nadam"):
        b1 = spec["beta1"]
        np.testing.assert_allclose(
            v["exp_avg"], b1 * v["prev_exp_avg"] + (1 - b1) * g, rtol=1e-12, atol=1e-300
        )
        expect = theta - v["effective_lr"] * v["m_hat"]
        if opt == "adamw":
            expect = expect - lr * spec["weight_decay"] * theta
    elif opt == "newton":
        expect = theta - lr * v["direction"]
    else:  # pragma: no cover
        raise AssertionError(opt)
    np.testing.assert_allclose(expect, nxt, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("opt", "hp"), CASES, ids=[f"{o}-{i}" for i, (o, _) in enumerate(CASES)])
def test_numbers_equal_the_trajectory(bowl, opt: str, hp: dict) -> None:
    # The run sits next to another optimizer, so it is not run 0 and the
    # engine's grouping and reordering are exercised too.
    configs = [RunConfig("adam", {"lr": 0.1}, (1.0, 1.0)), RunConfig(opt, hp, START)]
    traj = run(bowl, configs, 40)
    k = 1
    last = traj.last_row(k)
    assert last >= 12  # the run is still moving at the steps checked
    for step in (1, 2, 3, 12, min(37, last)):
        ex = explain_step(traj, k, step, opt, hp, loss=bowl)
        t = step - 1
        v = ex.values
        assert np.array_equal(v["theta"], traj.positions[t, k])
        assert np.array_equal(v["theta_next"], traj.positions[t + 1, k])
        assert np.array_equal(v["grad"], traj.grads[t, k])
        assert np.array_equal(v["update"], traj.updates[t, k])
        assert v["lr"][0] == traj.lrs[t, k]
        for name, arr in traj.state.items():
            if name in v:
                assert np.array_equal(v[name], arr[t, k], equal_nan=True), name
            if f"prev_{name}" in v and t > 0:
                assert np.array_equal(v[f"prev_{name}"], arr[t - 1, k], equal_nan=True), name
        # The last equation's result is the point the trajectory holds.
        step_line = next(line for line in ex.lines if line.lhs == f"θ{_sub(step)}")
        np.testing.assert_allclose(step_line.value, traj.positions[step, k], rtol=0, atol=0)
        _check_arithmetic(opt, hp, v)
        text = ex.text()
        for x in (*traj.positions[t, k], *traj.positions[step, k], traj.lrs[t, k]):
            assert fmt(x) in text
        assert f"step {t} → {step}" in ex.title


def _sub(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def test_gd_text_reads_like_the_rule(bowl) -> None:
    traj = run(bowl, [RunConfig("gd", {"lr": 0.1}, START)], 20)
    line = explain_step(traj, 0, 12, "gd", {"lr": 0.1}).lines[-2].text()
    th, g, nxt = traj.positions[11, 0], traj.grads[11, 0], traj.positions[12, 0]
    want = (
        f"θ₁₂ = θ₁₁ − η·g₁₁ = ({fmt(th[0])}, {fmt(th[1])}) − 0.1·({fmt(g[0])}, {fmt(g[1])})"
        f" = ({fmt(nxt[0])}, {fmt(nxt[1])})"
    )
    assert line == want


def test_adam_shows_moments_and_effective_step(bowl) -> None:
    traj = run(bowl, [RunConfig("adam", {"lr": 0.05}, START)], 10)
    ex = explain_step(traj, 0, 5, "adam", {"lr": 0.05})
    lhs = [line.lhs for line in ex.lines]
    for name in ("m₄", "v₄", "m̂₄", "v̂₄", "α₄", "θ₅"):
        assert name in lhs
    assert np.array_equal(ex.values["effective_lr"], traj.state["effective_lr"][4, 0])


def test_start_and_stopped_runs(bowl) -> None:
    traj = run(bowl, [RunConfig("newton", {"lr": 1.0}, (0.1, 0.1))], 30)
    start = explain_step(traj, 0, 0, "newton")
    assert np.array_equal(start.values["theta"], traj.positions[0, 0])
    assert "start" in start.title
    stop = int(traj.stop_step[0])
    assert traj.status[0] == "converged" and 0 < stop < 29
    later = explain_step(traj, 0, stop + 2, "newton")
    assert "stopped at step" in later.note
    assert "converged" in [b.kind for b in later.badges]


def test_noise_is_shown_separately(bowl) -> None:
    traj = run(bowl, [RunConfig("gd", {"lr": 0.05}, START)], 10, noise=GradientNoise(0.5, 3))
    ex = explain_step(traj, 0, 4, "gd", {"lr": 0.05})
    assert "noise" in ex.text()
    assert np.array_equal(ex.values["grad"], traj.grads[3, 0])
    assert not np.array_equal(traj.grads[3, 0], traj.true_grads[3, 0])


def test_bad_indices(bowl) -> None:
    traj = run(bowl, [RunConfig("gd", {"lr": 0.05}, START)], 5)
    with pytest.raises(IndexError):
        explain_step(traj, 1, 1, "gd")
    with pytest.raises(IndexError):
        explain_step(traj, 0, 6, "gd")
    with pytest.raises(KeyError):
        explain_step(traj, 0, 1, "sgd9000")


def test_html_escapes_labels(bowl) -> None:
    traj = run(bowl, [RunConfig("gd", {"lr": 0.05}, START)], 5)
    html = explain_step(traj, 0, 2, "gd", label="<img src=x onerror=alert(1)>").html()
    assert "<img" not in html and "&lt;img" in html


# ----------------------------------------------------------------------------- badges


def _traj(positions, losses, grads=None, status="running", stop=-1) -> Trajectory:
    p = np.asarray(positions, dtype=float)
    if p.ndim == 1:
        p = np.stack([p, np.zeros_like(p)], axis=1)
    p = p[:, None, :]
    n = p.shape[0]
    g = np.ones_like(p) if grads is None else np.asarray(grads, dtype=float).reshape(p.shape)
    upd = np.zeros_like(p)
    upd[:-1] = p[1:] - p[:-1]
    return Trajectory(
        positions=p,
        losses=np.asarray(losses, dtype=float).reshape(n, 1),
        grads=g,
        lrs=np.full((n, 1), 0.1),
        updates=upd,
        state={},
        status=[status],
        stop_step=np.array([stop]),
    )


def _kinds(traj, step, loss=None) -> list[str]:
    return [b.kind for b in badges(traj, 0, step, loss=loss)]


def test_overshooting_rule() -> None:
    up = _traj([0, 1, 2, 3], [5.0, 4.0, 3.0, 3.5])
    assert "overshooting" in _kinds(up, 3)
    assert "overshooting" not in _kinds(up, 2)
    # Equal within rounding is not overshooting.
    flat = _traj([0, 1, 2], [5.0, 4.0, 4.0 + 1e-15])
    assert "overshooting" not in _kinds(flat, 2)


def test_oscillating_rule() -> None:
    n = 12
    zig = [(-1) ** t * (1 - 0.05 * t) for t in range(n)]
    mono = [1 - 0.05 * t for t in range(n)]
    losses = [1 - 0.01 * t for t in range(n)]
    assert "oscillating" in _kinds(_traj(zig, losses), n - 1)
    assert "oscillating" not in _kinds(_traj(mono, losses), n - 1)
    # A zig-zag across a valley while moving along it still reverses direction.
    ravine = np.array([[0.1 * t, (-1) ** t * 0.5] for t in range(n)])
    assert "oscillating" in _kinds(_traj(ravine, losses), n - 1)


def test_diverging_rule() -> None:
    n = 10
    grow = [2.0**t for t in range(n)]
    assert "diverging" in _kinds(_traj(np.arange(n), grow), n - 1)
    assert "overshooting" not in _kinds(_traj(np.arange(n), grow), n - 1)
    # Rising only three steps in a row, or rising slowly, is not divergence.
    short = [1, 0.5, 0.4, 0.3, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    assert "diverging" not in _kinds(_traj(np.arange(n), short), 6)
    slow = [1.0 + 0.01 * t for t in range(n)]
    assert "diverging" not in _kinds(_traj(np.arange(n), slow), n - 1)
    # The engine's verdict counts from its step on.
    stopped = _traj(np.arange(n), [1.0] * n, status="diverged", stop=6)
    assert "diverging" in _kinds(stopped, 6)
    assert "diverging" not in _kinds(stopped, 5)


def test_converged_rule() -> None:
    n = 10
    t = _traj(np.arange(n), [1.0 / (s + 1) for s in range(n)], status="converged", stop=5)
    assert _kinds(t, 5) == ["converged"]
    assert "converged" not in _kinds(t, 4)
    tiny = _traj(np.arange(3), [3, 2, 1], grads=np.array([[1, 1], [1, 1], [1e-9, 0]]))
    assert _kinds(tiny, 2) == ["converged"]


def test_crawling_rule() -> None:
    n = 40
    # A fast drop, then a slow steady crawl across a plateau, which the run
    # leaves later (the trajectory knows a far lower loss): crawling.
    crawl = [10.0] + [1.0 - 0.001 * t for t in range(1, 31)] + [0.0] * 9
    assert "crawling" in _kinds(_traj(np.arange(n), crawl), 30)
    assert "crawling" not in _kinds(_traj(np.arange(n), crawl), 5)  # too early to tell
    # The same slow creep when nothing lower is ever reached: the last digits
    # of a minimum, not a plateau.
    creep = [10.0] + [1.0 - 0.0001 * t for t in range(1, n)]
    assert "crawling" not in _kinds(_traj(np.arange(n), creep), 30)
    # The fast-shrinking tail of convergence is not crawling.
    tail = [10.0 * 0.6**t for t in range(n)]
    assert "crawling" not in _kinds(_traj(np.arange(n), tail), n - 1)
    # Steady, brisk progress is not crawling either.
    brisk = [100.0 - 2 * t for t in range(n)]
    assert "crawling" not in _kinds(_traj(np.arange(n), brisk), 30)


def test_crawling_on_rosenbrock() -> None:
    loss, traj = run_session(lesson("5_rosenbrock").session)
    gd, mom = 0, 1
    assert "crawling" in [b.kind for b in badges(traj, gd, 1000, loss=loss)]
    assert "crawling" not in [b.kind for b in badges(traj, mom, 1000, loss=loss)]
    # The curved valley floor is not a saddle, though H has a negative eigenvalue there.
    assert "saddle" not in [b.kind for b in badges(traj, gd, 50, loss=loss)]


def test_saddle_rule_on_the_saddle_lesson() -> None:
    les = lesson("3_saddle")
    loss, traj = run_session(les.session)
    gd, adam = 0, 1
    assert "saddle" in [b.kind for b in badges(traj, gd, 100, loss=loss)]
    # Without a Hessian there is no way to tell a saddle from a minimum.
    assert "saddle" not in [b.kind for b in badges(traj, gd, 100)]
    # Adam has left it: at its minimum there is no saddle badge.
    assert "saddle" not in [b.kind for b in badges(traj, adam, 150, loss=loss)]
    # Early on, GD is still far from the flat point.
    assert "saddle" not in [b.kind for b in badges(traj, gd, 5, loss=loss)]


def test_minimum_is_not_a_saddle() -> None:
    loss = compile_loss("x^2 + 3y^2")
    traj = run(loss, [RunConfig("gd", {"lr": 0.01}, (1.0, 1.0))], 400)
    kinds = [b.kind for b in badges(traj, 0, 400, loss=loss)]
    assert "saddle" not in kinds


def test_badges_on_the_learning_rate_lesson() -> None:
    loss, traj = run_session(lesson("1_learning_rate").session)
    small, right, large = 0, 1, 2
    assert "converged" in [b.kind for b in badges(traj, right, 80, loss=loss)]
    big = [b.kind for b in badges(traj, large, 40, loss=loss)]
    assert "oscillating" in big and "overshooting" in big
    assert not {"oscillating", "overshooting"} & {
        b.kind for b in badges(traj, small, 40, loss=loss)
    }
    for b in badges(traj, large, 40, loss=loss):
        assert b.kind in BADGES and b.reason


def test_one_variable_functions() -> None:
    loss = compile_loss("x^4 - 3x^2 + x")
    traj = run(
        loss, [RunConfig("adam", {"lr": 0.05}, (1.9,)), RunConfig("gd", {"lr": 0.3}, (1.9,))], 30
    )
    ex = explain_step(traj, 0, 5, "adam", {"lr": 0.05}, loss=loss)
    assert np.array_equal(ex.values["theta_next"], traj.positions[5, 0])
    # One coordinate reads as a plain number, not a 1-tuple.
    assert f"θ₅ = θ₄ − α₄ ⊙ m̂₄ = {fmt(traj.positions[4, 0, 0])} −" in ex.text()
    kinds = [b.kind for b in badges(traj, 1, 20, loss=loss)]
    assert all(k in BADGES for k in kinds)
