"""The expression parser: friendly forms, variables, errors with columns, hostile text."""

from __future__ import annotations

import time

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdviz.core.expression import (
    MAX_DEPTH,
    MAX_LENGTH,
    ExpressionError,
    KinkAbs,
    KinkMax,
    KinkMin,
    parse_expression,
)
from gdviz.core.loss import compile_loss, shutdown_worker
from tests.hostile_inputs import HOSTILE

x, y = sympy.symbols("x y", real=True)


def sym(name: str) -> sympy.Symbol:
    return sympy.Symbol(name, real=True)


def same(text: str, expected: sympy.Expr, **kwargs) -> None:
    got = parse_expression(text, **kwargs).expr
    assert sympy.expand(got - expected) == 0, f"{text!r} parsed as {got}, expected {expected}"


# --------------------------------------------------------------------------- #
# Friendly forms
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x^2 + y^2", x**2 + y**2),
        ("x**2 + y**2", x**2 + y**2),
        ("2x", 2 * x),
        ("2 x", 2 * x),
        ("2 sin(x)", 2 * sympy.sin(x)),
        ("2sin(x)cos(y)", 2 * sympy.sin(x) * sympy.cos(y)),
        ("(x+1)(y-1)", (x + 1) * (y - 1)),
        ("2(x+1)", 2 * (x + 1)),
        ("x(y+1)", x * (y + 1)),
        ("2pi x", 2 * sympy.pi * x),
        ("2pix", 2 * sympy.pi * x),
        ("3xy", 3 * x * y),
        ("xy^2", x * y**2),
        ("2xy²", 2 * x * y**2),
        ("x y", x * y),
        ("x²", x**2),
        ("x² + y³", x**2 + y**3),
        ("x⁻¹", 1 / x),
        ("x²y", x**2 * y),
        ("(x+1)²", (x + 1) ** 2),
        ("sin(x)²", sympy.sin(x) ** 2),
        ("sin^2(x)", sympy.sin(x) ** 2),
        ("sin²(x) + cos²(y)", sympy.sin(x) ** 2 + sympy.cos(y) ** 2),
        ("x·y", x * y),
        ("x⋅y", x * y),
        ("x×y", x * y),
        ("x÷y", x / y),
        ("x − y", x - y),
        ("π x", sympy.pi * x),
        ("πx²", sympy.pi * x**2),
        ("√x", sympy.sqrt(x)),
        ("√(x+1)", sympy.sqrt(x + 1)),
        ("2√x", 2 * sympy.sqrt(x)),
        ("e^x", sympy.exp(x)),
        ("e^-x^2", sympy.exp(-(x**2))),
        ("-x^2", -(x**2)),
        ("-x²", -(x**2)),
        ("2^-x", 2 ** (-x)),
        ("x^2^3", x**8),
        ("1/2x", x / 2),
        ("1e-3 x", sympy.Float(1e-3) * x),
        ("2.5e2 x", 250 * x),
        ("1E2x", 100 * x),
        (".5x", x / 2),
        ("0.5 x^2", x**2 / 2),
        ("ln(x)", sympy.log(x)),
        ("log(x)", sympy.log(x)),
        ("log(x, 2)", sympy.log(x) / sympy.log(2)),
        ("log10(x)", sympy.log(x) / sympy.log(10)),
        ("exp(x)", sympy.exp(x)),
        ("sqrt(x)", sympy.sqrt(x)),
        (
            "tan(x) + sec(x) + csc(x) + cot(x)",
            sympy.tan(x) + sympy.sec(x) + sympy.csc(x) + sympy.cot(x),
        ),
        ("asin(x) + arccos(x) + arctan(x)", sympy.asin(x) + sympy.acos(x) + sympy.atan(x)),
        ("atan2(y, x)", sympy.atan2(y, x)),
        ("sinh(x) + cosh(x) + tanh(x)", sympy.sinh(x) + sympy.cosh(x) + sympy.tanh(x)),
        ("asinh(x) + acosh(x) + atanh(x)", sympy.asinh(x) + sympy.acosh(x) + sympy.atanh(x)),
        ("arsinh(x) + arcosh(x) + artanh(x)", sympy.asinh(x) + sympy.acosh(x) + sympy.atanh(x)),
        ("sigmoid(x)", 1 / (1 + sympy.exp(-x))),
        ("  x  +  y  ", x + y),
        ("x\u00a0+\u2009y", x + y),
        ("+x", x),
        ("--x", x),
        ("sin(pi/6)", sympy.Rational(1, 2)),
        ("sqrt(8)", 2 * sympy.sqrt(2)),
        ("8^(1/3) x", 2 * x),
        ("2^10", sympy.Integer(1024)),
    ],
)
def test_friendly_forms(text, expected):
    same(text, expected)


def test_kinks_use_gdviz_classes():
    e = parse_expression("abs(x) + max(x, y, 1) + min(x, y)").expr
    assert e.has(KinkAbs) and e.has(KinkMax) and e.has(KinkMin)
    assert not e.has(sympy.Abs, sympy.Max, sympy.Min)
    # SymPy rewrites sqrt(x^2) to Abs(x) for real x: it must come back as ours.
    e = parse_expression("sqrt(x^2)").expr
    assert e == KinkAbs(x) and not e.has(sympy.Abs)


@pytest.mark.parametrize(
    "text", ["E*x", "I*x", "N*x", "S*x", "beta*x", "gamma*x", "lambda*x", "Q*x", "zeta x"]
)
def test_sympy_names_are_plain_variables(text):
    parsed = parse_expression(text)
    name = text.replace("*x", "").replace(" x", "")
    assert parsed.variables == ("x", name)
    assert parsed.expr == sym(name) * x
    assert all(s.is_real for s in parsed.expr.free_symbols)


def test_e_and_pi_are_constants():
    assert parse_expression("e").expr == sympy.E
    assert parse_expression("pi").expr == sympy.pi
    assert parse_expression("π").expr == sympy.pi
    assert parse_expression("e^x").expr == sympy.exp(x)


def test_greek_letters_become_names():
    parsed = parse_expression("θ² + λ")
    assert parsed.variables == ("lambda", "theta")
    assert parsed.expr == sym("theta") ** 2 + sym("lambda")


@pytest.mark.parametrize(
    ("text", "variables"),
    [
        ("x + y", ("x", "y")),
        ("y + x", ("x", "y")),
        ("y^2", ("y",)),
        ("w*b", ("b", "w")),
        ("b + w", ("b", "w")),
        ("y + a", ("y", "a")),
        ("theta + x", ("x", "theta")),
        ("3", ("x", "y")),
        ("pi + e", ("x", "y")),
    ],
)
def test_variable_order_is_stable(text, variables):
    assert parse_expression(text).variables == variables


def test_explicit_variables():
    p = parse_expression("w^2 + 3w b", variables=["w", "b"])
    assert p.variables == ("w", "b")
    assert p.expr == sym("w") ** 2 + 3 * sym("w") * sym("b")
    # A declared variable may be multiplied by a parenthesis.
    p = parse_expression("beta(x + 1)", variables=["x", "beta"])
    assert p.expr == sym("beta") * (x + 1)
    # Unused declared variables are kept (the loss is flat along them).
    assert parse_expression("x^2", variables=["x", "y"]).variables == ("x", "y")
    with pytest.raises(ExpressionError, match="unknown name 'z'") as err:
        parse_expression("x + z", variables=["x", "y"])
    assert err.value.column == 5
    with pytest.raises(ExpressionError, match="cannot be used as a variable name"):
        parse_expression("x", variables=["__class__"])
    with pytest.raises(ExpressionError, match="cannot be used as a variable name"):
        parse_expression("x", variables=["sin"])
    with pytest.raises(ExpressionError, match="3 variables"):
        parse_expression("x", variables=["x", "y", "z"])


def test_data_names_do_not_count_as_variables():
    p = parse_expression("(w*xi + b - yi)^2", data=["xi", "yi"])
    assert p.variables == ("b", "w")
    assert p.data == ("xi", "yi")
    assert {s.name for s in p.expr.free_symbols} == {"w", "b", "xi", "yi"}


def test_max_variables():
    with pytest.raises(
        ExpressionError, match=r"2 variables \(x, y\): gdviz shows functions of one"
    ):
        parse_expression("x + y", max_variables=1)
    assert parse_expression("x", max_variables=1).variables == ("x",)
    assert parse_expression("5", max_variables=1).variables == ("x",)


# --------------------------------------------------------------------------- #
# Errors: message and column
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("3 + sine(x)", 5, "unknown function 'sine' at column 5 — did you mean sin?"),
        ("(x + 1) * (y - 2", 11, "unbalanced parenthesis"),
        ("x^2 + (y - 1))", 14, "unbalanced parenthesis: this ')' has no matching '('"),
        ("x + y + z", 9, "3 variables (x, y, z): gdviz shows functions of one or two"),
        ("x + 2 3", 7, "missing operator"),
        ("x + y.real", 6, "attributes"),
        ("x²·y − π + sqrt(-4)", 12, "sqrt(-4) is not a real number"),
        ("x + log(0)", 5, "log(0) is undefined"),
        ("x/(2-2)", 2, "division by zero"),
        ("x + 1 +", 8, "ends too early"),
        ("atan2(x) + y", 1, "atan2 takes 2 arguments (1 given)"),
        ("x + 'a'", 5, "quotes"),
        ("   sin x", 4, "sin needs its argument in parentheses"),
        ("x + \x00", 5, "U+0000"),
        ("x^2 + expx", 7, "did you mean exp(x)?"),
    ],
)
def test_error_message_and_column(text, column, fragment):
    with pytest.raises(ExpressionError) as err:
        parse_expression(text)
    assert err.value.column == column, str(err.value)
    assert fragment in str(err.value)
    assert f"at column {column}" in str(err.value)
    # .message is the problem (plus hint) without the position.
    assert "at column" not in err.value.message
    assert isinstance(err.value, ValueError)


def test_too_long_and_too_deep_name_the_limit():
    with pytest.raises(ExpressionError, match=f"the limit is {MAX_LENGTH}"):
        parse_expression("x+" * MAX_LENGTH)
    with pytest.raises(ExpressionError, match=f"more than {MAX_DEPTH} levels"):
        parse_expression("(" * (MAX_DEPTH + 5) + "x" + ")" * (MAX_DEPTH + 5))
    # Just inside the depth limit parses.
    depth = MAX_DEPTH // 2 - 1
    parse_expression("(" * depth + "x" + ")" * depth)


def test_non_text_is_rejected():
    with pytest.raises(ExpressionError, match="must be text"):
        parse_expression(b"x^2")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- #
# The hostile corpus
# --------------------------------------------------------------------------- #


def test_corpus_is_large_enough():
    assert len(HOSTILE) >= 60
    assert len({text for text, _ in HOSTILE}) == len(HOSTILE)


@pytest.mark.parametrize(("text", "fragment"), HOSTILE, ids=[repr(t)[:40] for t, _ in HOSTILE])
def test_hostile_input_is_rejected_quickly_and_runs_nothing(text, fragment, tmp_path):
    marker = tmp_path / "pwned"
    text = text.replace("MARKER", str(marker))
    start = time.perf_counter()
    with pytest.raises(ExpressionError) as err:
        compile_loss(text)
    elapsed = time.perf_counter() - start
    assert fragment.lower() in str(err.value).lower()
    assert err.value.message
    assert not marker.exists()
    # Hang detection only: every rejection here is a parse-time check.
    assert elapsed < 5.0


def test_hostile_corpus_through_the_worker(tmp_path):
    """The worker path rejects the same inputs with the same messages."""
    marker = tmp_path / "pwned"
    try:
        for text, fragment in HOSTILE[::7]:
            text = text.replace("MARKER", str(marker))
            with pytest.raises(ExpressionError) as err:
                compile_loss(text, timeout=30)
            assert fragment.lower() in str(err.value).lower()
    finally:
        shutdown_worker()
    assert not marker.exists()


# --------------------------------------------------------------------------- #
# Property: any text either compiles or raises ExpressionError
# --------------------------------------------------------------------------- #

_TOKENS = "sin log sqrt max abs pi ** ² √ e5 __ ' [ \x00 é λ π ·".split(" ")
_ALPHABET = st.sampled_from([*"xyzwb0123456789.+-*/^()ep ,", *_TOKENS])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ALPHABET, max_size=25).map("".join))
def test_random_token_soup_compiles_or_raises_expression_error(text):
    try:
        loss = compile_loss(text)
    except ExpressionError as err:
        assert str(err)
        assert err.column is None or 1 <= err.column <= len(text) + 1
    else:
        assert loss.dim in (1, 2)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_random_unicode_compiles_or_raises_expression_error(text):
    try:
        compile_loss(text)
    except ExpressionError as err:
        assert err.column is None or 1 <= err.column <= len(text) + 1


def _at_depth(frames: int, fn):
    """Call fn with ``frames`` extra Python frames on the stack."""
    if frames:
        return _at_depth(frames - 1, fn)
    return fn()


@pytest.mark.parametrize(
    "text",
    [
        "x+" * 199 + "x",
        "x y " * 100,
        "sin(x)" + " + sin(x)" * 99,
        "(" * (MAX_DEPTH // 2 - 1) + "x" + ")" * (MAX_DEPTH // 2 - 1),
        "x^" * 19 + "2",
    ],
)
def test_deep_caller_stacks_never_see_recursion_error(text):
    # Long chains are built in loops; anything else becomes an ExpressionError.
    for frames in (0, 700, 950):
        try:
            _at_depth(frames, lambda: compile_loss(text))
        except ExpressionError as err:
            assert "nested too deeply" in str(err)


# --------------------------------------------------------------------------- #
# Property: well-formed random formulas compile and evaluate without surprises
# --------------------------------------------------------------------------- #

_LEAVES = st.sampled_from(["x", "y", "2", "0.5", "3", "pi", "e", "1e-2", "x²", "10"])
_UNARY = ["sin", "cos", "exp", "log", "sqrt", "abs", "tanh", "atan", "asin", "cosh", "sigmoid"]


def _formulas():
    return st.recursive(
        _LEAVES,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from([" + ", " - ", "*", "/", "^", " "]), inner).map(
                lambda t: f"({t[0]}){t[1]}({t[2]})"
            ),
            st.tuples(st.sampled_from(_UNARY), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(st.sampled_from(["max", "min", "atan2"]), inner, inner).map(
                lambda t: f"{t[0]}({t[1]}, {t[2]})"
            ),
            inner.map(lambda s: f"-({s})"),
        ),
        max_leaves=8,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_formulas())
def test_random_formulas_compile_and_evaluate_cleanly(text):
    try:
        loss = compile_loss(text)
    except ExpressionError as err:
        # Only value problems (constants out of range or undefined) may reject
        # a well-formed formula.
        assert any(
            word in str(err)
            for word in (
                "too large",
                "not a real number",
                "undefined",
                "division by zero",
                "exponent",
            )
        ), str(err)
        return
    grid = np.stack(np.meshgrid([-1.5, 0.0, 0.7], [-2.0, 0.3], indexing="ij"), axis=-1)
    pts = grid[..., : loss.dim]
    v, g, h = loss.value(pts), loss.grad(pts), loss.hess(pts)
    assert v.shape == pts.shape[:-1] and g.shape == pts.shape and h.shape[-2:] == (loss.dim,) * 2
    assert v.dtype == g.dtype == h.dtype == np.float64
    first = tuple(pts.reshape(-1, loss.dim)[0])
    assert np.isclose(loss.value_at(first), v.reshape(-1)[0], equal_nan=True)


def test_expression_error_fields_and_pickling():
    import pickle

    err = ExpressionError("unknown function 'sine'", 5, "did you mean sin?")
    assert str(err) == "unknown function 'sine' at column 5 — did you mean sin?"
    assert err.message == "unknown function 'sine' — did you mean sin?"
    assert (err.problem, err.column, err.hint) == (
        "unknown function 'sine'",
        5,
        "did you mean sin?",
    )
    again = pickle.loads(pickle.dumps(err))
    assert (str(again), again.column, again.hint) == (str(err), 5, "did you mean sin?")
    bare = ExpressionError("the expression is empty")
    assert str(bare) == bare.message == "the expression is empty" and bare.column is None
