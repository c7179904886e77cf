"""Full-data loss through an affine inner argument: ℓ = F(u(θ, data), data).

The affine path forms u for blocks of grid points and samples with one matrix
product; it must give the numbers of the plain chunked path (and of an
independent NumPy computation), and must not be taken when ℓ has another form.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from gdviz.core import dataset_loss
from gdviz.core.data import Dataset, make_builtin
from gdviz.core.dataset_loss import Penalty, compile_dataset_loss
from gdviz.core.surface import sample_grid

RNG = np.random.default_rng(7)
# Labels that are not ±1 so that -y·(w·x + b) and w·(-y·x) + b·(-y) round differently.
ODD = Dataset(
    "odd",
    {"x": RNG.normal(0.0, 2.0, 700), "y": RNG.choice([-1.7, 0.3, 1.0], 700)},
)
LINE = make_builtin("line", n=500, seed=3)
OUT = make_builtin("outliers", n=500, seed=3)
CLS = make_builtin("classes", n=500, seed=3)

# text, dataset, independent per-sample NumPy ℓ(w, b, x, y)
AFFINE = {
    "logistic": (
        "log(1 + exp(-y*(w*x + b)))",
        CLS,
        lambda w, b, x, y: np.logaddexp(0.0, -y * (w * x + b)),
    ),
    "logistic-odd-labels": (
        "log(1 + exp(-y*(w*x + b)))",
        ODD,
        lambda w, b, x, y: np.logaddexp(0.0, -y * (w * x + b)),
    ),
    "absolute": ("abs(w*x + b - y)", OUT, lambda w, b, x, y: np.abs(w * x + b - y)),
    "logcosh": ("log(cosh(w*x + b - y))", LINE, lambda w, b, x, y: np.log(np.cosh(w * x + b - y))),
    "data-in-outer": (
        "exp(-x^2) * abs(w*exp(x) + b*y - 1)",
        ODD,
        lambda w, b, x, y: np.exp(-(x**2)) * np.abs(w * np.exp(x) + b * y - 1),
    ),
}


def _grid() -> np.ndarray:
    ws, bs = np.meshgrid(np.linspace(-3, 3, 23), np.linspace(-2.5, 3.5, 19))
    return np.stack([ws, bs], axis=-1).reshape(-1, 2)


def _independent(fn, data: Dataset, pts: np.ndarray) -> np.ndarray:
    x, y = data.column("x")[None, :], data.column("y")[None, :]
    return fn(pts[:, :1], pts[:, 1:], x, y).mean(axis=1)


def _chunked_value(loss, pts: np.ndarray) -> np.ndarray:
    return loss._chunked(loss._value, pts, 1)[0]


@pytest.mark.parametrize("name", list(AFFINE))
def test_affine_path_matches_chunked_and_numpy(name):
    text, data, fn = AFFINE[name]
    loss = compile_dataset_loss(text, data, parameters=("w", "b"))
    assert loss.uses_affine and not loss.uses_statistics
    pts = _grid()
    got = loss.value(pts)
    np.testing.assert_allclose(got, _chunked_value(loss, pts), rtol=1e-12, atol=0)
    np.testing.assert_allclose(got, _independent(fn, data, pts), rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", ["logistic-odd-labels", "absolute"])
def test_affine_blocks_cover_every_point_and_sample(name, monkeypatch):
    # Blocks smaller than the data (with remainders) on both axes.
    text, data, fn = AFFINE[name]
    loss = compile_dataset_loss(text, data, parameters=("w", "b"))
    pts = _grid()
    whole = loss.value(pts)
    monkeypatch.setattr(dataset_loss, "AFFINE_CHUNK_ELEMENTS", 97)
    small_samples = loss.value(pts)
    monkeypatch.setattr(dataset_loss, "AFFINE_CHUNK_ELEMENTS", 3 * data.n + 5)
    small_points = loss.value(pts)
    ref = _independent(fn, data, pts)
    for got in (whole, small_samples, small_points):
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0)


def test_affine_surface_with_penalty_and_subset():
    text, data, fn = AFFINE["logistic"]
    loss = compile_dataset_loss(text, data, parameters=("w", "b"), penalty=Penalty("l2", 0.05))
    grid = sample_grid(loss, ((-3, 3), (-2, 2)), 17)
    ws, bs = np.meshgrid(grid.xs, grid.ys)
    pts = np.stack([ws, bs], axis=-1).reshape(-1, 2)
    ref = _independent(fn, data, pts) + 0.05 * (pts**2).sum(axis=1)
    np.testing.assert_allclose(grid.z.reshape(-1), ref, rtol=1e-12, atol=0)
    # The value from the affine path agrees with the (chunked) value-and-gradient path.
    v, _ = loss.value_and_grad(pts)
    np.testing.assert_allclose(loss.value(pts), v, rtol=1e-12, atol=0)
    sub = loss.subset(np.arange(0, data.n, 7))
    assert sub.uses_affine
    x, y = data.column("x")[::7], data.column("y")[::7]
    ref_sub = np.logaddexp(0.0, -y[None] * (pts[:, :1] * x[None] + pts[:, 1:])).mean(axis=1)
    np.testing.assert_allclose(
        sub.value(pts), ref_sub + 0.05 * (pts**2).sum(axis=1), rtol=1e-12, atol=0
    )


FALLBACK = {
    # θ in two different non-affine places
    "sin-exp": ("sin(w*x)*exp(b*y)", LINE, lambda w, b, x, y: np.sin(w * x) * np.exp(b * y)),
    # two different affine arguments
    "two-args": (
        "abs(w*x + b - y) + abs(w)",
        OUT,
        lambda w, b, x, y: np.abs(w * x + b - y) + np.abs(w),
    ),
    # θ outside the affine argument too
    "affine-and-param": (
        "b^2 * log(cosh(w*x - y))",
        LINE,
        lambda w, b, x, y: b**2 * np.log(np.cosh(w * x - y)),
    ),
}


@pytest.mark.parametrize("name", list(FALLBACK))
def test_other_losses_fall_back_to_chunked(name):
    text, data, fn = FALLBACK[name]
    loss = compile_dataset_loss(text, data, parameters=("w", "b"))
    assert not loss.uses_affine and not loss.uses_statistics
    assert "aouter" not in loss.sources
    pts = _grid()
    got = loss.value(pts)
    np.testing.assert_array_equal(got, _chunked_value(loss, pts))
    np.testing.assert_allclose(got, _independent(fn, data, pts), rtol=1e-12, atol=0)


def test_polynomial_loss_keeps_statistics():
    loss = compile_dataset_loss("(w*x + b - y)^2", LINE, parameters=("w", "b"))
    assert loss.uses_statistics and not loss.uses_affine


def test_non_finite_coefficients_fall_back():
    # log(x) is NaN for x ≤ 0: the coefficient rows are unusable, so the
    # chunked path (which gives the same NaN-propagating values) is used.
    loss = compile_dataset_loss("abs(w*log(x) + b - y)", LINE, parameters=("w", "b"))
    assert not loss.uses_affine
    assert "acoef" in loss.sources
    pts = _grid()
    np.testing.assert_array_equal(loss.value(pts), _chunked_value(loss, pts))


@pytest.mark.parametrize("path", ["affine", "chunked", "vg"])
@pytest.mark.parametrize("threads", [2, 3])
def test_threads_split_points_without_changing_a_number(path, threads, monkeypatch):
    # Each thread owns a contiguous range of points and sums the samples in
    # the same order, so the split must give bit-identical results.
    text, data, _ = AFFINE["logistic-odd-labels"] if path == "affine" else FALLBACK["sin-exp"]
    loss = compile_dataset_loss(text, data, parameters=("w", "b"))
    pts = _grid()

    def evaluate():
        if path == "vg":
            v, g = loss.value_and_grad(pts)
            return np.concatenate([v[:, None], g], axis=1)
        return loss.value(pts)

    monkeypatch.setattr(dataset_loss, "THREADS", 1)
    alone = evaluate()
    monkeypatch.setattr(dataset_loss, "THREADS", threads)
    monkeypatch.setattr(dataset_loss, "PARALLEL_MIN_ELEMENTS", 1)
    calls = []
    real = dataset_loss._over_points

    def spy(m_pts, n, work):
        def logged(a, b):
            calls.append((a, b))
            work(a, b)

        real(m_pts, n, logged)

    monkeypatch.setattr(dataset_loss, "_over_points", spy)
    split = evaluate()
    bounds = np.linspace(0, len(pts), threads + 1).astype(int).tolist()
    assert sorted(calls) == list(itertools.pairwise(bounds))
    np.testing.assert_array_equal(split, alone)


def test_an_error_in_one_thread_reaches_the_caller_after_all_finish(monkeypatch):
    monkeypatch.setattr(dataset_loss, "THREADS", 2)
    monkeypatch.setattr(dataset_loss, "PARALLEL_MIN_ELEMENTS", 1)
    done = []

    def work(a, b):
        if a == 0:
            raise ValueError("bad block")
        time.sleep(0.05)
        done.append((a, b))

    with pytest.raises(ValueError, match="bad block"):
        dataset_loss._over_points(10, 10, work)
    assert done == [(5, 10)]
