"""The engine: row semantics, stop rules, divergence, noise, chunking, recorded state."""

import gc
import math
import weakref

import numpy as np
import pytest

from gdviz.core.engine import Engine, GradientNoise, RunConfig, StopRules, Trajectory, run
from gdviz.core.schedules import parse_schedule
from gdviz.core.specs import SpecError


class Square:
    """f(x) = x² in one dimension, by hand."""

    dim, variables = 1, ("x",)

    def value(self, p):
        return p[..., 0] ** 2

    def grad(self, p):
        return 2.0 * p

    def hess(self, p):
        return np.full((*p.shape[:-1], 1, 1), 2.0)


class Bowl:
    """f(x, y) = x² + 3y² + xy, by hand."""

    dim, variables = 2, ("x", "y")

    def value(self, p):
        x, y = p[..., 0], p[..., 1]
        return x**2 + 3 * y**2 + x * y

    def grad(self, p):
        x, y = p[..., 0], p[..., 1]
        return np.stack([2 * x + y, 6 * y + x], axis=-1)

    def hess(self, p):
        return np.broadcast_to(np.array([[2.0, 1.0], [1.0, 6.0]]), (*p.shape[:-1], 2, 2)).copy()


class Root:
    """f(x) = √x: not finite for x < 0."""

    dim, variables = 1, ("x",)

    def value(self, p):
        return np.sqrt(p[..., 0])

    def grad(self, p):
        return 0.5 / np.sqrt(p)

    def hess(self, p):
        return (-0.25 * p**-1.5)[..., None]


def gd(lr, start=(1.0,)):
    return RunConfig("gd", {"lr": lr}, start)


# --------------------------------------------------------------------------- rows


def test_rows_hold_points_losses_gradients_and_the_next_update():
    loss = Bowl()
    configs = [
        RunConfig("adam", {"lr": 0.1}, (1.0, -1.0)),
        RunConfig("momentum", {"lr": 0.05}, (2.0, 0.5)),
    ]
    traj = run(loss, configs, 20, StopRules(20, grad_tol=None))
    assert traj.positions.shape == (21, 2, 2)
    assert traj.losses.shape == traj.lrs.shape == (21, 2)
    assert traj.grads.shape == traj.updates.shape == (21, 2, 2)
    assert traj.n_steps == 20 and traj.n_runs == 2 and traj.dim == 2
    np.testing.assert_allclose(traj.losses, loss.value(traj.positions), rtol=1e-14)
    np.testing.assert_allclose(traj.grads, loss.grad(traj.positions), rtol=1e-14)
    np.testing.assert_allclose(traj.positions[1:], traj.positions[:-1] + traj.updates[:-1])
    np.testing.assert_array_equal(traj.positions[0], [[1.0, -1.0], [2.0, 0.5]])
    assert traj.status == ["max_steps", "max_steps"]
    np.testing.assert_array_equal(traj.stop_step, [20, 20])


def test_one_dimension_works():
    traj = run(Square(), [gd(0.1), gd(0.2, (-3.0,))], 3, StopRules(3, grad_tol=None))
    assert traj.positions.shape == (4, 2, 1)
    np.testing.assert_allclose(traj.positions[:, 0, 0], [1, 0.8, 0.64, 0.512])
    np.testing.assert_allclose(traj.positions[:, 1, 0], [-3, -1.8, -1.08, -0.648])


# --------------------------------------------------------------------------- stop rules


def test_converged_run_freezes_while_the_other_goes_on():
    # lr 0.5 on x²: x₁ = 1 − 0.5·2 = 0 exactly, gradient 0 → converged at step 1.
    traj = run(Square(), [gd(0.5), gd(0.1)], 10)
    assert traj.status == ["converged", "max_steps"]
    np.testing.assert_array_equal(traj.stop_step, [1, 10])
    np.testing.assert_array_equal(traj.positions[1:, 0, 0], 0.0)
    np.testing.assert_array_equal(traj.updates[1:, 0], 0.0)
    assert traj.lrs[0, 0] == 0.5
    np.testing.assert_array_equal(traj.lrs[1:, 0], 0.0)
    np.testing.assert_allclose(traj.positions[:, 1, 0], 0.8 ** np.arange(11), rtol=1e-13)
    assert traj.last_row(0) == 1 and traj.last_row(1) == 10


def test_convergence_uses_the_gradient_norm_tolerance():
    # gd lr 0.1: |g_t| = 2·0.8^t < 1e-3 first when t = 35
    first = next(t for t in range(100) if 2 * 0.8**t < 1e-3)
    traj = run(Square(), [gd(0.1)], 100, StopRules(100, grad_tol=1e-3))
    assert traj.status == ["converged"] and traj.stop_step[0] == first
    # 0 or None never converges
    for tol in (0.0, None):
        traj = run(Square(), [gd(0.1)], 100, StopRules(100, grad_tol=tol))
        assert traj.status == ["max_steps"]


def test_loss_change_tolerance():
    # loss_t = 0.64^t, so |loss_t − loss_{t−1}| = 0.36·0.64^(t−1)
    first = next(t for t in range(1, 100) if 0.36 * 0.64 ** (t - 1) < 1e-3)
    traj = run(Square(), [gd(0.1)], 100, StopRules(100, grad_tol=None, loss_tol=1e-3))
    assert traj.status == ["converged"] and traj.stop_step[0] == first


def test_max_steps_and_advancing_past_it_repeats_the_last_row():
    engine = Engine(Square(), [gd(0.1)], StopRules(max_steps=5, grad_tol=None))
    seg = engine.advance(8)
    assert seg.status == ["max_steps"] and seg.stop_step[0] == 5
    np.testing.assert_allclose(seg.positions[:6, 0, 0], 0.8 ** np.arange(6), rtol=1e-15)
    np.testing.assert_array_equal(seg.positions[5:, 0, 0], seg.positions[5, 0, 0])
    np.testing.assert_array_equal(seg.lrs[5:, 0], 0.0)
    more = engine.advance(3)
    assert more.start_step == 8
    np.testing.assert_array_equal(more.positions[:, 0, 0], seg.positions[5, 0, 0])


def test_zero_max_steps_stops_at_the_start():
    traj = run(Square(), [gd(0.1)], 0)
    assert traj.positions.shape == (1, 1, 1)
    assert traj.status == ["max_steps"] and traj.stop_step[0] == 0


# --------------------------------------------------------------------------- divergence


def test_leaving_the_bound_diverges_and_keeps_the_last_point_inside():
    # lr 1.5 on x²: x_t = (−2)^t; the loss 4^t passes 1e8 first at t = 14.
    traj = run(Square(), [gd(1.5)], 30)
    assert traj.status == ["diverged"] and traj.stop_step[0] == 14
    np.testing.assert_array_equal(traj.positions[:14, 0, 0], (-2.0) ** np.arange(14))
    np.testing.assert_array_equal(traj.positions[13:, 0, 0], (-2.0) ** 13)
    np.testing.assert_array_equal(traj.losses[13:, 0], 4.0**13)
    np.testing.assert_array_equal(traj.updates[13:, 0], 0.0)
    assert traj.lrs[13, 0] == 1.5  # the update that was tried and left the bound
    np.testing.assert_array_equal(traj.lrs[14:, 0], 0.0)
    assert traj.last_row(0) == 13
    # A tighter bound on the position: |x| > 10 first at t = 4.
    traj = run(Square(), [gd(1.5)], 30, StopRules(30, bound=10.0**2))
    assert traj.stop_step[0] == 4


def test_non_finite_loss_diverges_at_that_step():
    # √x with lr 4 from 1: x₁ = 1 − 4·½ = −1, where √x is nan.
    traj = run(Root(), [gd(4.0), gd(0.1)], 5)
    assert traj.status == ["diverged", "max_steps"]
    assert traj.stop_step[0] == 1
    np.testing.assert_array_equal(traj.positions[:, 0, 0], 1.0)
    assert np.isfinite(traj.positions).all() and np.isfinite(traj.losses).all()


def test_a_start_where_the_loss_is_not_finite_diverges_at_step_0():
    traj = run(Root(), [gd(0.1, (-1.0,))], 5)
    assert traj.status == ["diverged"] and traj.stop_step[0] == 0
    np.testing.assert_array_equal(traj.positions[:, 0, 0], -1.0)


def test_overflow_is_reported_not_raised():
    # x⁴ with a huge step and no bound overflows to inf; no FloatingPointError or
    # RuntimeWarning escapes (warnings are errors in this suite).
    class Quartic(Square):
        def value(self, p):
            return p[..., 0] ** 4

        def grad(self, p):
            return 4 * p**3

    traj = run(Quartic(), [gd(10.0, (10.0,))], 50, StopRules(50, bound=math.inf))
    assert traj.status == ["diverged"]
    assert np.isfinite(traj.positions).all()


def test_one_diverging_run_does_not_disturb_the_others():
    loss = Bowl()
    others = [
        RunConfig("adam", {"lr": 0.1}, (1.0, 1.0)),
        RunConfig("nesterov", {"lr": 0.05}, (-1.0, 2.0)),
    ]
    wild = RunConfig("gd", {"lr": 2.0}, (1.0, 1.0))
    together = run(loss, [others[0], wild, others[1]], 60, StopRules(60, grad_tol=None))
    assert together.status == ["max_steps", "diverged", "max_steps"]
    alone = run(loss, others, 60, StopRules(60, grad_tol=None))
    np.testing.assert_allclose(together.positions[:, [0, 2]], alone.positions, rtol=1e-13)
    np.testing.assert_allclose(together.losses[:, [0, 2]], alone.losses, rtol=1e-13)


def test_runs_come_back_in_the_order_given():
    # Runs are grouped by optimizer inside the engine (adam, adam, gd); the
    # trajectory lists them as configured.
    loss = Bowl()
    configs = [
        RunConfig("adam", {"lr": 0.1}, (1.0, 1.0)),
        RunConfig("gd", {"lr": 0.5}, (1.0, 1.0)),  # diverges
        RunConfig("adam", {"lr": 0.05}, (-1.0, 0.5)),
        RunConfig("newton", {}, (3.0, -2.0)),  # converges after one step
    ]
    together = run(loss, configs, 40)
    assert together.status == ["max_steps", "diverged", "max_steps", "converged"]
    assert together.stop_step[1] > 0 and together.stop_step[3] == 1
    for k, cfg in enumerate(configs):
        alone = run(loss, [cfg], 40)
        assert alone.status[0] == together.status[k]
        assert alone.stop_step[0] == together.stop_step[k]
        np.testing.assert_allclose(together.positions[:, k], alone.positions[:, 0], rtol=1e-13)
        np.testing.assert_allclose(together.lrs[:, k], alone.lrs[:, 0])
        for name, arr in alone.state.items():
            np.testing.assert_allclose(together.state[name][:, k], arr[:, 0], rtol=1e-13)


def test_advancing_after_every_run_stopped_repeats_rows():
    engine = Engine(Square(), [gd(0.5), gd(1.5)], StopRules(grad_tol=1e-12))
    first = engine.advance(40)
    assert first.status == ["converged", "diverged"]
    later = engine.advance(1000)
    for name in ("positions", "losses", "grads"):
        np.testing.assert_array_equal(
            getattr(later, name), getattr(first, name)[-1:].repeat(1001, 0)
        )
    np.testing.assert_array_equal(later.updates, 0.0)
    np.testing.assert_array_equal(later.lrs, 0.0)


# --------------------------------------------------------------------------- noise


def test_noise_is_reproducible_and_per_run():
    loss = Bowl()
    cfg = [RunConfig("gd", {"lr": 0.05}, (1.0, 1.0)), RunConfig("adam", {"lr": 0.05}, (1.0, 1.0))]
    stop = StopRules(200, grad_tol=None)
    a = run(loss, cfg, 200, stop, GradientNoise(0.5, seed=7))
    b = run(loss, cfg, 200, stop, GradientNoise(0.5, seed=7))
    c = run(loss, cfg, 200, stop, GradientNoise(0.5, seed=8))
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.grads, b.grads)
    assert not np.array_equal(a.positions, c.positions)
    # The exact gradient is recorded next to the noisy one.
    np.testing.assert_allclose(a.true_grads, loss.grad(a.positions), rtol=1e-14)
    noise = a.grads - a.true_grads
    assert abs(noise.mean()) < 0.05 and abs(noise.std() - 0.5) < 0.05
    # The two runs draw from different streams.
    assert not np.allclose(noise[:, 0], noise[:, 1])
    # A run's noise does not depend on the runs after it.
    first_alone = run(loss, cfg[:1], 200, stop, GradientNoise(0.5, seed=7))
    np.testing.assert_array_equal(
        first_alone.grads[:, 0] - first_alone.true_grads[:, 0], noise[:, 0]
    )


def test_zero_noise_is_no_noise_and_bad_noise_is_refused():
    plain = run(Square(), [gd(0.1)], 5)
    assert plain.true_grads is None
    zero = run(Square(), [gd(0.1)], 5, noise=GradientNoise(0.0, 3))
    np.testing.assert_array_equal(zero.positions, plain.positions)
    with pytest.raises(ValueError, match="sigma"):
        GradientNoise(-1.0, 0)
    with pytest.raises(ValueError, match="seed"):
        GradientNoise(1.0, -2)


# --------------------------------------------------------------------------- chunking


def _mixed_configs():
    sched = parse_schedule("cosine:t_max=40,eta_min=0.001,warmup=5")
    return [
        RunConfig("adam", {"lr": 0.1}, (1.5, -1.0), sched),
        RunConfig("gd", {"lr": 0.5}, (1.0, 1.0)),  # diverges (lr too big for 6y²)
        RunConfig("newton", {}, (2.0, 2.0)),  # converges in one step
        RunConfig("rmsprop", {"lr": 0.01, "centered": True, "momentum": 0.5}, (-1.0, 0.3)),
        RunConfig("adam", {"lr": 0.05, "amsgrad": True}, (0.5, 0.5)),
    ]


def _assert_same(a: Trajectory, b: Trajectory):
    for name in ("positions", "losses", "grads", "lrs", "updates", "true_grads"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.state.keys() == b.state.keys()
    for name in a.state:
        np.testing.assert_array_equal(a.state[name], b.state[name], err_msg=name)
    assert a.status == b.status
    np.testing.assert_array_equal(a.stop_step, b.stop_step)


@pytest.mark.parametrize("noise", [None, GradientNoise(0.01, seed=3)])
@pytest.mark.parametrize("chunks", [[100], [13, 1, 86], [1] * 20 + [80], [0, 50, 0, 50]])
def test_chunked_advance_equals_one_run(chunks, noise):
    stop = StopRules(max_steps=100, grad_tol=1e-9)
    whole = run(Bowl(), _mixed_configs(), 100, stop, noise)
    assert whole.status[1] == "diverged"
    if noise is None:
        assert whole.status[2] == "converged"
    engine = Engine(Bowl(), _mixed_configs(), stop, noise)
    parts = [engine.advance(n) for n in chunks]
    assert [p.start_step for p in parts] == list(np.cumsum([0, *chunks[:-1]]))
    _assert_same(parts[0].concat(*parts[1:]), whole)


def test_divergence_found_at_a_chunk_boundary():
    # Diverges at step 14: the first row of the second chunk.
    engine = Engine(Square(), [gd(1.5), gd(0.1)], StopRules(30))
    first, second = engine.advance(13), engine.advance(17)
    assert first.status == ["running", "running"]
    assert second.status[0] == "diverged" and second.stop_step[0] == 14
    assert second.updates[0, 0] == 0.0  # the boundary row, as the later segment has it
    _assert_same(first.concat(second), run(Square(), [gd(1.5), gd(0.1)], 30))


def test_block_size_does_not_change_results():
    stop = StopRules(max_steps=100, grad_tol=1e-9)
    a = Engine(Bowl(), _mixed_configs(), stop, block=3).advance(100)
    b = Engine(Bowl(), _mixed_configs(), stop, block=1000).advance(100)
    _assert_same(a, b)


def test_the_engine_keeps_only_its_current_row():
    engine = Engine(Bowl(), _mixed_configs(), StopRules(grad_tol=None))
    seg = engine.advance(500)
    ref = weakref.ref(seg.positions)
    del seg
    gc.collect()
    assert ref() is None
    assert engine.advance(10).start_step == 500


def test_concat_refuses_segments_that_do_not_follow():
    engine = Engine(Square(), [gd(0.1)], StopRules(grad_tol=None))
    a = engine.advance(5)
    engine.advance(5)
    c = engine.advance(5)
    with pytest.raises(ValueError, match="cannot join"):
        a.concat(c)


# --------------------------------------------------------------------------- state


def test_recorded_state_for_a_teacher():
    loss = Square()
    cfg = [
        RunConfig("adam", {"lr": 0.1}, (1.0,)),
        RunConfig("momentum", {"lr": 0.1}, (1.0,)),
        gd(0.1),
    ]
    traj = run(loss, cfg, 10, StopRules(10, grad_tol=None))
    s = traj.state
    t = np.arange(1, 11)
    # Adam: the bias-corrected moments and the per-coordinate step size.
    np.testing.assert_allclose(s["m_hat"][:10, 0, 0], s["exp_avg"][:10, 0, 0] / (1 - 0.9**t))
    np.testing.assert_allclose(s["v_hat"][:10, 0, 0], s["exp_avg_sq"][:10, 0, 0] / (1 - 0.999**t))
    np.testing.assert_allclose(
        s["effective_lr"][:10, 0, 0], 0.1 / (np.sqrt(s["v_hat"][:10, 0, 0]) + 1e-8)
    )
    np.testing.assert_allclose(
        traj.updates[:10, 0, 0], -s["effective_lr"][:10, 0, 0] * s["m_hat"][:10, 0, 0]
    )
    # After one step: m = 0.1·2, v = 0.001·4.
    assert s["exp_avg"][0, 0, 0] == pytest.approx(0.2)
    assert s["exp_avg_sq"][0, 0, 0] == pytest.approx(0.004)
    # Momentum: the buffer that made each step; NaN where an optimizer has no such state.
    np.testing.assert_allclose(traj.updates[:10, 1], -0.1 * s["momentum_buffer"][:10, 1])
    assert s["momentum_buffer"][0, 1, 0] == 2.0
    assert np.isnan(s["momentum_buffer"][:, [0, 2]]).all()
    assert np.isnan(s["exp_avg"][:, 1:]).all()
    np.testing.assert_array_equal(s["effective_lr"][:10, 2], 0.1)


def test_state_can_be_left_out():
    traj = run(Square(), [gd(0.1)], 5, record_state=False)
    assert traj.state == {}


# --------------------------------------------------------------------------- input


def test_bad_configurations_are_refused_clearly():
    with pytest.raises(ValueError, match="no runs"):
        Engine(Square(), [])
    with pytest.raises(ValueError, match=r"run 2 \(adam\): the start has 2 coordinate\(s\)"):
        Engine(Square(), [gd(0.1), RunConfig("adam", {}, (1.0, 2.0))])
    with pytest.raises(SpecError, match="unknown optimizer 'sgdd'"):
        Engine(Square(), [RunConfig("sgdd", {}, (1.0,))])
    with pytest.raises(SpecError, match="momentum=2 is out of range"):
        Engine(Square(), [RunConfig("momentum", {"momentum": 2.0}, (1.0,))])
    with pytest.raises(ValueError, match="n_steps"):
        Engine(Square(), [gd(0.1)]).advance(-1)
    with pytest.raises(ValueError, match="steps"):
        run(Square(), [gd(0.1)])
    with pytest.raises(ValueError, match="max_steps must be a whole number"):
        StopRules(max_steps=-1)
    with pytest.raises(ValueError, match="grad_tol"):
        StopRules(grad_tol=-1e-3)
    with pytest.raises(ValueError, match="loss_tol"):
        StopRules(loss_tol=float("nan"))
    with pytest.raises(ValueError, match="bound"):
        StopRules(bound=0.0)


# --------------------------------------------------------------------------- compiled losses


def test_compiled_loss_gives_the_same_path_alone_or_in_a_crowd():
    # One run, a few runs and many runs evaluate the compiled loss differently
    # (NumPy scalars, columns, the public method); the numbers agree.
    from gdviz.core.loss import compile_loss

    loss = compile_loss("(1-x)^2 + 100(y-x^2)^2")
    cfg = RunConfig("adam", {"lr": 0.01}, (-1.5, 2.0))
    stop = StopRules(200, grad_tol=None)
    alone = run(loss, [cfg], 200, stop)
    few = run(loss, [cfg] * 3, 200, stop)
    many = run(loss, [cfg] * 70, 200, stop)
    for crowd in (few, many):
        np.testing.assert_allclose(crowd.positions[:, -1], alone.positions[:, 0], rtol=1e-12)
    np.testing.assert_allclose(alone.losses[:, 0], loss.value(alone.positions[:, 0]), rtol=1e-13)
    assert alone.losses[-1, 0] < alone.losses[0, 0]
