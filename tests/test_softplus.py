"""log(1 + exp(z)) compiles as a softplus: same numbers, no overflow, readable LaTeX."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from gdviz.core.data import make_builtin
from gdviz.core.dataset_loss import compile_dataset_loss
from gdviz.core.expression import Sigmoid, Softplus, parse_expression
from gdviz.core.loss import compile_loss
from gdviz.core.surface import sample_grid

SPELLINGS = [
    "log(1 + exp(x*y))",
    "ln(1 + exp(x*y))",
    "log(exp(x*y) + 1)",
    "log(1 + e^(x y))",
    "softplus(x*y)",
]


def _plain(x, y):
    """The formula as typed, in NumPy: overflows for x*y > 709."""
    return np.log(1 + np.exp(x * y))


def _plain_grad(x, y):
    s = np.exp(x * y) / (1 + np.exp(x * y))
    return np.stack([y * s, x * s], axis=-1)


def _plain_hess(x, y):
    z = x * y
    s = np.exp(z) / (1 + np.exp(z))
    q = s * (1 - s)
    return np.stack(
        [np.stack([q * y * y, q * z + s], -1), np.stack([q * z + s, q * x * x], -1)], -2
    )


def _points(n=200, seed=3):
    return np.random.default_rng(seed).uniform(-4, 4, size=(n, 2))


@pytest.mark.parametrize("text", SPELLINGS)
def test_spellings_become_softplus(text):
    expr = parse_expression(text).expr
    x, y = sympy.symbols("x y", real=True)
    assert expr == Softplus(x * y)
    assert not expr.has(sympy.log) and not expr.has(sympy.exp)


@pytest.mark.parametrize("text", SPELLINGS)
def test_value_grad_hess_equal_the_plain_formula(text):
    loss = compile_loss(text)
    p = _points()
    x, y = p[:, 0], p[:, 1]
    # log(1 + e^z) itself is only good to ~1e-16 absolute where e^z is small.
    np.testing.assert_allclose(loss.value(p), _plain(x, y), rtol=1e-13, atol=4e-16)
    np.testing.assert_allclose(loss.value(p), np.logaddexp(0.0, x * y), rtol=1e-14)
    np.testing.assert_allclose(loss.grad(p), _plain_grad(x, y), rtol=1e-12, atol=1e-15)
    # sigma (1 - sigma) cancels for large z in either form: ~1e-16 * y^2 absolute.
    np.testing.assert_allclose(loss.hess(p), _plain_hess(x, y), rtol=1e-11, atol=1e-14)
    v, g = loss.value_and_grad(p)
    assert np.array_equal(v, loss.value(p)) and np.array_equal(g, loss.grad(p))


def test_derivatives_match_central_differences():
    loss = compile_loss("log(1 + exp(x*y - 2x))")
    p = _points(50, seed=5) / 2
    h = 1e-6
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        fd = (loss.value(p + e) - loss.value(p - e)) / (2 * h)
        np.testing.assert_allclose(loss.grad(p)[:, i], fd, rtol=1e-6, atol=1e-8)
        fd2 = (loss.grad(p + e) - loss.grad(p - e)) / (2 * h)
        np.testing.assert_allclose(loss.hess(p)[:, i, :], fd2, rtol=1e-6, atol=1e-7)


def test_large_arguments_stay_finite_where_the_plain_formula_overflows():
    loss = compile_loss("log(1 + exp(x*y))")
    p = np.array([[800.0, 1.0], [1.0, 1e6], [-800.0, 1.0], [3.0, 1e100]])
    with np.errstate(all="ignore"):
        plain = _plain(p[:, 0], p[:, 1])
        plain_grad = _plain_grad(p[:, 0], p[:, 1])
    assert np.isinf(plain[0]) and np.isnan(plain_grad[0]).all()  # what is fixed
    v, g, h = loss.value(p), loss.grad(p), loss.hess(p)
    assert np.isfinite(v).all() and np.isfinite(g).all() and np.isfinite(h).all()
    np.testing.assert_allclose(v, [800.0, 1e6, 0.0, 3e100], rtol=1e-15)
    np.testing.assert_allclose(g, [[1.0, 800.0], [1e6, 1.0], [0.0, 0.0], [1e100, 3.0]])
    # sigma' = sigma (1 - sigma) is 0 to float64 precision this far out.
    np.testing.assert_allclose(h[0], [[0.0, 1.0], [1.0, 0.0]])
    assert loss.value_at((800.0, 1.0)) == 800.0


def test_overflow_fix_keeps_nan_and_the_other_entries():
    loss = compile_loss("log(1 + exp(x*y))")
    p = np.array([[np.nan, 1.0], [800.0, 1.0], [2.0, 0.5], [np.inf, 1.0], [-np.inf, 1.0]])
    v = loss.value(p)
    assert np.isnan(v[0])
    assert v[1] == 800.0 and v[3] == np.inf and v[4] == 0.0
    np.testing.assert_allclose(v[2], np.log1p(np.e), rtol=1e-15)


def test_small_values_keep_their_relative_accuracy():
    # log(1 + e^z) rounds to 0 for z < -37; softplus is e^z there.
    loss = compile_loss("log(1 + exp(x))", variables=("x",))
    z = np.array([-40.0, -100.0, -700.0])
    np.testing.assert_allclose(loss.value(z[:, None]), np.exp(z), rtol=1e-14)
    np.testing.assert_allclose(loss.grad(z[:, None])[:, 0], np.exp(z), rtol=1e-13)


def test_latex_reads_as_typed():
    loss = compile_loss("log(1 + exp(x*y))")
    assert loss.latex == r"\log{\left(1 + e^{x y} \right)}"
    assert r"\sigma\left(x y\right)" in loss.grad_latex
    squared = compile_loss("log(1+exp(x))^2 + y").latex
    assert r"\left(\log{\left(1 + e^{x} \right)}\right)^{2}" in squared


def test_text_form_parses_back_to_the_same_expression():
    expr = parse_expression(
        "log(1 + exp(-y*(w*x + b)))", variables=("w", "b"), data=("x", "y")
    ).expr
    text = sympy.sstr(expr)
    assert text == "log(1 + exp(-y*(b + w*x)))"
    again = parse_expression(text, variables=("w", "b"), data=("x", "y")).expr
    assert again == expr
    x = sympy.Symbol("x", real=True)
    assert sympy.sstr(Sigmoid(x)) == "sigmoid(x)" and Sigmoid(sympy.S.Zero) == sympy.S.Half


@pytest.mark.parametrize(
    "text", ["log(2 + exp(x)) + y", "log(1 + exp(x) + y)", "log(1 + 2exp(x)) + y", "log(1 + x) + y"]
)
def test_other_logarithms_are_left_alone(text):
    expr = parse_expression(text).expr
    assert not expr.has(Softplus) and expr.has(sympy.log)


def test_softplus_inside_other_functions_and_in_the_worker():
    loss = compile_loss("sin(x) + log(1 + exp(y^2 - x))", timeout=60)
    p = _points(30, seed=9)
    x, y = p[:, 0], p[:, 1]
    np.testing.assert_allclose(loss.value(p), np.sin(x) + np.log1p(np.exp(y**2 - x)), rtol=1e-13)
    s = 1 / (1 + np.exp(-(y**2 - x)))
    np.testing.assert_allclose(loss.grad(p), np.stack([np.cos(x) - s, 2 * y * s], -1), rtol=1e-12)
    assert loss.expr.has(Softplus)


# --------------------------------------------------------------------------- #
# Dataset mode: the logistic loss
# --------------------------------------------------------------------------- #

CLS = make_builtin("classes", n=500, seed=4)
LOGISTIC = "log(1 + exp(-y*(w*x + b)))"


def _per_sample(w, b):
    x, y = CLS.column("x"), CLS.column("y")
    z = -y * (w * x + b)
    value = np.logaddexp(0.0, z)  # independent: NumPy's own stable softplus
    s = np.exp(-np.logaddexp(0.0, -z))
    return value, np.stack([-y * x * s, -y * s], axis=-1)


def test_logistic_surface_is_the_mean_of_per_sample_values():
    loss = compile_dataset_loss(LOGISTIC, CLS, parameters=("w", "b"))
    assert not loss.uses_statistics
    grid = sample_grid(loss, ((-3, 3), (-2, 2)), 17)
    # z[j, i] is the loss at (xs[i], ys[j]).
    expect = np.array([[_per_sample(w, b)[0].mean() for w in grid.xs] for b in grid.ys])
    np.testing.assert_allclose(grid.z, expect, rtol=1e-13)


@pytest.mark.parametrize("point", [(0.7, -0.3), (-2.0, 1.5), (900.0, 50.0), (-1e4, 3.0)])
def test_logistic_gradient_is_the_mean_per_sample_gradient(point):
    loss = compile_dataset_loss(LOGISTIC, CLS, parameters=("w", "b"))
    value, grads = _per_sample(*point)
    v, g = loss.value_and_grad(np.array(point))
    assert np.isfinite(v) and np.isfinite(g).all()
    np.testing.assert_allclose(v, value.mean(), rtol=1e-13)
    np.testing.assert_allclose(g, grads.mean(axis=0), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(loss.sample_grads(point), grads, rtol=1e-12, atol=1e-300)
    idx = np.array([[4, 9, 9, 100]])
    bv, bg = loss.batch_value_and_grad(np.array([point]), idx)
    np.testing.assert_allclose(bv[0], value[idx[0]].mean(), rtol=1e-13)
    np.testing.assert_allclose(bg[0], grads[idx[0]].mean(axis=0), rtol=1e-12, atol=1e-300)


def test_window_formula_line_reads_as_typed():
    from gdviz.core.mathtext import unicode_math  # plain text, no Qt

    loss = compile_loss("log(1 + exp(x*y))")
    assert unicode_math(loss.expr) == "log(1 + exp(x·y))"
    assert unicode_math(loss.grad_exprs[0]) == "y·sigmoid(x·y)"
