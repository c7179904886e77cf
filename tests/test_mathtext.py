"""Formulas as Unicode text: exact, readable, never markup."""

import pytest

from gdviz.core.loss import compile_loss
from gdviz.core.mathtext import equations_text, pretty_equations, unicode_math
from gdviz.ui.function_editor import caret_line


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("x^2 + 3y^2", "x² + 3·y²"),
        ("(1-x)^2 + 100(y-x^2)^2", "(1 − x)² + 100·(y − x²)²"),
        ("sqrt(x^2 + 1)", "√(1 + x²)"),
        ("2pi x", "2·π·x"),
        ("-x^2", "−x²"),
        ("exp(1) x", "e·x"),
    ],
)
def test_unicode_math(text, shown):
    assert unicode_math(compile_loss(text).expr) == shown


def test_equations_list_function_and_gradient():
    lines = pretty_equations(compile_loss("x^2 + 3y^2")).split("\n")
    assert lines == ["f(x, y) = x² + 3·y²", "  ∂f/∂x = 2·x", "  ∂f/∂y = 6·y"]


def test_kinks_print_by_their_names():
    text = pretty_equations(compile_loss("abs(x) + max(y, 0)"))
    assert "abs(x)" in text and "max(y, 0)" in text and "Kink" not in text


def test_markup_in_names_stays_text():
    # A label showing this is plain text; still, nothing HTML-like is produced.
    assert "<" not in pretty_equations(compile_loss("x / (1 + y^2)"))


def test_caret_line_marks_the_column():
    assert caret_line("x + sine(y)", 5) == "x + sine(y)\n    ^"
    assert caret_line("abc", None) == ""
    assert caret_line("abc", 99).endswith("   ^")


def test_formulas_come_printed_from_the_compile_process():
    # The window shows them without rebuilding the SymPy tree: unpickling a
    # big gradient is tens of milliseconds of Python beside the GUI thread.
    loss = compile_loss("(1.5 - x + x y)^2 + (2.25 - x + x y^2)^2", timeout=60)
    assert loss._exprs._value is None  # nothing unpickled yet
    text = pretty_equations(loss)
    assert loss._exprs._value is None  # still nothing: the text came with the loss
    assert text.splitlines()[0] == "f(x, y) = (3/2 − x + x·y)² + (9/4 − x + x·y²)²"
    # The same text the tree itself prints.
    assert text == equations_text(loss.variables, loss.expr, loss.grad_exprs)
