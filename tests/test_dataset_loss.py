"""Per-sample losses over a dataset: roles of names, exact values and derivatives, penalties."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gdviz.core.data import Dataset, make_builtin
from gdviz.core.dataset_loss import (
    Penalty,
    compile_dataset_loss,
    compile_model,
    parse_batch_size,
    parse_penalty,
)
from gdviz.core.expression import ExpressionError
from gdviz.core.surface import sample_grid

LINE = make_builtin("line", n=60, seed=2)
OUT = make_builtin("outliers", n=60, seed=2)
CLS = make_builtin("classes", n=60, seed=2)


def _softplus(z):
    return np.logaddexp(0.0, z)


# text, dataset, independent per-sample NumPy loss ℓ(w, b, x, y), polynomial?
CASES = {
    "squared": ("(w*x + b - y)^2", LINE, lambda w, b, x, y: (w * x + b - y) ** 2, True),
    "abs": ("abs(w*x + b - y)", OUT, lambda w, b, x, y: np.abs(w * x + b - y), False),
    "logistic": (
        "log(1 + exp(-y*(w*x + b)))",
        CLS,
        lambda w, b, x, y: _softplus(-y * (w * x + b)),
        False,
    ),
    "quartic": ("(w*x + b - y)^4 / 10", LINE, lambda w, b, x, y: (w * x + b - y) ** 4 / 10, True),
    "sixth": ("(w*x + b - y)^6", LINE, lambda w, b, x, y: (w * x + b - y) ** 6, False),
    "huberish": (
        "sqrt(1 + (w*x + b - y)^2) - 1",
        OUT,
        lambda w, b, x, y: np.sqrt(1 + (w * x + b - y) ** 2) - 1,
        False,
    ),
}
POINTS = np.array([[0.3, -0.2], [1.5, 0.5], [-1.0, 2.0], [0.0, 0.0]])


def _mean_loss(fn, data, p):
    x, y = data.column("x"), data.column("y")
    return np.array([np.mean(fn(w, b, x, y)) for w, b in p])


@pytest.mark.parametrize("case", list(CASES))
def test_full_value_grad_hess_match_independent_numpy(case):
    text, data, fn, poly = CASES[case]
    loss = compile_dataset_loss(text, data, parameters=("w", "b"))
    assert loss.variables == ("w", "b") and loss.data_names == ("x", "y")
    assert loss.uses_statistics is poly
    np.testing.assert_allclose(loss.value(POINTS), _mean_loss(fn, data, POINTS), rtol=1e-10)
    # Derivatives against central differences of the independent mean.
    h = 1e-5
    for p in POINTS:
        fd = []
        for j in range(2):
            e = np.zeros(2)
            e[j] = h
            fd.append((_mean_loss(fn, data, [p + e]) - _mean_loss(fn, data, [p - e]))[0] / (2 * h))
        np.testing.assert_allclose(loss.grad(p), fd, rtol=1e-5, atol=1e-6)
        fdh = np.array(
            [
                (loss.grad(p + np.eye(2)[j] * h) - loss.grad(p - np.eye(2)[j] * h)) / (2 * h)
                for j in range(2)
            ]
        )
        np.testing.assert_allclose(loss.hess(p), fdh, rtol=1e-4, atol=1e-5)
    assert loss.value(POINTS.reshape(2, 2, 2)).shape == (2, 2)
    assert loss.hess(POINTS).shape == (4, 2, 2)
    assert loss.value_at([0.3, -0.2]) == pytest.approx(float(loss.value(POINTS[:1])[0]))


def test_statistics_path_equals_direct_mean_on_big_grid():
    big = make_builtin("line", n=3000, seed=9)
    loss = compile_dataset_loss("(w*x + b - y)^2", big, parameters=("w", "b"))
    assert loss.uses_statistics
    g = sample_grid(loss, ((-2, 4), (-3, 3)), 25)
    w, b = np.meshgrid(g.xs, g.ys)
    x, y = big.column("x"), big.column("y")
    direct = ((w[..., None] * x + b[..., None] - y) ** 2).mean(axis=-1)
    np.testing.assert_allclose(g.z, direct, rtol=1e-10)


def test_names_split_into_data_and_parameters():
    loss = compile_dataset_loss("(w*x + b - y)^2", LINE)
    assert set(loss.variables) == {"w", "b"} and loss.data_names == ("x", "y")
    assert "data: x, y" in loss.roles() and "parameters:" in loss.roles()
    one = compile_dataset_loss("(w*x - y)^2", LINE)
    assert one.variables == ("w",) and one.dim == 1
    assert one.grad([[1.0]]).shape == (1, 1)
    only_y = compile_dataset_loss("(m - y)^2", LINE)
    assert only_y.data_names == ("y",)
    np.testing.assert_allclose(only_y.grad([[0.0]])[0, 0], -2 * LINE.column("y").mean())


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("(x - y)^2", {}, "no parameters to fit"),
        ("(w - b)^2", {}, "uses no data column"),
        ("(a*x + b*x + c - y)^2", {}, "3 variables"),
        ("(w*x + b - y)^2", {"parameters": ("w", "x")}, "'x' is a data column"),
        ("(w*x + b - y", {}, "column"),
        ("(w*x + b - z)^2", {"parameters": ("w", "b")}, "unknown name 'z'"),
    ],
)
def test_bad_losses_are_explained(text, kwargs, message):
    with pytest.raises(ExpressionError, match=message):
        compile_dataset_loss(text, LINE, **kwargs)


def test_columns_with_unusable_names_are_not_data():
    d = Dataset("d", {"x": [1.0, 2.0], "exp": [3.0, 4.0], "y": [0.0, 1.0]})
    loss = compile_dataset_loss("(w*x - y)^2 + exp(w)", d)
    assert loss.data_names == ("x", "y")  # 'exp' stays the function


def test_per_sample_and_batch_values():
    loss = compile_dataset_loss("log(1 + exp(-y*(w*x + b)))", CLS, parameters=("w", "b"))
    x, y = CLS.column("x"), CLS.column("y")
    p = np.array([0.7, -0.3])
    idx = np.array([3, 5, 5, 40])
    z = -y[idx] * (p[0] * x[idx] + p[1])
    np.testing.assert_allclose(loss.sample_values(p, idx), _softplus(z), rtol=1e-13)
    sig = 1 / (1 + np.exp(-z))
    expect = np.stack([-y[idx] * x[idx] * sig, -y[idx] * sig], axis=-1)
    np.testing.assert_allclose(loss.sample_grads(p, idx), expect, rtol=1e-12)
    v, g = loss.batch_value_and_grad(np.array([p, p + 1]), np.array([idx, idx[::-1]]))
    np.testing.assert_allclose(v[0], _softplus(z).mean(), rtol=1e-13)
    np.testing.assert_allclose(g[0], expect.mean(axis=0), rtol=1e-12)
    v_all, g_all = loss.batch_value_and_grad(np.array([p]), None)
    np.testing.assert_allclose(v_all, loss.value(p[None]), rtol=1e-13)
    np.testing.assert_allclose(g_all, loss.grad(p[None]), rtol=1e-13)
    h = loss.batch_hess(np.array([p]), idx[None])
    w2 = sig * (1 - sig)
    expect_h = np.array(
        [[np.mean(w2 * x[idx] ** 2), np.mean(w2 * x[idx])], [np.mean(w2 * x[idx]), np.mean(w2)]]
    )
    np.testing.assert_allclose(h[0], expect_h, rtol=1e-12)


@pytest.mark.parametrize("kind", ["l2", "l1"])
@pytest.mark.parametrize("case", ["squared", "logistic"])
def test_penalty_adds_to_value_gradient_and_hessian(kind, case):
    text, data, _fn, _ = CASES[case]
    lam = 0.3
    plain = compile_dataset_loss(text, data, parameters=("w", "b"))
    reg = compile_dataset_loss(text, data, parameters=("w", "b"), penalty=Penalty(kind, lam))
    p = POINTS
    if kind == "l2":
        pv, pg, ph = lam * (p**2).sum(-1), 2 * lam * p, 2 * lam * np.eye(2)
    else:
        pv, pg, ph = lam * np.abs(p).sum(-1), lam * np.sign(p), np.zeros((2, 2))
    np.testing.assert_allclose(reg.value(p), plain.value(p) + pv, rtol=1e-12)
    np.testing.assert_allclose(reg.grad(p), plain.grad(p) + pg, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(reg.hess(p), plain.hess(p) + ph, rtol=1e-12, atol=1e-15)
    idx = np.arange(5)[None]
    v0, g0 = plain.batch_value_and_grad(p[:1], idx)
    v1, g1 = reg.batch_value_and_grad(p[:1], idx)
    np.testing.assert_allclose(v1, v0 + pv[:1], rtol=1e-12)
    np.testing.assert_allclose(g1, g0 + pg[:1], rtol=1e-12)
    assert r"0.3\left(" in reg.latex
    assert (r"\left|w\right|" in reg.latex) is (kind == "l1")
    assert "0.3" not in plain.latex


def test_latex_shows_the_mean_over_samples():
    loss = compile_dataset_loss("(w*x + b - y)^2", LINE, parameters=("w", "b"))
    assert loss.latex.startswith(r"\frac{1}{60}\sum_{i=1}^{60}")
    assert "x_{i}" in loss.latex and "y_{i}" in loss.latex
    assert r"\sum_{i\in B}" in loss.grad_latex and r"\sum_{i\in B}" in loss.hess_latex
    assert "x_{i}" in loss.sample_latex


def test_parse_penalty_and_batch_size():
    assert parse_penalty("l2=0.01") == Penalty("l2", 0.01)
    assert parse_penalty("L1:2") == Penalty("l1", 2.0)
    assert not parse_penalty("none").active and not parse_penalty(None).active
    for bad, msg in [
        ("l3=1", "l1 or l2"),
        ("l2", "write l2"),
        ("l2=x", "number"),
        ("l2=-1", ">= 0"),
    ]:
        with pytest.raises(ValueError, match=msg):
            parse_penalty(bad)
    assert parse_batch_size("batch") is None and parse_batch_size("all") is None
    assert parse_batch_size("1") == 1 and parse_batch_size("sgd") == 1
    assert parse_batch_size("32", n=100) == 32 and parse_batch_size("100", n=100) is None
    for bad in ("0", "-3", "two", "1.5"):
        with pytest.raises(ValueError, match="batch size"):
            parse_batch_size(bad)


def test_non_finite_samples_give_nan_or_inf_not_errors():
    d = Dataset("d", {"x": [0.0, 1.0], "y": [1.0, 2.0]})
    loss = compile_dataset_loss("log(w*x)", d)
    v = loss.value([[1.0], [-1.0]])
    assert not np.isfinite(v).any()  # log(0) and log of negatives: no warnings, no raise


@pytest.mark.parametrize(
    ("text", "data", "model", "link", "fn"),
    [
        ("(w*x + b - y)^2", LINE, "b + w*x", "identity", lambda p, x: p["w"] * x + p["b"]),
        ("abs(y - a*x)", OUT, "a*x", "identity", lambda p, x: p["a"] * x),  # read off the loss
        ("(a*x^2 + c - y)^2", LINE, "a*x**2 + c", "identity", lambda p, x: p["a"] * x**2 + p["c"]),
        (
            "log(1 + exp(-y*(w*x + b)))",
            CLS,
            "b + w*x",
            "sigmoid",
            lambda p, x: 1 / (1 + np.exp(-(p["w"] * x + p["b"]))),
        ),
    ],
)
def test_models_for_the_data_panel(text, data, model, link, fn):
    loss = compile_dataset_loss(text, data)
    m = compile_model(loss)
    assert m is not None and (m.text, m.column, m.target, m.link) == (model, "x", "y", link)
    theta = np.array([[0.5, -1.0], [2.0, 0.25]])[:, : loss.dim]
    xs = np.linspace(-2, 2, 7)
    expect = [
        np.broadcast_to(fn(dict(zip(loss.variables, row, strict=True)), xs), xs.shape)
        for row in theta
    ]
    np.testing.assert_allclose(m.predict(theta, xs), expect, rtol=1e-13)


def test_no_model_when_none_can_be_read():
    d = Dataset("d", {"x": [1.0, 2.0], "y": [0.0, 1.0], "z": [3.0, 4.0]})
    assert compile_model(compile_dataset_loss("(w*x + b*z - y)^2", d)) is None
    assert compile_model(compile_dataset_loss("cos(w*x - y)", d)) is None
    m = compile_model(compile_dataset_loss("cos(w*x - y)", d), "w*x")
    assert m is not None and m.column == "x"


def test_full_loss_curve_thins_rows_to_a_budget():
    from gdviz.core.engine import RunConfig, run

    loss = compile_dataset_loss("abs(w*x + b - y)", OUT, parameters=("w", "b"))
    obj = loss.sampled(4, seed=1)
    traj = run(obj, [RunConfig("gd", {"lr": 0.05}, (0.0, 0.0))] * 2, 99)
    rows, full = obj.full_loss_curve(traj)
    np.testing.assert_array_equal(rows, np.arange(100))
    rows, full = obj.full_loss_curve(traj, max_evaluations=2 * 60 * 10)
    # Every 16th row (the smallest power-of-two stride within 10 rows) and the last.
    np.testing.assert_array_equal(rows, [0, 16, 32, 48, 64, 80, 96, 99])
    np.testing.assert_allclose(full, loss.value(traj.positions[rows]), rtol=1e-12)


def test_full_loss_cache_evaluates_only_new_rows_and_never_stale_ones():
    from gdviz.core.dataset_loss import FullLossCache
    from gdviz.core.engine import RunConfig, run

    loss = compile_dataset_loss("abs(w*x + b - y)", OUT, parameters=("w", "b"))
    obj = loss.sampled(4, seed=1)
    evaluated = []
    real = loss.value

    def counting(p):
        evaluated.append(len(p))
        return real(p)

    loss.value = counting  # type: ignore[method-assign]
    configs = [RunConfig("gd", {"lr": 0.05}, (0.0, 0.0))] * 2
    traj = run(obj, configs, 399)
    budget = 2 * 60 * 40  # 40 rows of the 400
    cache = FullLossCache()
    # A trajectory delivered in growing parts: each part costs only its new rows.
    for n in (50, 120, 400):
        part = replace(traj, positions=traj.positions[:n])
        evaluated.clear()
        rows, full = obj.full_loss_curve(part, budget, cache)
        cost = sum(evaluated)
        want_rows, want = obj.full_loss_curve(part, budget)
        np.testing.assert_array_equal(rows, want_rows)
        np.testing.assert_array_equal(full, want)
        if n == 400:
            # Rows 0, 16, …, 112 were computed for the 120-row part already.
            assert rows[-1] == 399 and cost == len(rows) - 8
    # The same rows at other positions (a recomputed race) are computed afresh.
    other = run(obj, [RunConfig("gd", {"lr": 0.02}, (0.0, 0.0))] * 2, 399)
    rows, full = obj.full_loss_curve(other, budget, cache)
    np.testing.assert_array_equal(full, real(other.positions[rows]))
    # Another objective empties the cache.
    obj2 = loss.sampled(8, seed=1)
    evaluated.clear()
    rows, full = obj2.full_loss_curve(other, budget, cache)
    assert sum(evaluated) == len(rows)


def test_subset_is_the_same_loss_on_fewer_samples():
    loss = compile_dataset_loss("log(1 + exp(-y*(w*x + b)))", CLS, parameters=("w", "b"))
    idx = np.array([1, 4, 9, 30])
    sub = loss.subset(idx)
    assert sub.n == 4 and sub.variables == loss.variables and sub.latex.startswith(r"\frac{1}{4}")
    np.testing.assert_allclose(
        sub.value(POINTS), [loss.sample_values(p, idx).mean() for p in POINTS]
    )
    np.testing.assert_allclose(sub.grad(POINTS[1]), loss.sample_grads(POINTS[1], idx).mean(axis=0))
    with pytest.raises(ValueError, match="at least one"):
        loss.subset([])


def test_chunked_evaluation_adds_up_blocks_of_points_and_samples(monkeypatch):
    import gdviz.core.dataset_loss as dl

    text, data, fn, _ = CASES["logistic"]
    loss = compile_dataset_loss(text, data, parameters=("w", "b"))
    whole = loss.value_and_grad(POINTS)
    monkeypatch.setattr(dl, "CHUNK_ELEMENTS", 7)  # 7 samples per block: 9 blocks per point
    v, g = loss.value_and_grad(POINTS)
    np.testing.assert_allclose(v, whole[0], rtol=1e-13)
    np.testing.assert_allclose(g, whole[1], rtol=1e-13)
    np.testing.assert_allclose(v, _mean_loss(fn, data, POINTS), rtol=1e-12)


def test_an_objective_says_which_runs_it_fits():
    from gdviz.core.engine import RunConfig, run

    loss = compile_dataset_loss("abs(w*x + b - y)", OUT, parameters=("w", "b"))
    per_run = loss.sampled([None, 1, 4], seed=1)
    assert per_run.n_runs == 3 and per_run.variant(1) == "stochastic"
    three = run(per_run, [RunConfig("gd", {"lr": 0.05}, (0.0, 0.0))] * 3, 5)
    assert per_run.fits(three)
    four = run(loss.sampled(4), [RunConfig("gd", {"lr": 0.05}, (0.0, 0.0))] * 4, 5)
    assert not per_run.fits(four)  # computed before a run was added
    assert loss.sampled(4).n_runs is None and loss.sampled(4).fits(four)  # one size for all
    line = compile_dataset_loss("(w*x - y)^2", OUT, parameters=("w",)).sampled(None)
    assert not line.fits(four)  # other parameters
    with pytest.raises(IndexError, match="run 3: batch sizes were given for 3 runs"):
        per_run.variant(3)
