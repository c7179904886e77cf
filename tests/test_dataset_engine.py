"""The engine on a dataset: batch, stochastic and mini-batch runs, exact batch gradients."""

from __future__ import annotations

import numpy as np
import pytest

from gdviz.core.data import make_builtin
from gdviz.core.dataset_loss import Penalty, compile_dataset_loss
from gdviz.core.engine import Engine, RunConfig, StopRules, run
from gdviz.core.loss import compile_loss
from gdviz.core.optimizers import OPTIMIZERS

LINE = make_builtin("line", n=23, seed=4)  # 23 is prime: mini-batches never divide it
CLS = make_builtin("classes", n=31, seed=4)
START = (-0.5, 1.0)


def _stop(steps):
    return StopRules(max_steps=steps, grad_tol=None)


def _check_batch_gradients(loss, obj, traj, penalty=None):
    """Every row's gradient is the mean per-sample gradient over the reported samples."""
    tr = obj.trace(traj)
    checked = 0
    for k in range(traj.n_runs):
        for t in range(traj.last_row(k) + 1):
            idx = tr.indices(k, t)
            assert len(idx) == min(
                obj.batch_size(k), loss.n - (t % obj.steps_per_epoch(k)) * obj.batch_size(k)
            )
            p = traj.positions[t, k]
            expect = loss.sample_grads(p, idx).mean(axis=0)
            expect_v = loss.sample_values(p, idx).mean()
            if penalty is not None:
                expect = expect + np.asarray(penalty.grad(p))
                expect_v = expect_v + float(penalty.value(p))
            np.testing.assert_allclose(traj.grads[t, k], expect, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(traj.losses[t, k], expect_v, rtol=1e-9, atol=1e-12)
            checked += 1
    return tr, checked


VARIANTS = {"batch": None, "stochastic": 1, "mini-batch": 5}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_each_variant_uses_the_mean_gradient_of_its_batch(variant, optimizer):
    loss = compile_dataset_loss("(w*x + b - y)^2", LINE, parameters=("w", "b"))
    obj = loss.sampled(VARIANTS[variant], seed=7)
    lr = {"newton": 0.5, "adadelta": 1.0}.get(optimizer, 0.02)
    traj = run(obj, [RunConfig(optimizer, {"lr": lr}, START)], 30, _stop(30))
    _tr, checked = _check_batch_gradients(loss, obj, traj)
    assert checked == 31
    assert obj.variant(0) == variant


def test_variants_race_side_by_side_with_a_penalty():
    pen = Penalty("l2", 0.05)
    loss = compile_dataset_loss(
        "log(1 + exp(-y*(w*x + b)))", CLS, parameters=("w", "b"), penalty=pen
    )
    sizes = [None, 1, 4, 1, 31]
    obj = loss.sampled(sizes, seed=1)
    configs = [
        RunConfig("gd", {"lr": 0.3}, START),
        RunConfig("adam", {"lr": 0.05}, START),
        RunConfig("momentum", {"lr": 0.1}, START),
        RunConfig("nadam", {"lr": 0.05}, START),
        RunConfig("newton", {"lr": 1.0}, START),
    ]
    traj = run(obj, configs, 40, _stop(40))
    tr, checked = _check_batch_gradients(loss, obj, traj, pen)
    assert checked == 5 * 41
    assert [obj.variant(k) for k in range(5)] == [
        "batch",
        "stochastic",
        "mini-batch",
        "stochastic",
        "batch",
    ]
    # Epochs: batch runs finish an epoch every step, b=4 every 8 steps, b=1 every 31.
    np.testing.assert_array_equal(tr.epochs[:, 0], np.arange(41))
    np.testing.assert_array_equal(tr.epochs[:, 2], np.arange(41) // 8)
    np.testing.assert_array_equal(tr.epochs[:, 1], np.arange(41) // 31)
    # The two stochastic runs shuffle independently.
    assert [tr.indices(1, t)[0] for t in range(10)] != [tr.indices(3, t)[0] for t in range(10)]
    # Full loss beside the mini-batch loss; equal for batch runs.
    np.testing.assert_allclose(tr.full_losses, loss.value(traj.positions), rtol=1e-12)
    np.testing.assert_allclose(tr.full_losses[:, 0], traj.losses[:, 0], rtol=1e-12)
    assert not np.allclose(tr.full_losses[:, 1], traj.losses[:, 1])


def test_newton_uses_the_hessian_of_the_same_batch():
    loss = compile_dataset_loss("log(1 + exp(-y*(w*x + b)))", CLS, parameters=("w", "b"))
    obj = loss.sampled(3, seed=2)
    traj = run(obj, [RunConfig("newton", {"lr": 0.5}, START)], 12, _stop(12))
    tr = obj.trace(traj)
    for t in range(12):
        h = loss.batch_hess(traj.positions[t, :1], tr.indices(0, t)[None])[0]
        np.testing.assert_allclose(
            np.sort(traj.state["hess_eigvals"][t, 0]), np.linalg.eigvalsh(h), rtol=1e-9, atol=1e-12
        )


def test_batch_is_plain_gradient_descent_on_the_mean_loss():
    small = make_builtin("line", n=6, seed=11)
    x, y = small.column("x"), small.column("y")
    # The mean loss typed out in full, compiled as an ordinary function of (w, b).
    terms = " + ".join(
        f"(w*({float(a)!r}) + b - ({float(c)!r}))^2" for a, c in zip(x, y, strict=True)
    )
    plain = compile_loss(f"({terms}) / 6", ("w", "b"))
    data = compile_dataset_loss("(w*x + b - y)^2", small, parameters=("w", "b"))
    configs = [RunConfig("gd", {"lr": 0.05}, START), RunConfig("adam", {"lr": 0.1}, START)]
    a = run(plain, configs, 60, _stop(60))
    b = run(data.sampled(None), configs, 60, _stop(60))
    c = run(data, configs, 60, _stop(60))  # the dataset loss itself is the batch objective
    np.testing.assert_allclose(b.positions, a.positions, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.losses, a.losses, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c.positions, a.positions, rtol=1e-10, atol=1e-12)


def test_same_seed_same_run_and_chunks_continue_the_shuffle():
    loss = compile_dataset_loss("abs(w*x + b - y)", LINE, parameters=("w", "b"))
    configs = [RunConfig("gd", {"lr": 0.05}, START)] * 3
    one = run(loss.sampled([1, 4, 7], seed=5), configs, 50, _stop(50))
    two = run(loss.sampled([1, 4, 7], seed=5), configs, 50, _stop(50))
    other = run(loss.sampled([1, 4, 7], seed=6), configs, 50, _stop(50))
    np.testing.assert_array_equal(one.positions, two.positions)
    assert not np.array_equal(one.positions, other.positions)
    eng = Engine(loss.sampled([1, 4, 7], seed=5), configs, _stop(50))
    joined = eng.advance(17).concat(eng.advance(20), eng.advance(13))
    np.testing.assert_array_equal(joined.positions, one.positions)
    np.testing.assert_array_equal(joined.grads, one.grads)


def test_a_run_sees_the_same_batches_whatever_races_beside_it():
    loss = compile_dataset_loss("(w*x + b - y)^2", LINE, parameters=("w", "b"))
    adam = RunConfig("adam", {"lr": 0.05}, START)
    alone = run(loss.sampled([3], seed=9), [adam], 25)
    # The engine regroups runs by optimizer internally; each run keeps its own stream.
    pair = run(loss.sampled([3, 1], seed=9), [adam, RunConfig("gd", {"lr": 0.01}, START)], 25)
    np.testing.assert_array_equal(pair.positions[:, 0], alone.positions[:, 0])
    a = run(loss.sampled([1, 3], seed=9), [RunConfig("gd", {"lr": 0.01}, START), adam], 25)
    b = run(loss.sampled([None, 3], seed=9), [RunConfig("momentum", {}, START), adam], 25)
    np.testing.assert_array_equal(a.positions[:, 1], b.positions[:, 1])
    assert not np.array_equal(a.positions[:, 1], alone.positions[:, 0])  # another run index


def test_batch_size_count_must_match_runs():
    loss = compile_dataset_loss("(w*x + b - y)^2", LINE)
    with pytest.raises(ValueError, match="one per run"):
        run(loss.sampled([1, 2]), [RunConfig("gd", {"lr": 0.1}, START)], 5)
    with pytest.raises(ValueError, match="batch size"):
        loss.sampled(0)
    with pytest.raises(ValueError, match="seed"):
        loss.sampled(2, seed=-1)


def test_a_diverging_stochastic_run_is_frozen_and_reported():
    loss = compile_dataset_loss("(w*x + b - y)^2", LINE, parameters=("w", "b"))
    obj = loss.sampled(2, seed=0)
    traj = run(obj, [RunConfig("gd", {"lr": 5.0}, START)], 200, _stop(200))
    assert traj.status == ["diverged"]
    last = traj.last_row(0)
    assert np.isfinite(traj.positions[last:, 0]).all()
    _check_batch_gradients(loss, obj, traj)


@pytest.mark.parametrize("penalty", [Penalty("l2", 0.2), Penalty("l1", 0.2), Penalty()])
@pytest.mark.parametrize("size", [None, 1, 6])
def test_one_run_with_a_penalty(penalty, size):
    # A lone run takes the engine's fastest paths (scalars; statistics for batch).
    loss = compile_dataset_loss("(w*x + b - y)^2", LINE, parameters=("w", "b"), penalty=penalty)
    obj = loss.sampled(size, seed=3)
    traj = run(obj, [RunConfig("adam", {"lr": 0.1}, START)], 20, _stop(20))
    _, checked = _check_batch_gradients(loss, obj, traj, penalty)
    assert checked == 21
