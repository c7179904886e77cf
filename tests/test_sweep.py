"""Maps in the core: the final-state runner, learning-rate sweeps, basins, clustering."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gdviz.core.engine import RunConfig, StopRules, run
from gdviz.core.loss import compile_loss
from gdviz.core.schedules import parse_schedule
from gdviz.core.specs import SpecError
from gdviz.core.sweep import (
    CONVERGED,
    DIVERGED,
    DIVERGED_LABEL,
    MAX_STEPS,
    NOT_CONVERGED,
    OTHER_MINIMUM,
    Cancelled,
    basin_map,
    cluster_minima,
    final_states,
    lr_grid,
    sweep_map,
    sweepable_params,
)

HIMMELBLAU = "(x^2 + y - 11)^2 + (x + y^2 - 7)^2"
HIMMELBLAU_MINIMA = [
    (3.0, 2.0),
    (-2.805118, 3.131312),
    (-3.779310, -3.283186),
    (3.584428, -1.848126),
]
# Hessian diag(4, 1): the largest curvature is L = 4, so GD converges iff lr < 2/L = 0.5.
QUADRATIC = "2x^2 + y^2/2"


@pytest.fixture(scope="module")
def himmelblau():
    return compile_loss(HIMMELBLAU)


@pytest.fixture(scope="module")
def quadratic():
    return compile_loss(QUADRATIC)


# --------------------------------------------------------------------------- runner


def test_final_states_match_full_engine_runs(himmelblau):
    """Status, stop step, final point and loss equal the engine's for every optimizer."""
    rng = np.random.default_rng(3)
    names = ["gd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam"]
    names += ["adamw", "adamax", "nadam", "newton"]
    cosine = parse_schedule("cosine:t_max=80,warmup=5")
    configs = []
    for i in range(220):
        opt = names[i % len(names)]
        lr = float(10 ** rng.uniform(-3.5, -0.3))
        sched = cosine if i % 4 == 0 else parse_schedule("constant")
        configs.append(RunConfig(opt, {"lr": lr}, tuple(rng.uniform(-6, 6, 2)), sched))
    stop = StopRules(max_steps=250, grad_tol=1e-5, loss_tol=1e-12, bound=1e6)
    traj = run(himmelblau, configs, 250, stop, record_state=False)
    # Small chunks force many chunks and the dropping of stopped runs.
    res = final_states(himmelblau, configs, stop, chunk_runs=23)
    assert res.status_names() == traj.status
    np.testing.assert_array_equal(res.stop_step, traj.stop_step)
    last = [traj.last_row(k) for k in range(len(configs))]
    np.testing.assert_array_equal(res.position, traj.positions[last, range(len(configs))])
    np.testing.assert_array_equal(res.loss, traj.losses[last, range(len(configs))])
    # The mix really exercises every outcome.
    assert {"converged", "diverged", "max_steps"} <= set(traj.status)


def test_final_states_needs_a_step_limit(himmelblau):
    with pytest.raises(ValueError, match="step limit"):
        final_states(himmelblau, [RunConfig("gd", {}, (0.0, 0.0))], StopRules())
    with pytest.raises(ValueError, match="no runs"):
        final_states(himmelblau, [], StopRules(max_steps=3))
    with pytest.raises(ValueError, match="coordinate"):
        final_states(himmelblau, [RunConfig("gd", {}, (0.0,))], StopRules(max_steps=3))


# --------------------------------------------------------------------------- sweeps


def test_gd_sweep_diverges_exactly_above_two_over_L(quadratic):
    bound = 2.0 / 4.0
    below = [bound * (1 - e) for e in (0.3, 0.1, 1e-2, 1e-3)]
    above = [bound * (1 + e) for e in (1e-3, 1e-2, 0.1, 0.3)]
    m = sweep_map(quadratic, RunConfig("gd", {}, (1.0, 1.0)), [*below, bound, *above], steps=30_000)
    status = m.status[0]
    assert (status[:4] == CONVERGED).all()
    assert status[4] == MAX_STEPS  # lr = 2/L exactly: x oscillates ±1 forever
    assert (status[5:] == DIVERGED).all()
    # Closer to the bound, convergence takes longer.
    assert np.all(np.diff(m.stop_step[0, :4]) > 0)


def test_momentum_sweep_follows_heavy_ball_bound(quadratic):
    """Heavy ball on curvature L converges iff lr < 2(1 + μ)/L: rows are μ, columns lr."""
    mus = [0.0, 0.3, 0.6, 0.9]
    lrs = lr_grid(0.05, 2.0, 41)
    m = sweep_map(
        quadratic,
        RunConfig("momentum", {"dampening": 0.0}, (1.0, -1.0)),
        lrs,
        y_param="momentum",
        y_values=mus,
        steps=20_000,
    )
    assert m.shape == (4, 41)
    for row, mu in enumerate(mus):
        limit = 2 * (1 + mu) / 4
        conv = m.status[row] == CONVERGED
        div = m.status[row] == DIVERGED
        assert conv[lrs < limit * 0.97].all(), (mu, m.status[row])
        assert div[lrs > limit * 1.03].all(), (mu, m.status[row])
        # The config of a cell is that run.
        cfg = m.config(row, 0)
        assert cfg.params["momentum"] == mu and cfg.params["lr"] == lrs[0]


def test_clicked_cell_config_replays_the_same_run(himmelblau):
    m = sweep_map(
        himmelblau,
        RunConfig("adam", {"beta2": 0.99}, (-1.0, 0.5)),
        lr_grid(1e-3, 3.0, 9),
        y_param="beta1",
        y_values=[0.0, 0.5, 0.9],
        steps=400,
        grad_tol=1e-4,
    )
    for row, col in [(0, 0), (1, 4), (2, 8), (2, 5)]:
        cfg = m.config(row, col)
        assert cfg.optimizer == "adam" and cfg.start == (-1.0, 0.5)
        assert cfg.params["beta2"] == 0.99
        traj = run(himmelblau, [cfg], 400, StopRules(max_steps=400, grad_tol=1e-4))
        assert (
            traj.status[0]
            == ["running", "diverged", "converged", "max_steps"][int(m.status[row, col])]
        )
        assert traj.stop_step[0] == m.stop_step[row, col]


def test_optimizer_axis_keeps_only_settings_each_optimizer_has(quadratic):
    m = sweep_map(
        quadratic,
        RunConfig("momentum", {"momentum": 0.5, "weight_decay": 0.01}, (1.0, 1.0)),
        [0.01, 0.1],
        y_param="optimizer",
        y_values=["gd", "Adam", "momentum"],
        steps=50,
    )
    assert m.y_values == ("gd", "adam", "momentum")
    assert m.config(0, 1) == RunConfig("gd", {"weight_decay": 0.01, "lr": 0.1}, (1.0, 1.0))
    assert m.config(1, 0).params == {"weight_decay": 0.01, "lr": 0.01}
    assert m.config(2, 0).params["momentum"] == 0.5
    assert m.y_label(1) == "adam"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"y_param": "nonsense", "y_values": [1]}, SpecError, "no numeric setting"),
        ({"y_param": "lr", "y_values": [1]}, SpecError, "no numeric setting"),
        ({"y_param": "beta1", "y_values": [1.0]}, SpecError, r"beta1=1 is out of range"),
        ({"y_param": "optimizer", "y_values": ["sgdd"]}, SpecError, "unknown optimizer"),
        ({"y_param": "beta1", "y_values": []}, ValueError, "no values"),
    ],
)
def test_sweep_rejects_bad_axes(quadratic, kwargs, error, match):
    with pytest.raises(error, match=match):
        sweep_map(quadratic, RunConfig("adam", {}, (1.0, 1.0)), [0.1], steps=5, **kwargs)


def test_sweep_rejects_bad_learning_rates_and_starts(quadratic):
    base = RunConfig("gd", {}, (1.0, 1.0))
    for lrs in ([], [0.0], [-1.0], [math.nan]):
        with pytest.raises(ValueError):
            sweep_map(quadratic, base, lrs, steps=5)
    with pytest.raises(ValueError, match="coordinate"):
        sweep_map(quadratic, RunConfig("gd", {}, (1.0,)), [0.1], steps=5)
    with pytest.raises(ValueError):
        lr_grid(1.0, 0.1, 5)


def test_sweepable_params_are_numeric_and_not_lr():
    assert sweepable_params("adam") == ["beta1", "beta2", "eps", "weight_decay"]
    assert "momentum" in sweepable_params("momentum")
    with pytest.raises(SpecError):
        sweepable_params("nope")


def test_sweep_csv_has_a_row_per_cell(quadratic):
    m = sweep_map(
        quadratic,
        RunConfig("momentum", {}, (1.0, 1.0)),
        [0.1, 0.2, 3.0],
        y_param="momentum",
        y_values=[0.1, 0.5],
        steps=200,
    )
    rows = m.csv_rows()
    assert rows[0] == ["lr", "momentum", "status", "steps", "final_loss", "final_x", "final_y"]
    assert len(rows) == 1 + 6
    assert rows[1][:3] == ["0.1", "0.1", "converged"]
    assert rows[3][2] == "diverged"
    assert float(rows[1][4]) == m.final_loss[0, 0]


# --------------------------------------------------------------------------- basins


def test_himmelblau_basin_map_finds_its_four_minima(himmelblau):
    m = basin_map(himmelblau, RunConfig("gd", {"lr": 0.01}), ((-5, 5), (-5, 5)), 60, steps=500)
    assert len(m.minima) == 4
    found = sorted(m.minima, key=lambda mn: mn.position)
    for mn, want in zip(found, sorted(HIMMELBLAU_MINIMA), strict=True):
        assert mn.position == pytest.approx(want, abs=1e-5)
        assert mn.loss < 1e-12
        assert mn.count > 0.1 * 60 * 60  # each basin is a real share of the square
    assert sum(mn.count for mn in m.minima) == (m.labels >= 0).sum()
    # A start next to each minimum is labelled with that minimum.
    for i, mn in enumerate(m.minima):
        row, col = m.cell_at(mn.position)
        assert m.labels[row, col] == i
    # Rows follow y, columns x: cell centres.
    assert m.start(0, 0) == pytest.approx((-5 + 5 / 60, -5 + 5 / 60))
    assert m.start(59, 0)[1] > 4.9


def test_basin_map_labels_diverged_and_unconverged_runs():
    loss = compile_loss("x^2 + y^2")
    # GD on x² + y² (L = 2) diverges for lr > 1 from every start but the centre.
    m = basin_map(loss, RunConfig("gd", {"lr": 1.2}), ((-1, 1), (-1, 1)), 8, steps=2000)
    assert (m.labels == DIVERGED_LABEL).all() and m.minima == ()
    m = basin_map(loss, RunConfig("gd", {"lr": 1e-4}), ((-1, 1), (-1, 1)), 8, steps=10)
    assert (m.labels == NOT_CONVERGED).all()
    assert (m.status == MAX_STEPS).all()


def test_one_variable_basin_map_splits_a_double_well_at_zero():
    loss = compile_loss("x^4 - 2x^2")
    m = basin_map(loss, RunConfig("gd", {"lr": 0.05}), ((-2, 2),), 40, steps=2000)
    assert m.shape == (1, 40)
    assert [mn.position[0] for mn in sorted(m.minima, key=lambda mn: mn.position)] == (
        pytest.approx([-1.0, 1.0], abs=1e-6)
    )
    left = m.minima[0].position[0] < 0
    labels = m.labels[0]
    assert (labels[:20] == (0 if left else 1)).all()
    assert (labels[20:] == (1 if left else 0)).all()


def test_basin_csv_rows(himmelblau):
    m = basin_map(himmelblau, RunConfig("gd", {"lr": 0.01}), ((-5, 5), (-4, 4)), (5, 3), steps=300)
    rows = m.csv_rows()
    assert rows[0][:5] == ["start_x", "start_y", "status", "steps", "basin"]
    assert len(rows) == 1 + 15
    assert float(rows[1][0]) == pytest.approx(-4.0) and float(rows[1][1]) == pytest.approx(
        -4 + 8 / 6
    )


def test_basin_map_rejects_bad_input(himmelblau):
    cfg = RunConfig("gd", {"lr": 0.01})
    with pytest.raises(ValueError, match="x range"):
        basin_map(himmelblau, cfg, ((1, -1), (0, 1)), 4)
    with pytest.raises(ValueError, match="merge_tol"):
        basin_map(himmelblau, cfg, ((-1, 1), (-1, 1)), 4, merge_tol=0)
    with pytest.raises(SpecError):
        basin_map(himmelblau, RunConfig("gd", {"lr": -1.0}), ((-1, 1), (-1, 1)), 4)
    with pytest.raises(ValueError, match="1×1"):
        basin_map(himmelblau, cfg, ((-1, 1), (-1, 1)), 0)


# --------------------------------------------------------------------------- clustering


def test_clustering_is_deterministic_and_order_free():
    rng = np.random.default_rng(1)
    centres = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 5.0]])
    pts = np.repeat(centres, 50, axis=0) + rng.normal(0, 1e-3, (150, 2))
    vals = rng.uniform(0, 1, 150)
    labels, minima = cluster_minima(pts, vals, tol=0.1)
    assert len(minima) == 3
    assert [m.count for m in minima] == [50, 50, 50]
    # Lowest loss first; each minimum is its cluster's best point.
    assert [m.loss for m in minima] == sorted(m.loss for m in minima)
    for i, m in enumerate(minima):
        assert m.loss == vals[labels == i].min()
    perm = rng.permutation(150)
    labels2, minima2 = cluster_minima(pts[perm], vals[perm], tol=0.1)
    assert minima2 == minima
    np.testing.assert_array_equal(labels2, labels[perm])
    # A tolerance wider than the gap merges the two close minima.
    _, merged = cluster_minima(pts, vals, tol=1.5)
    assert sorted(m.count for m in merged) == [50, 100]


def test_clustering_caps_the_number_of_minima():
    pts = np.arange(10.0)[:, None]
    labels, minima = cluster_minima(pts, np.zeros(10), tol=0.1, max_minima=3)
    assert len(minima) == 3
    assert (labels == OTHER_MINIMUM).sum() == 7
    labels, minima = cluster_minima(np.empty((0, 2)), np.empty(0), tol=1)
    assert minima == () and labels.size == 0


# --------------------------------------------------------------------------- progress


def test_progress_reports_and_cancels(himmelblau):
    calls = []

    def progress(done, total):
        calls.append((done, total))

    basin_map(
        himmelblau,
        RunConfig("gd", {"lr": 1e-4}),
        ((-5, 5), (-5, 5)),
        20,
        steps=200,
        progress=progress,
        chunk_runs=100,
    )
    dones = [d for d, _ in calls]
    assert dones == sorted(dones) and dones[0] == 0
    assert calls[-1] == (400 * 200, 400 * 200)
    assert len(calls) > 4 * 8  # several reports per chunk

    seen = []

    def cancel_soon(done, total):
        seen.append(done)
        return len(seen) < 3

    with pytest.raises(Cancelled):
        basin_map(
            himmelblau,
            RunConfig("gd", {"lr": 1e-4}),
            ((-5, 5), (-5, 5)),
            20,
            steps=200,
            progress=cancel_soon,
            chunk_runs=100,
        )
    assert len(seen) == 3  # stopped at the first refusal

    def boom(done, total):
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep_map(himmelblau, RunConfig("gd", {}, (0.0, 0.0)), [1e-4], steps=500, progress=boom)
