"""The function and its gradient as readable mathematics, in plain Unicode text.

Qt cannot typeset LaTeX and matplotlib is not a dependency. SymPy's 2-D pretty
printer was tried: exact, but tall (Ackley's gradient takes 12 rows) and it
prints gdviz's kink functions by their class names. So formulas are printed on
one line each, from the same SymPy tree that is differentiated and compiled,
with the typographic touches that make them read like mathematics: superscript
powers (``x²``), ``·`` for products, ``√``, ``π``, ``e``, a real minus sign.
The result is plain text, so nothing typed can turn into markup, and it fits
the narrow band above the plots even on a projector.

No Qt here: the strings are built in the compile process, next to the
differentiation (see :func:`gdviz.core.loss.compile_loss`), so the window never
has to rebuild a loss's SymPy tree just to print it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter

__all__ = ["equations_text", "pretty_equations", "unicode_math"]

#: Longest formula shown in full; longer ones end with "…".
MAX_CHARS = 600

_SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


class _UnicodePrinter(StrPrinter):
    """StrPrinter with typographic output for numbers, powers and constants."""

    def _print_Exp1(self, expr: Any) -> str:
        return "e"

    def _print_Pi(self, expr: Any) -> str:
        return "π"

    def _print_Float(self, expr: Any) -> str:
        return f"{float(expr):.6g}"

    def _print_Pow(self, expr: Any, rational: bool = False) -> str:
        base, exp = expr.as_base_exp()
        if exp is sympy.S.Half:
            return f"√({self._print(base)})"
        if exp.is_Integer and 1 < int(exp) < 1000:
            b = self.parenthesize(base, precedence(expr), strict=True)
            return b + str(int(exp)).translate(_SUP)
        if base is sympy.E:
            return f"exp({self._print(exp)})"
        return super()._print_Pow(expr, rational)


def unicode_math(expr: Any) -> str:
    """One-line Unicode text of a SymPy expression (``x² + 3·y²``)."""
    s = _UnicodePrinter({"order": "none"}).doprint(sympy.sympify(expr))
    s = s.replace("**", "^").replace("*", "·").replace(" - ", " − ").replace("(-", "(−")
    if s.startswith("-"):
        s = "−" + s[1:]
    return s if len(s) <= MAX_CHARS else s[: MAX_CHARS - 1] + "…"


def equations_text(variables: Sequence[str], expr: Any, grad_exprs: Sequence[Any]) -> str:
    """The function and each gradient component, one per line.

    For ``x^2 + 3y^2`` (variables ``x, y``) this gives::

        f(x, y) = x² + 3·y²
          ∂f/∂x = 2·x
          ∂f/∂y = 6·y
    """
    names = tuple(variables)
    lhs = [f"f({', '.join(names)})"] + [f"∂f/∂{n}" for n in names]
    width = max(len(s) for s in lhs)
    exprs = [expr, *grad_exprs]
    return "\n".join(
        f"{name.rjust(width)} = {unicode_math(e)}" for name, e in zip(lhs, exprs, strict=False)
    )


def pretty_equations(loss: Any) -> str:
    """:func:`equations_text` of a compiled loss.

    A :class:`~gdviz.core.loss.Loss` carries this text from its compile
    (``loss.pretty``); it is used when present, so that the SymPy tree is
    not unpickled only to be printed.
    """
    pretty = getattr(loss, "pretty", None)
    if isinstance(pretty, str):
        return pretty
    return equations_text(loss.variables, loss.expr, loss.grad_exprs)
