"""Formulas as Unicode text: exact, readable, never markup."""

import pytest

from gdviz.core.loss import compile_loss
from gdviz.ui.function_editor import caret_line
from gdviz.ui.mathtext import pretty_equations, unicode_math


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
