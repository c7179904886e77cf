"""Compiled losses: exact derivatives, shapes, non-finite values, the worker."""

from __future__ import annotations

import math
import pickle
import time

import numpy as np
import pytest
import sympy

from gdviz.core.expression import ExpressionError
from gdviz.core.loss import Loss, compile_loss, shutdown_worker, warm_up

PI = np.pi

# name -> (text as a person types it, independent NumPy implementation, sample box)
CLASSICS = {
    "rosenbrock": (
        "(1-x)^2 + 100(y-x²)²",
        lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2,
        (-2, 2),
    ),
    "himmelblau": (
        "(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
        lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
        (-5, 5),
    ),
    "rastrigin": (
        "20 + x^2 - 10cos(2pi x) + y^2 - 10cos(2pi y)",
        lambda x, y: 20 + x**2 - 10 * np.cos(2 * PI * x) + y**2 - 10 * np.cos(2 * PI * y),
        (-5.12, 5.12),
    ),
    "ackley": (
        "-20exp(-0.2 sqrt(0.5(x^2 + y^2))) - exp(0.5(cos(2π x) + cos(2π y))) + e + 20",
        lambda x, y: (
            -20 * np.exp(-0.2 * np.sqrt(0.5 * (x**2 + y**2)))
            - np.exp(0.5 * (np.cos(2 * PI * x) + np.cos(2 * PI * y)))
            + np.e
            + 20
        ),
        (-5, 5),
    ),
    "beale": (
        "(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
        lambda x, y: (
            (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2
        ),
        (-4.5, 4.5),
    ),
    "six_hump_camel": (
        "(4 - 2.1x^2 + x^4/3)x^2 + xy + (-4 + 4y^2)y^2",
        lambda x, y: (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2,
        (-2, 2),
    ),
    "booth": (
        "(x + 2y - 7)^2 + (2x + y - 5)^2",
        lambda x, y: (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2,
        (-10, 10),
    ),
    "sphere": ("x^2 + y^2", lambda x, y: x**2 + y**2, (-5, 5)),
    "double_well": ("x^4 - 2x^2", lambda x: x**4 - 2 * x**2, (-2, 2)),
}

# Known minima: (name, point, value).
MINIMA = [
    ("rosenbrock", (1.0, 1.0), 0.0),
    ("himmelblau", (3.0, 2.0), 0.0),
    ("rastrigin", (0.0, 0.0), 0.0),
    ("ackley", (0.0, 0.0), 0.0),
    ("beale", (3.0, 0.5), 0.0),
    ("six_hump_camel", (0.0898, -0.7126), -1.0316),
    ("booth", (1.0, 3.0), 0.0),
    ("sphere", (0.0, 0.0), 0.0),
    ("double_well", (1.0,), -1.0),
]


@pytest.fixture(scope="module")
def classics() -> dict[str, Loss]:
    return {name: compile_loss(text) for name, (text, _, _) in CLASSICS.items()}


def _points(name: str, n: int = 40) -> np.ndarray:
    lo, hi = CLASSICS[name][2]
    dim = 1 if name == "double_well" else 2
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    # Stay off exact kinks (Ackley's sqrt at the origin).
    return rng.uniform(lo, hi, size=(n, dim)) + 1e-3


def _central_grad(f, p: np.ndarray) -> np.ndarray:
    """Central differences of f (points -> values) along each axis."""
    d = p.shape[-1]
    out = np.empty(p.shape)
    for i in range(d):
        h = 1e-6 * np.maximum(1.0, np.abs(p[..., i]))
        step = np.zeros(p.shape)
        step[..., i] = h
        out[..., i] = (f(p + step) - f(p - step)) / (2 * h)
    return out


@pytest.mark.parametrize("name", list(CLASSICS))
def test_value_matches_an_independent_implementation(classics, name):
    loss = classics[name]
    ref = CLASSICS[name][1]
    p = _points(name)
    expected = ref(*np.moveaxis(p, -1, 0))
    np.testing.assert_allclose(loss.value(p), expected, rtol=1e-12, atol=1e-12)
    assert loss.dim == p.shape[-1]


@pytest.mark.parametrize("name", list(CLASSICS))
def test_gradient_matches_central_differences(classics, name):
    loss = classics[name]
    p = _points(name)
    g = loss.grad(p)
    fd = _central_grad(loss.value, p)
    scale = np.maximum(1.0, np.abs(g))
    assert np.all(np.abs(g - fd) / scale < 1e-5), np.max(np.abs(g - fd) / scale)


@pytest.mark.parametrize("name", list(CLASSICS))
def test_hessian_matches_central_differences_of_the_gradient(classics, name):
    loss = classics[name]
    p = _points(name)
    hess = loss.hess(p)
    d = loss.dim
    assert hess.shape == (len(p), d, d)
    np.testing.assert_array_equal(hess, np.swapaxes(hess, -1, -2))
    for i in range(d):
        fd = _central_grad(lambda q, i=i: loss.grad(q)[..., i], p)
        scale = np.maximum(1.0, np.abs(hess[..., i, :]))
        assert np.all(np.abs(hess[..., i, :] - fd) / scale < 1e-4)


@pytest.mark.parametrize(("name", "point", "value"), MINIMA)
def test_known_minima(classics, name, point, value):
    loss = classics[name]
    assert loss.value_at(point) == pytest.approx(value, abs=1e-4)
    # Ackley's minimum is the tip of a cone (sqrt(x^2 + y^2)): no gradient there.
    if value == 0.0 and name != "ackley":
        np.testing.assert_allclose(loss.grad(np.array(point)), 0.0, atol=1e-9)


def test_value_at_agrees_with_value(classics):
    for name, loss in classics.items():
        for p in _points(name, 5):
            got = loss.value_at(tuple(p))
            assert isinstance(got, float)
            assert got == pytest.approx(float(loss.value(p)), rel=1e-12, abs=1e-12)
    with pytest.raises(ValueError, match="needs 2 coordinate"):
        classics["sphere"].value_at((1.0,))


def test_value_and_grad_agree_with_separate_calls(classics):
    loss = classics["rosenbrock"]
    p = _points("rosenbrock")
    v, g = loss.value_and_grad(p)
    np.testing.assert_array_equal(v, loss.value(p))
    np.testing.assert_array_equal(g, loss.grad(p))
    # The raw generated function gives the same numbers on NumPy scalars.
    with np.errstate(all="ignore"):
        res = loss.raw_value_and_grad(*p[3])
    assert res[0] == v[3] and (res[1], res[2]) == tuple(g[3])


# --------------------------------------------------------------------------- #
# Shapes
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("shape", [(), (7,), (4, 5), (2, 3, 4)])
def test_constant_derivatives_keep_the_input_shape(shape):
    loss = compile_loss("3x + 2y")
    p = np.zeros((*shape, 2))
    v = loss.value(p)
    g = loss.grad(p)
    h = loss.hess(p)
    assert v.shape == shape and g.shape == (*shape, 2) and h.shape == (*shape, 2, 2)
    assert np.all(g[..., 0] == 3) and np.all(g[..., 1] == 2)
    assert np.all(h == 0)
    for arr in (v, g, h):
        assert arr.dtype == np.float64
        assert arr.flags.writeable


def test_constant_loss_and_one_dimensional_shapes():
    const = compile_loss("5")
    assert const.variables == ("x", "y")
    np.testing.assert_array_equal(const.value(np.ones((3, 2))), [5.0, 5.0, 5.0])
    np.testing.assert_array_equal(const.grad(np.ones((3, 2))), np.zeros((3, 2)))
    quad = compile_loss("x^2")
    assert quad.dim == 1
    p = np.linspace(-1, 1, 6).reshape(6, 1)
    assert quad.value(p).shape == (6,)
    assert quad.grad(p).shape == (6, 1)
    np.testing.assert_array_equal(quad.hess(p), np.full((6, 1, 1), 2.0))
    y_only = compile_loss("x^2 + 0y", variables=["x", "y"])
    np.testing.assert_array_equal(y_only.grad(np.array([[3.0, 4.0]])), [[6.0, 0.0]])


def test_wrong_point_shape_is_a_clear_error():
    loss = compile_loss("x + y")
    with pytest.raises(ValueError, match="need 2 coordinate"):
        loss.value(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="need 2 coordinate"):
        loss.grad(1.0)


def test_integer_input_is_evaluated_in_float64():
    loss = compile_loss("x^2 * y^3")
    big = np.array([[10**6, 10**6]], dtype=np.int64)  # int64 would overflow
    assert loss.value(big)[0] == pytest.approx(1e30)


# --------------------------------------------------------------------------- #
# Non-finite values: nan/inf, never complex, never a warning
# --------------------------------------------------------------------------- #


def test_undefined_points_give_nan_or_inf_without_warnings():
    # pytest turns any RuntimeWarning into an error, so these also check silence.
    loss = compile_loss("log(x) + sqrt(y)")
    v = loss.value(np.array([[-1.0, 1.0], [1.0, -1.0], [0.0, 1.0], [1.0, 4.0]]))
    assert np.isnan(v[0]) and np.isnan(v[1]) and v[2] == -np.inf and v[3] == 2.0
    assert v.dtype == np.float64
    assert math.isnan(loss.value_at((-1.0, 1.0)))
    g = loss.grad(np.array([[0.0, 0.0]]))
    assert np.all(np.isinf(g))
    recip = compile_loss("1/x + x^(1/3) + acos(y)")
    assert np.isnan(recip.value(np.array([[-8.0, 0.0]]))[0])  # real power of a negative
    assert np.isnan(recip.value(np.array([[1.0, 2.0]]))[0])
    assert recip.value_at((0.0, 0.0)) == math.inf
    over = compile_loss("exp(x^2)")
    assert over.value_at((100.0,)) == math.inf
    assert over.grad(np.array([[100.0]]))[0, 0] == math.inf


def test_nan_input_gives_nan():
    loss = compile_loss("x^2 + max(x, y)")
    assert np.isnan(loss.value(np.array([np.nan, 1.0])))
    assert np.all(np.isnan(loss.grad(np.array([np.nan, np.nan]))))


# --------------------------------------------------------------------------- #
# Kinks: abs, min, max, sign have explicit derivatives
# --------------------------------------------------------------------------- #


def test_kink_derivatives():
    a = compile_loss("abs(x)")
    np.testing.assert_array_equal(a.grad(np.array([[-2.0], [0.0], [3.0]])), [[-1], [0], [1]])
    np.testing.assert_array_equal(a.hess(np.array([[-2.0], [3.0]])), np.zeros((2, 1, 1)))
    m = compile_loss("max(x, y)")
    np.testing.assert_array_equal(
        m.grad(np.array([[2.0, 1.0], [1.0, 2.0], [1.0, 1.0]])),
        [[1, 0], [0, 1], [0.5, 0.5]],
    )
    n = compile_loss("min(x^2, y, 1)")
    np.testing.assert_array_equal(
        n.value(np.array([[0.5, 3.0], [3.0, 0.5], [3, 3]])), [0.25, 0.5, 1]
    )
    np.testing.assert_array_equal(n.grad(np.array([[0.5, 3.0], [3.0, 0.5]])), [[1, 0], [0, 1]])
    r = compile_loss("relu(x - 1) + sign(y)")
    np.testing.assert_array_equal(r.grad(np.array([[3.0, -2.0], [0.0, 2.0]])), [[1, 0], [0, 0]])
    # SymPy's own Abs (from sqrt(x^2)) differentiates to ours, twice.
    s = compile_loss("sqrt(x^2) * x")
    np.testing.assert_allclose(s.grad(np.array([[-3.0], [3.0]])), [[6.0], [6.0]])
    np.testing.assert_allclose(s.hess(np.array([[-3.0], [3.0]])), [[[-2.0]], [[2.0]]])


def test_abs_of_a_non_real_looking_argument_compiles():
    # SymPy cannot tell log(x) is real; its Abs would differentiate into re/im.
    loss = compile_loss("abs(log(x))")
    np.testing.assert_allclose(loss.grad(np.array([[0.5], [2.0]])), [[-2.0], [0.5]])


# --------------------------------------------------------------------------- #
# Symbolic side, LaTeX, generated code
# --------------------------------------------------------------------------- #


def test_expressions_and_latex():
    loss = compile_loss("(1-x)^2 + 100(y-x²)²")
    x, y = sympy.symbols("x y", real=True)
    assert sympy.expand(loss.expr - ((1 - x) ** 2 + 100 * (y - x**2) ** 2)) == 0
    assert sympy.expand(loss.grad_exprs[1] - 200 * (y - x**2)) == 0
    assert sympy.expand(loss.hess_exprs[0][1] + 400 * x) == 0
    assert loss.hess_exprs[0][1] == loss.hess_exprs[1][0]
    assert "100" in loss.latex and "x^{2}" in loss.latex
    assert r"\begin{matrix}" in loss.grad_latex and r"\begin{matrix}" in loss.hess_latex
    assert "1200 x^{2}" in loss.hess_latex
    one_d = compile_loss("abs(x) + max(x, 1)")
    assert r"\left|x\right|" in one_d.latex and r"\max" in one_d.latex
    assert "matrix" not in one_d.grad_latex  # a scalar derivative for d == 1
    assert r"\operatorname{sign}" in one_d.grad_latex


def test_huge_derivatives_are_not_typeset():
    text = "*".join(f"sin({k}x + y)" for k in range(1, 13))
    loss = compile_loss(text)
    assert "too long to display" in loss.hess_latex
    assert "too long" not in loss.latex


def test_generated_code_never_contains_the_persons_names():
    loss = compile_loss("lambda^2 + E lambda", variables=["lambda", "E"])
    for src in loss.sources.values():
        assert "lambda" not in src and "E" not in src
        assert "import" not in src and "__" not in src
    assert loss.value_at((2.0, 3.0)) == 10.0


def test_loss_pickles():
    loss = compile_loss("sin(x) y + abs(y)")
    again = pickle.loads(pickle.dumps(loss))
    p = np.array([[0.3, -0.7], [1.0, 2.0]])
    np.testing.assert_array_equal(again.grad(p), loss.grad(p))
    assert again.expr == loss.expr and again.variables == loss.variables
    assert again.hess_latex == loss.hess_latex


# --------------------------------------------------------------------------- #
# The worker: same results, and a compile that overruns is stopped
# --------------------------------------------------------------------------- #


@pytest.fixture
def worker():
    warm_up()
    yield
    shutdown_worker()


def test_worker_gives_the_same_loss(worker):
    text = "(x^2 + y - 11)^2 + (x + y^2 - 7)^2 + abs(x)"
    here = compile_loss(text)
    there = compile_loss(text, timeout=60)
    p = _points("himmelblau")
    np.testing.assert_array_equal(there.value(p), here.value(p))
    np.testing.assert_array_equal(there.hess(p), here.hess(p))
    assert there.latex == here.latex and there.variables == here.variables
    assert there.expr == here.expr  # unpickled lazily from the worker's answer
    with pytest.raises(ExpressionError, match="did you mean sin") as err:
        compile_loss("3 + sine(x)", timeout=60)
    assert err.value.column == 5


def test_overrunning_compile_is_stopped_and_the_worker_recovers(worker):
    # Its Hessian has thousands of terms: several seconds of SymPy work.
    slow = "*".join(f"sin({k}x + {k}y)" for k in range(1, 30))
    compile_loss("x", timeout=60)  # make sure the worker is warm
    start = time.perf_counter()
    with pytest.raises(ExpressionError, match=r"took longer than 0\.5 s") as err:
        compile_loss(slow, timeout=0.5)
    assert time.perf_counter() - start < 10.0  # generous: the kill is immediate
    assert err.value.hint == "try a simpler expression"
    loss = compile_loss("x^2 + y^2", timeout=60)
    assert loss.value_at((3.0, 4.0)) == 25.0


def test_latex_of_powers_of_kinks():
    # SymPy hands the exponent of f(x)^n to the function's own LaTeX method.
    loss = compile_loss("sin(max(x, y)) + abs(x)^3 + max(x, y)^2 + sign(y)^2")
    assert r"\left|x\right|^{3}" in loss.latex
    assert r"\left(\max\left(x, y\right)\right)^{2}" in loss.latex
    assert r"\theta\left(x - y\right)" in loss.grad_latex
    assert loss.hess_latex.count("&") == 2  # one per row of the 2×2 matrix


@pytest.mark.parametrize("executable", ["/nonexistent/python", "/bin/false"])
def test_timed_compile_falls_back_when_no_worker_can_run(monkeypatch, executable):
    import gdviz.core.loss as loss_module

    shutdown_worker()
    monkeypatch.setattr(loss_module.sys, "executable", executable)
    monkeypatch.setattr(loss_module, "_worker_unavailable", False)
    loss = compile_loss("x^2 + y", timeout=5)
    assert loss.value_at((2.0, 1.0)) == 5.0
    assert loss_module._worker_unavailable
    # Later timed compiles do not keep trying to start a worker.
    assert compile_loss("x", timeout=5).dim == 1
    assert loss_module._worker is None
    shutdown_worker()


def test_variables_as_one_string_and_bad_timeouts():
    assert compile_loss("w^2 + b", "w, b").variables == ("w", "b")
    assert compile_loss("w^2 + b", "b w").variables == ("b", "w")
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="timeout must be a positive"):
            compile_loss("x", timeout=bad)


def test_printer_never_overflows_on_big_numbers():
    from gdviz.core.loss import _Printer

    printer = _Printer()
    assert printer.doprint(sympy.Integer(10**400)) == "numpy.inf"
    assert printer.doprint(sympy.Rational(-(10**400), 7)) == "(-numpy.inf)"
    assert printer.doprint(sympy.Rational(1, 10**400)) == "0.0"
    assert float(printer.doprint(sympy.Integer(2**60 + 1))) == 2.0**60
    assert printer.doprint(sympy.Rational(1, 3)) == "1/3"
