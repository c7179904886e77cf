"""Safe parsing of typed loss functions into SymPy expressions.

Text a person types, or a session file carries, is never handed to
:func:`sympy.sympify` or :func:`sympy.parsing.sympy_parser.parse_expr`: both run
:func:`eval` on their input. Instead this module tokenizes the text itself,
parses it with a small recursive-descent parser that knows only numbers, the
allowed names, ``+ - * / ^ **``, unary signs, parentheses and calls to allowed
functions, and builds the SymPy tree node by node. Anything else (attributes,
subscripts, strings, keywords, ``__`` names, unknown functions …) is an
:class:`ExpressionError` that names the problem and its column.

Friendly notation is accepted: ``^`` for powers, implicit multiplication
(``2x``, ``2 sin(x)``, ``(x+1)(y-1)``, ``2pi x``, ``3xy``), scientific notation,
and the Unicode a slide pastes (``x²``, ``·``, ``×``, ``÷``, ``−``, ``π``, ``θ``,
``√``). Names such as ``E``, ``I``, ``N``, ``S``, ``beta``, ``gamma``, ``lambda``
are plain variables, never SymPy internals; ``e`` is Euler's number and ``pi``
is π.

Limits on length, nesting depth, node count, exponent size and the size of
numbers keep inputs such as ``9^9^9^9`` or ``((2x)^1000)^1000`` from hanging or
eating memory. Constant sub-expressions are evaluated numerically first so that
undefined constants (``sqrt(-1)``, ``log(0)``, ``acos(2)``, ``1/0``) are caught
with a message and SymPy's assumption machinery never chews on them.

Kinks (``abs``, ``min``, ``max``, ``sign``) are represented by small function
classes of our own with explicit derivatives and NumPy code, because SymPy's
``Max``/``Min``/``Abs`` differentiate into ``Heaviside``/``re``/``im`` terms
that lambdify cannot print quickly (or at all). ``log(1 + exp(z))`` likewise
becomes a softplus class computed with ``numpy.logaddexp``, which is one NumPy
call and does not overflow where ``exp(z)`` does.
"""

from __future__ import annotations

import difflib
import fractions
import keyword
import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sympy
from sympy import Function, S

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_NODES",
    "ExpressionError",
    "KinkAbs",
    "KinkMax",
    "KinkMin",
    "KinkSign",
    "KinkStep",
    "ParsedExpression",
    "Sigmoid",
    "Softplus",
    "check_compilable",
    "normalize_kinks",
    "parse_expression",
]

#: Longest accepted text, in characters.
MAX_LENGTH = 1000
#: Deepest accepted nesting of parentheses, calls, signs and powers.
MAX_DEPTH = 40
#: Most accepted syntax-tree nodes (numbers, names, operators, calls).
MAX_NODES = 400
#: Largest accepted exponent (in absolute value) on an expression with variables.
MAX_EXPONENT = 1000
#: Largest accepted magnitude of any constant.
MAX_MAGNITUDE = 1e300
#: Longest accepted name.
MAX_NAME_LENGTH = 32
#: Integers with more bits than this are too big to be useful as float64 input.
_MAX_INT_BITS = 1000


class ExpressionError(ValueError):
    """Text that is not a valid gdviz expression.

    Parameters
    ----------
    message
        What is wrong, in words a student understands (without the position).
    column
        1-based column in the original text where the problem is, if known.
    hint
        An optional suggestion, e.g. ``"did you mean sin?"``.

    Attributes
    ----------
    message : str
        The problem, plus the hint if there is one (no column), e.g.
        ``"unknown function 'sine' — did you mean sin?"``.
    column : int or None
        1-based column in the original text, or None.
    hint : str or None
        The suggestion alone.

    Notes
    -----
    ``str(err)`` reads like
    ``"unknown function 'sine' at column 5 — did you mean sin?"``.
    """

    def __init__(self, message: str, column: int | None = None, hint: str | None = None):
        self.problem = message
        self.column = column
        self.hint = hint
        self.message = message if not hint else f"{message} — {hint}"
        text = message
        if column is not None:
            text += f" at column {column}"
        if hint:
            text += f" — {hint}"
        super().__init__(text)

    def __reduce__(self):  # pickles across the compile worker's pipe
        return (type(self), (self.problem, self.column, self.hint))


# --------------------------------------------------------------------------- #
# Kinks: functions with explicit derivatives and NumPy code
# --------------------------------------------------------------------------- #


def _num(printer, arg) -> str:
    return printer._print(arg)


def _with_exp(body: str, exp: str | None) -> str:
    # SymPy's LaTeX printer passes the exponent of f(x)^n to the function itself.
    return body if exp is None else rf"\left({body}\right)^{{{exp}}}"


class KinkStep(Function):
    """Step function with step(0) = 1/2; its derivative is taken as 0.

    Appears only in derivatives of ``max``/``min``. At a tie the two branches
    share the gradient equally (the average of the one-sided derivatives).
    """

    nargs = 1

    @classmethod
    def eval(cls, a):
        if a.is_Number:
            return S.Half if a == 0 else (S.One if a > 0 else S.Zero)
        return None

    def fdiff(self, argindex=1):
        return S.Zero

    def _numpycode(self, printer):
        return f"numpy.heaviside({_num(printer, self.args[0])}, 0.5)"

    def _latex(self, printer, exp=None):
        return _with_exp(self._latex_body(printer), exp)

    def _latex_body(self, printer):
        return rf"\theta\left({printer._print(self.args[0])}\right)"

    def _sympystr(self, printer):
        return f"step({printer._print(self.args[0])})"


class KinkSign(Function):
    """sign(a) in {-1, 0, 1}; its derivative is taken as 0 (true almost everywhere)."""

    nargs = 1

    @classmethod
    def eval(cls, a):
        if a.is_Number:
            return S.Zero if a == 0 else (S.One if a > 0 else S.NegativeOne)
        return None

    def fdiff(self, argindex=1):
        return S.Zero

    def _numpycode(self, printer):
        return f"numpy.sign({_num(printer, self.args[0])})"

    def _latex(self, printer, exp=None):
        return _with_exp(self._latex_body(printer), exp)

    def _latex_body(self, printer):
        return rf"\operatorname{{sign}}\left({printer._print(self.args[0])}\right)"

    def _sympystr(self, printer):
        return f"sign({printer._print(self.args[0])})"


class KinkAbs(Function):
    """|a| with derivative sign(a) (0 at the kink)."""

    nargs = 1

    @classmethod
    def eval(cls, a):
        if a.is_Number:
            return abs(a)
        if isinstance(a, KinkAbs):
            return a
        return None

    def fdiff(self, argindex=1):
        return KinkSign(self.args[0])

    def _numpycode(self, printer):
        return f"numpy.abs({_num(printer, self.args[0])})"

    def _latex(self, printer, exp=None):
        body = self._latex_body(printer)  # |x| needs no extra parentheses
        return body if exp is None else f"{body}^{{{exp}}}"

    def _latex_body(self, printer):
        return rf"\left|{printer._print(self.args[0])}\right|"

    def _sympystr(self, printer):
        return f"abs({printer._print(self.args[0])})"


class KinkMax(Function):
    """max(a, b); d/da = step(a - b), so a tie splits the gradient equally."""

    nargs = 2

    @classmethod
    def eval(cls, a, b):
        if a == b:
            return a
        if a.is_Number and b.is_Number:
            return a if a > b else b
        return None

    def fdiff(self, argindex=1):
        a, b = self.args
        return KinkStep(a - b) if argindex == 1 else KinkStep(b - a)

    def _numpycode(self, printer):
        a, b = (_num(printer, arg) for arg in self.args)
        return f"numpy.maximum({a}, {b})"

    def _latex(self, printer, exp=None):
        return _with_exp(self._latex_body(printer), exp)

    def _latex_body(self, printer):
        a, b = (printer._print(arg) for arg in self.args)
        return rf"\max\left({a}, {b}\right)"

    def _sympystr(self, printer):
        a, b = (printer._print(arg) for arg in self.args)
        return f"max({a}, {b})"


class KinkMin(Function):
    """min(a, b); d/da = step(b - a), so a tie splits the gradient equally."""

    nargs = 2

    @classmethod
    def eval(cls, a, b):
        if a == b:
            return a
        if a.is_Number and b.is_Number:
            return a if a < b else b
        return None

    def fdiff(self, argindex=1):
        a, b = self.args
        return KinkStep(b - a) if argindex == 1 else KinkStep(a - b)

    def _numpycode(self, printer):
        a, b = (_num(printer, arg) for arg in self.args)
        return f"numpy.minimum({a}, {b})"

    def _latex(self, printer, exp=None):
        return _with_exp(self._latex_body(printer), exp)

    def _latex_body(self, printer):
        a, b = (printer._print(arg) for arg in self.args)
        return rf"\min\left({a}, {b}\right)"

    def _sympystr(self, printer):
        a, b = (printer._print(arg) for arg in self.args)
        return f"min({a}, {b})"


class Sigmoid(Function):
    """The logistic function σ(a) = 1 / (1 + e^(-a)), the derivative of softplus.

    Its NumPy code ``1 / (1 + exp(-a))`` never gives nan: where ``exp(-a)``
    overflows (a < -709) the result is 1/inf = 0, which σ is to float64
    precision, whereas the textbook derivative of softplus, e^a / (1 + e^a),
    is inf/inf = nan for a > 709. Generated code runs under
    ``numpy.errstate(all="ignore")``, so the overflow stays silent.
    """

    nargs = 1

    @classmethod
    def eval(cls, a):
        if a.is_zero:
            return S.Half
        return None

    def fdiff(self, argindex=1):
        return self * (1 - self)

    def _numpycode(self, printer):
        # -a as SymPy folds it, so σ(-u) prints exp(u), not exp(-(-u)).
        return f"1/(1 + numpy.exp({_num(printer, -self.args[0])}))"

    def _latex(self, printer, exp=None):
        return _with_exp(self._latex_body(printer), exp)

    def _latex_body(self, printer):
        return rf"\sigma\left({printer._print(self.args[0])}\right)"

    def _sympystr(self, printer):
        return f"sigmoid({printer._print(self.args[0])})"


class Softplus(Function):
    """softplus(a) = log(1 + e^a), exact where ``exp(a)`` overflows.

    Typed ``log(1 + exp(z))`` becomes this (see :func:`normalize_kinks`). The
    plain formula is inf for a > 709 although the value is a; its derivative is
    :class:`Sigmoid`, which never gives nan.
    """

    nargs = 1

    @classmethod
    def eval(cls, a):
        return None

    def fdiff(self, argindex=1):
        return Sigmoid(self.args[0])

    def _numpycode(self, printer):
        # log1p(exp(a)) is as fast as log(1 + exp(a)) and exact for a < 0 too;
        # where exp overflows (a > 709.78) softplus(a) is a to float64
        # precision, so those entries are replaced, which costs one max over
        # the array unless some a > 700 (fmax skips nan). numpy.logaddexp(0, a)
        # is exact too, but measured 5-8x slower per element.
        a = _num(printer, self.args[0])
        return (
            "(lambda _a: (lambda _s: numpy.where(_a > 700, _a, _s) "
            "if numpy.fmax.reduce(_a, axis=None) > 700 else _s)"
            f"(numpy.log1p(numpy.exp(_a))))({a})"
        )

    def _latex(self, printer, exp=None):
        return _with_exp(self._latex_body(printer), exp)

    def _latex_body(self, printer):
        # Shown as typed: log(1 + e^z).
        inner = printer._print(sympy.exp(self.args[0]))
        return rf"\log{{\left(1 + {inner} \right)}}"

    def _sympystr(self, printer):
        # As typed (the window's formula line prints with a StrPrinter); the
        # parser turns this text back into Softplus.
        return f"log(1 + {printer._print(sympy.exp(self.args[0]))})"


# --------------------------------------------------------------------------- #
# The allowed functions
# --------------------------------------------------------------------------- #


def _nary(cls: type[Function]) -> Callable[..., sympy.Expr]:
    def build(*args: sympy.Expr) -> sympy.Expr:
        out = args[0]
        for arg in args[1:]:
            out = cls(out, arg)
        return out

    return build


def _log(x: sympy.Expr, base: sympy.Expr | None = None) -> sympy.Expr:
    return sympy.log(x) if base is None else sympy.log(x) / sympy.log(base)


def _f_log(x: float, base: float | None = None) -> float:
    if base is None:
        return math.log(x)
    return math.log(x) / math.log(base)


def _f_atan2(y: float, x: float) -> float:
    if y == 0 and x == 0:
        raise ValueError("atan2(0, 0)")
    return math.atan2(y, x)


def _sign(v: float) -> float:
    return float((v > 0) - (v < 0))


def _f_softplus(v: float) -> float:
    return max(v, 0.0) + math.log1p(math.exp(-abs(v)))


@dataclass(frozen=True)
class _Func:
    build: Callable[..., sympy.Expr]
    numeric: Callable[..., float]
    min_args: int = 1
    max_args: int | None = 1
    usage: str = "f(x)"
    #: SymPy may evaluate this exactly on simple constants (sin(pi/6) = 1/2).
    exact: bool = True


def _fn(build, numeric, usage, min_args=1, max_args=1, exact=True) -> _Func:
    return _Func(build, numeric, min_args, max_args, usage, exact)


def _inv(f: Callable[[float], float]) -> Callable[[float], float]:
    return lambda v: f(1.0 / v)


_F: dict[str, _Func] = {
    "sin": _fn(sympy.sin, math.sin, "sin(x)"),
    "cos": _fn(sympy.cos, math.cos, "cos(x)"),
    "tan": _fn(sympy.tan, math.tan, "tan(x)"),
    "sec": _fn(sympy.sec, lambda v: 1.0 / math.cos(v), "sec(x)"),
    "csc": _fn(sympy.csc, lambda v: 1.0 / math.sin(v), "csc(x)"),
    "cot": _fn(sympy.cot, lambda v: 1.0 / math.tan(v), "cot(x)"),
    "asin": _fn(sympy.asin, math.asin, "asin(x)"),
    "acos": _fn(sympy.acos, math.acos, "acos(x)"),
    "atan": _fn(sympy.atan, math.atan, "atan(x)"),
    "acot": _fn(sympy.acot, lambda v: math.pi / 2 if v == 0 else math.atan(1.0 / v), "acot(x)"),
    "asec": _fn(sympy.asec, _inv(math.acos), "asec(x)"),
    "acsc": _fn(sympy.acsc, _inv(math.asin), "acsc(x)"),
    "atan2": _fn(sympy.atan2, _f_atan2, "atan2(y, x)", 2, 2),
    "sinh": _fn(sympy.sinh, math.sinh, "sinh(x)"),
    "cosh": _fn(sympy.cosh, math.cosh, "cosh(x)"),
    "tanh": _fn(sympy.tanh, math.tanh, "tanh(x)"),
    "sech": _fn(sympy.sech, lambda v: 1.0 / math.cosh(v), "sech(x)"),
    "csch": _fn(sympy.csch, lambda v: 1.0 / math.sinh(v), "csch(x)"),
    "coth": _fn(sympy.coth, lambda v: 1.0 / math.tanh(v), "coth(x)"),
    "asinh": _fn(sympy.asinh, math.asinh, "asinh(x)"),
    "acosh": _fn(sympy.acosh, math.acosh, "acosh(x)"),
    "atanh": _fn(sympy.atanh, math.atanh, "atanh(x)"),
    "exp": _fn(sympy.exp, math.exp, "exp(x)"),
    "ln": _fn(sympy.log, math.log, "ln(x)"),
    "log": _fn(_log, _f_log, "log(x) or log(x, base)", 1, 2),
    "log10": _fn(lambda v: sympy.log(v) / sympy.log(10), math.log10, "log10(x)"),
    "log2": _fn(lambda v: sympy.log(v) / sympy.log(2), math.log2, "log2(x)"),
    "sqrt": _fn(sympy.sqrt, math.sqrt, "sqrt(x)"),
    "abs": _fn(KinkAbs, abs, "abs(x)"),
    "sign": _fn(KinkSign, _sign, "sign(x)"),
    "min": _fn(_nary(KinkMin), min, "min(a, b, ...)", 1, None),
    "max": _fn(_nary(KinkMax), max, "max(a, b, ...)", 1, None),
    "sigmoid": _fn(
        lambda v: 1 / (1 + sympy.exp(-v)),
        lambda v: 1.0 / (1.0 + math.exp(-v)) if v > -700 else 0.0,
        "sigmoid(x)",
    ),
    "relu": _fn(lambda v: KinkMax(v, S.Zero), lambda v: max(v, 0.0), "relu(x)"),
    "softplus": _fn(lambda v: sympy.log(1 + sympy.exp(v)), _f_softplus, "softplus(x)", exact=False),
}
_ALIASES = {
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "arccot": "acot",
    "arcsec": "asec",
    "arccsc": "acsc",
    "arctan2": "atan2",
    "arsinh": "asinh",
    "arcosh": "acosh",
    "artanh": "atanh",
    "arcsinh": "asinh",
    "arccosh": "acosh",
    "arctanh": "atanh",
}
for _alias, _target in _ALIASES.items():
    _F[_alias] = _F[_target]

#: Every function name gdviz accepts (including aliases such as ``arcsin``).
FUNCTIONS: frozenset[str] = frozenset(_F)

#: Names with a fixed meaning.
_CONSTANTS: dict[str, tuple[sympy.Expr, float]] = {"pi": (S.Pi, math.pi), "e": (S.Exp1, math.e)}

#: Names people try that are not finite numbers.
_NOT_FINITE = {"inf", "infinity", "nan", "oo", "zoo", "Infinity", "NaN", "Inf"}

#: Greek letters pasted from slides become their English names (θ → theta).
_GREEK = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "ϵ": "epsilon",
    "ζ": "zeta",
    "η": "eta",
    "θ": "theta",
    "ϑ": "theta",
    "ι": "iota",
    "κ": "kappa",
    "λ": "lambda",
    "μ": "mu",
    "ν": "nu",
    "ξ": "xi",
    "ρ": "rho",
    "σ": "sigma",
    "τ": "tau",
    "υ": "upsilon",
    "φ": "phi",
    "ϕ": "phi",
    "χ": "chi",
    "ψ": "psi",
    "ω": "omega",
    "π": "pi",
}
_TIMES = {"*", "·", "⋅", "×", "∗", "•"}
_DIVIDE = {"/", "÷", "∕"}
_MINUS = {"-", "−", "–", "‐", "‑", "﹣", "－"}
_SUPERSCRIPT = {
    "⁰": "0",
    "¹": "1",
    "²": "2",
    "³": "3",
    "⁴": "4",
    "⁵": "5",
    "⁶": "6",
    "⁷": "7",
    "⁸": "8",
    "⁹": "9",
    "⁻": "-",
    "⁺": "+",
}
_FORBIDDEN_CHARS = {
    "'": "quotes are not allowed: a formula has no text in it",
    '"': "quotes are not allowed: a formula has no text in it",
    "`": "backticks are not allowed",
    "[": "square brackets are not allowed — use parentheses ( )",
    "]": "square brackets are not allowed — use parentheses ( )",
    "{": "curly braces are not allowed — use parentheses ( )",
    "}": "curly braces are not allowed — use parentheses ( )",
    "=": "'=' is not allowed: type only the expression, e.g. x^2 + y^2",
    ":": "':' is not allowed in a formula",
    ";": "';' is not allowed in a formula",
    "|": "'|' is not allowed — write abs(x) for |x|",
    "!": "'!' is not allowed: factorials are not supported",
    "%": "'%' is not allowed — use / for division",
    "@": "'@' is not allowed in a formula",
    "&": "'&' is not allowed in a formula",
    "~": "'~' is not allowed in a formula",
    "<": "comparisons ('<') are not allowed in a formula",
    ">": "comparisons ('>') are not allowed in a formula",
    "#": "'#' is not allowed in a formula",
    "$": "'$' is not allowed in a formula",
    "?": "'?' is not allowed in a formula",
    "\\": "backslashes are not allowed in a formula",
    ".": "'.' is not allowed here: only numbers like 0.5 may contain a dot",
}


# --------------------------------------------------------------------------- #
# Tokens
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # NUM NAME OP LPAR RPAR COMMA SUP SQRT END ERR
    text: str  # normalised text: "^" for ** and ², "*" for ·, NAME text is ASCII
    start: int  # 0-based index in the original text
    end: int
    error: ExpressionError | None = None  # for ERR: raised when the parser reaches it


def _char_name(ch: str) -> str:
    name = unicodedata.name(ch, "")
    code = f"U+{ord(ch):04X}"
    if ch.isprintable() and not ch.isspace():
        return f"'{ch}' ({code} {name})" if name else f"'{ch}' ({code})"
    return f"{code} {name}".strip() if name else code


def _is_space(ch: str) -> bool:
    return ch in " \t\r\n" or unicodedata.category(ch) == "Zs"


_RADIX_DIGITS = {"x": "0123456789abcdefABCDEF", "b": "01", "o": "01234567"}


def _check_number_suffix(text: str, start: int, end: int) -> None:
    """Reject Python literals that would silently read as products (0x1F, 2j)."""
    n = len(text)

    def ident_ends(k: int) -> bool:
        return k >= n or not (text[k].isascii() and (text[k].isalnum() or text[k] == "_"))

    if end >= n:
        return
    ch = text[end]
    if text[start:end] == "0" and ch.lower() in _RADIX_DIGITS:
        k = end + 1
        digits = _RADIX_DIGITS[ch.lower()]
        while k < n and text[k] in digits:
            k += 1
        if k > end + 1 and ident_ends(k):
            raise ExpressionError(
                f"'{text[start:k]}' is not supported: write numbers in decimal", start + 1
            )
    if ch in "jJ" and ident_ends(end + 1):
        raise ExpressionError(
            f"'{text[start : end + 1]}' looks like a complex number: gdviz works with real numbers",
            start + 1,
            f"write {text[start:end]}*{ch} if {ch} is a variable",
        )


def _tokenize(
    text: str, split_parts: Sequence[str] = (), known: frozenset[str] = frozenset()
) -> list[_Tok]:
    """Tokens of ``text``; the first bad character becomes a final ERR token.

    The error is deferred so that the parser, reading left to right, reports
    whichever problem comes first (``eval('…')`` is an unknown function at
    column 1, not a quote at column 6).
    """
    toks: list[_Tok] = []
    try:
        _tokenize_into(text, toks, [*split_parts, "pi"], known)
    except ExpressionError as exc:
        start = (exc.column or 1) - 1
        toks.append(_Tok("ERR", "", start, start, exc))
        return toks
    toks.append(_Tok("END", "", len(text), len(text)))
    return toks


def _tokenize_into(
    text: str, toks: list[_Tok], split_parts: Sequence[str], known: frozenset[str]
) -> None:
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if _is_space(ch):
            i += 1
            continue
        start = i
        if "0" <= ch <= "9" or (ch == "." and i + 1 < n and "0" <= text[i + 1] <= "9"):
            while i < n and "0" <= text[i] <= "9":
                i += 1
            if i < n and text[i] == ".":
                i += 1
                while i < n and "0" <= text[i] <= "9":
                    i += 1
            if i < n and text[i] in "eE":
                j = i + 1
                if j < n and text[j] in "+-":
                    j += 1
                if j < n and "0" <= text[j] <= "9":
                    while j < n and "0" <= text[j] <= "9":
                        j += 1
                    i = j
            if i < n and (text[i] == "." or ("0" <= text[i] <= "9")):
                while i < n and (text[i] == "." or "0" <= text[i] <= "9"):
                    i += 1
                raise ExpressionError(f"malformed number '{text[start:i]}'", start + 1)
            if i < n and text[i] == "_":
                raise ExpressionError(
                    "'_' is not allowed in numbers", i + 1, "write 1000 rather than 1_000"
                )
            _check_number_suffix(text, start, i)
            toks.append(_Tok("NUM", text[start:i], start, i))
            continue
        if ch.isascii() and (ch.isalpha() or ch == "_"):
            while i < n and text[i].isascii() and (text[i].isalnum() or text[i] == "_"):
                i += 1
            name = text[start:i]
            _check_name(name, start)
            parts = None
            if len(name) > 1 and name not in _F and name not in _CONSTANTS and name not in known:
                parts = _split_name(name, split_parts)
            if parts and len(parts) > 1:
                # "3xy" is 3*x*y and "xy^2" is x*y^2: split before powers bind.
                pos = start
                for part in parts:
                    toks.append(_Tok("NAME", part, pos, pos + len(part)))
                    pos += len(part)
            else:
                toks.append(_Tok("NAME", name, start, i))
            continue
        if ch in _GREEK:
            toks.append(_Tok("NAME", _GREEK[ch], start, i + 1))
            i += 1
            continue
        if ch == "*" and i + 1 < n and text[i + 1] == "*":
            toks.append(_Tok("OP", "^", start, i + 2))
            i += 2
            continue
        if ch == "/" and i + 1 < n and text[i + 1] == "/":
            raise ExpressionError("'//' (integer division) is not supported — use /", start + 1)
        if ch == "^":
            toks.append(_Tok("OP", "^", start, i + 1))
        elif ch in _TIMES:
            toks.append(_Tok("OP", "*", start, i + 1))
        elif ch in _DIVIDE:
            toks.append(_Tok("OP", "/", start, i + 1))
        elif ch in _MINUS:
            toks.append(_Tok("OP", "-", start, i + 1))
        elif ch == "+":
            toks.append(_Tok("OP", "+", start, i + 1))
        elif ch == "(":
            toks.append(_Tok("LPAR", "(", start, i + 1))
        elif ch == ")":
            toks.append(_Tok("RPAR", ")", start, i + 1))
        elif ch == ",":
            toks.append(_Tok("COMMA", ",", start, i + 1))
        elif ch == "√":
            toks.append(_Tok("SQRT", "sqrt", start, i + 1))
        elif ch in _SUPERSCRIPT:
            while i < n and text[i] in _SUPERSCRIPT:
                i += 1
            sup = "".join(_SUPERSCRIPT[c] for c in text[start:i])
            if not sup.lstrip("+-").isdigit() or len(sup.lstrip("+-")) + 1 < len(sup):
                raise ExpressionError(f"malformed superscript '{text[start:i]}'", start + 1)
            toks.append(_Tok("SUP", sup, start, i))
            continue
        elif ch in _FORBIDDEN_CHARS:
            if ch == "." and i + 1 < n and (text[i + 1].isalpha() or text[i + 1] == "_"):
                raise ExpressionError(
                    "'.' is not allowed here: attributes are not part of a formula", start + 1
                )
            raise ExpressionError(_FORBIDDEN_CHARS[ch], start + 1)
        elif ch == "∞":
            raise ExpressionError("infinity is not allowed: a loss must be finite", start + 1)
        else:
            raise ExpressionError(f"unexpected character {_char_name(ch)}", start + 1)
        i += 1


# --------------------------------------------------------------------------- #
# Syntax tree
# --------------------------------------------------------------------------- #


@dataclass(slots=True)
class _Node:
    kind: str  # num name neg bin call
    start: int
    end: int
    text: str = ""  # number text, name, operator, or function name
    args: tuple[_Node, ...] = ()
    op_pos: int = 0  # operator position for bin / call name position


class _Parser:
    def __init__(self, text: str, toks: list[_Tok], fn_variables: frozenset[str]):
        self.text = text
        self.toks = toks
        self.i = 0
        self.depth = 0
        self.nodes = 0
        # Names that may be multiplied by a following "(" without being a call.
        self.fn_variables = fn_variables

    # -- helpers ------------------------------------------------------------
    @property
    def tok(self) -> _Tok:
        tok = self.toks[self.i]
        if tok.error is not None:
            raise tok.error
        return tok

    def _advance(self) -> _Tok:
        tok = self.tok
        self.i += 1
        return tok

    def _node(self, *args, **kwargs) -> _Node:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ExpressionError(
                f"the expression is too big (more than {MAX_NODES} numbers, names and operators)",
                self.tok.start + 1,
            )
        return _Node(*args, **kwargs)

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(
                f"the expression is nested too deeply (more than {MAX_DEPTH} levels)",
                self.tok.start + 1,
            )

    def _unexpected(self, expecting: str) -> ExpressionError:
        tok = self.tok
        if tok.kind == "END":
            return ExpressionError(
                f"the expression ends too early: expected {expecting}", tok.start + 1
            )
        shown = self.text[tok.start : tok.end]
        if tok.kind == "RPAR":
            return ExpressionError(f"unexpected ')': expected {expecting}", tok.start + 1)
        return ExpressionError(f"unexpected '{shown}': expected {expecting}", tok.start + 1)

    # -- grammar ------------------------------------------------------------
    def parse(self) -> _Node:
        if self.tok.kind == "END":
            raise ExpressionError("the expression is empty")
        node = self._expr()
        tok = self.tok
        if tok.kind == "RPAR":
            raise ExpressionError(
                "unbalanced parenthesis: this ')' has no matching '('", tok.start + 1
            )
        if tok.kind == "COMMA":
            raise ExpressionError(
                "unexpected ',': commas only separate the arguments of a function",
                tok.start + 1,
            )
        if tok.kind != "END":
            raise self._unexpected("an operator such as + or *")
        return node

    def _expr(self) -> _Node:
        node = self._term()
        while self.tok.kind == "OP" and self.tok.text in "+-":
            op = self._advance()
            rhs = self._term()
            node = self._node("bin", node.start, rhs.end, op.text, (node, rhs), op.start)
        return node

    def _term(self) -> _Node:
        node = self._unary()
        while True:
            tok = self.tok
            if tok.kind == "OP" and tok.text in "*/":
                self._advance()
                rhs = self._unary()
                node = self._node("bin", node.start, rhs.end, tok.text, (node, rhs), tok.start)
            elif tok.kind in ("NAME", "LPAR", "SQRT"):
                # Implicit multiplication: 2x, 2 sin(x), (x+1)(y-1), x y.
                rhs = self._power()
                node = self._node("bin", node.start, rhs.end, "*", (node, rhs), tok.start)
            elif tok.kind == "NUM":
                raise ExpressionError(
                    f"a number cannot follow here: missing operator before '{tok.text}'?",
                    tok.start + 1,
                )
            else:
                return node

    def _unary(self) -> _Node:
        tok = self.tok
        if tok.kind == "OP" and tok.text in "+-":
            self._enter()
            self._advance()
            operand = self._unary()
            self.depth -= 1
            if tok.text == "+":
                return operand
            return self._node("neg", tok.start, operand.end, "-", (operand,), tok.start)
        return self._power()

    def _power(self) -> _Node:
        self._enter()
        base = self._postfix()
        if self.tok.kind == "OP" and self.tok.text == "^":
            op = self._advance()
            if self.tok.kind == "END":
                raise ExpressionError(
                    "the expression ends too early: expected an exponent", self.tok.start + 1
                )
            exponent = self._unary()
            base = self._node("bin", base.start, exponent.end, "^", (base, exponent), op.start)
        self.depth -= 1
        return base

    def _postfix(self) -> _Node:
        node = self._primary()
        while self.tok.kind == "SUP":
            sup = self._advance()
            exponent = self._node("num", sup.start, sup.end, sup.text)
            node = self._node("bin", node.start, sup.end, "^", (node, exponent), sup.start)
        return node

    def _primary(self) -> _Node:
        tok = self.tok
        if tok.kind == "NUM":
            self._advance()
            return self._node("num", tok.start, tok.end, tok.text)
        if tok.kind == "LPAR":
            self._advance()
            self._enter()
            if self.tok.kind == "RPAR":
                raise ExpressionError("empty parentheses '()'", tok.start + 1)
            inner = self._expr()
            self.depth -= 1
            if self.tok.kind != "RPAR":
                if self.tok.kind == "END":
                    raise ExpressionError(
                        "unbalanced parenthesis: this '(' is never closed", tok.start + 1
                    )
                if self.tok.kind == "COMMA":
                    raise ExpressionError(
                        "unexpected ',': commas only separate the arguments of a function",
                        self.tok.start + 1,
                    )
                raise self._unexpected("')' or an operator")
            close = self._advance()
            inner.start, inner.end = tok.start, close.end
            return inner
        if tok.kind == "SQRT":
            self._advance()
            operand = self._power() if self.tok.kind != "END" else None
            if operand is None:
                raise ExpressionError("'√' needs something to take the root of", tok.start + 1)
            return self._node("call", tok.start, operand.end, "sqrt", (operand,), tok.start)
        if tok.kind == "NAME":
            return self._name()
        if tok.kind == "RPAR":
            raise ExpressionError("unexpected ')': expected a number, name or '('", tok.start + 1)
        if tok.kind == "OP":
            shown = self.text[tok.start : tok.end]
            raise ExpressionError(
                f"unexpected '{shown}': expected a number, name or '(' before it", tok.start + 1
            )
        raise self._unexpected("a number, name or '('")

    def _name(self) -> _Node:
        tok = self._advance()
        name = tok.text
        if name in _F:
            return self._call(tok)
        nxt = self.tok
        if (
            nxt.kind == "LPAR"
            and len(name) > 1
            and name not in _CONSTANTS
            and name not in self.fn_variables
        ):
            close = difflib.get_close_matches(name, sorted(_F), n=1, cutoff=0.6)
            hint = (
                f"did you mean {close[0]}?"
                if close
                else f"it is not one of gdviz's functions; to multiply, write {name}*(…)"
            )
            raise ExpressionError(f"unknown function '{name}'", tok.start + 1, hint)
        return self._node("name", tok.start, tok.end, name)

    def _call(self, name_tok: _Tok) -> _Node:
        name = name_tok.text
        power: _Node | None = None
        # sin^2(x) and sin²(x) mean sin(x)^2.
        if self.tok.kind == "SUP" or (
            self.tok.kind == "OP"
            and self.tok.text == "^"
            and self.toks[self.i + 1].kind == "NUM"
            and self.toks[self.i + 2].kind == "LPAR"
        ):
            if self.tok.kind == "OP":
                self._advance()
            ptok = self._advance()
            if ptok.text.startswith("-"):
                raise ExpressionError(
                    f"'{self.text[name_tok.start : ptok.end]}' is ambiguous",
                    name_tok.start + 1,
                    f"write a{name}(x) for the inverse or 1/{name}(x) for the reciprocal",
                )
            power = self._node("num", ptok.start, ptok.end, ptok.text)
        if self.tok.kind != "LPAR":
            raise ExpressionError(
                f"{name} needs its argument in parentheses, e.g. {_F[name].usage}",
                name_tok.start + 1,
            )
        open_tok = self._advance()
        self._enter()
        args: list[_Node] = []
        if self.tok.kind == "RPAR":
            raise ExpressionError(
                f"{name}() needs an argument, e.g. {_F[name].usage}", name_tok.start + 1
            )
        while True:
            if self.tok.kind in ("COMMA", "RPAR"):
                raise self._unexpected("an argument")
            args.append(self._expr())
            if self.tok.kind == "COMMA":
                self._advance()
                continue
            if self.tok.kind == "RPAR":
                close = self._advance()
                break
            if self.tok.kind == "END":
                raise ExpressionError(
                    "unbalanced parenthesis: this '(' is never closed", open_tok.start + 1
                )
            raise self._unexpected("',' or ')'")
        self.depth -= 1
        spec = _F[name]
        if len(args) < spec.min_args or (spec.max_args is not None and len(args) > spec.max_args):
            if spec.min_args == spec.max_args:
                want = f"{spec.min_args} argument" + ("s" if spec.min_args != 1 else "")
            elif spec.max_args is None:
                want = f"at least {spec.min_args} argument" + ("s" if spec.min_args != 1 else "")
            else:
                want = f"{spec.min_args} or {spec.max_args} arguments"
            got = f"{len(args)} given"
            raise ExpressionError(
                f"{name} takes {want} ({got})", name_tok.start + 1, f"use {spec.usage}"
            )
        node = self._node("call", name_tok.start, close.end, name, tuple(args), name_tok.start)
        if power is not None:
            node = self._node("bin", node.start, close.end, "^", (node, power), power.start)
        return node


def _check_name(name: str, start: int) -> None:
    if name.startswith("_"):
        raise ExpressionError(f"names starting with '_' are not allowed ('{name}')", start + 1)
    if "__" in name:
        raise ExpressionError(f"names containing '__' are not allowed ('{name}')", start + 1)
    if len(name) > MAX_NAME_LENGTH:
        raise ExpressionError(
            f"the name '{name[:12]}…' is too long (at most {MAX_NAME_LENGTH} characters)",
            start + 1,
        )
    if keyword.iskeyword(name) and name != "lambda":
        raise ExpressionError(
            f"'{name}' is a Python keyword, not part of a formula",
            start + 1,
        )
    if name in _NOT_FINITE:
        raise ExpressionError(
            f"'{name}' is not allowed: a loss is built from finite numbers", start + 1
        )


# --------------------------------------------------------------------------- #
# Building the SymPy tree
# --------------------------------------------------------------------------- #


@dataclass(slots=True)
class _Val:
    """A built sub-expression; constants carry their float value."""

    expr: sympy.Expr
    value: float | None = None  # set for constants (no variables)
    exact: bool = False  # constant kept exact (Rational, pi, sqrt(2) …)


def _is_small_rational(e: sympy.Expr, bits: int = 64) -> bool:
    return bool(
        e.is_Rational
        and abs(e.p).bit_length() <= bits  # type: ignore[attr-defined]
        and e.q.bit_length() <= bits  # type: ignore[attr-defined]
    )


def _is_simple_constant(e: sympy.Expr) -> bool:
    """Constants SymPy can evaluate functions of quickly and exactly."""
    if _is_small_rational(e) or e in (S.Pi, S.Exp1):
        return True
    if e.is_Mul and len(e.args) == 2:
        a, b = e.args
        return _is_small_rational(a) and b in (S.Pi, S.Exp1)
    return False


class _Builder:
    def __init__(self, text: str, symbols: dict[str, sympy.Symbol]):
        self.text = text
        self.symbols = symbols

    def snippet(self, node: _Node) -> str:
        s = self.text[node.start : node.end].strip()
        return s if len(s) <= 40 else s[:37] + "…"

    def build(self, node: _Node) -> _Val:
        kind = node.kind
        if kind == "num":
            return self._number(node)
        if kind == "name":
            if node.text in _CONSTANTS:
                expr, value = _CONSTANTS[node.text]
                return _Val(expr, value, True)
            return _Val(self.symbols[node.text])
        if kind == "neg":
            val = self.build(node.args[0])
            if val.value is not None:
                return _Val(-val.expr, -val.value, val.exact)
            return _Val(-val.expr)
        if kind == "bin":
            return self._binary(node)
        if kind == "call":
            return self._call(node)
        raise AssertionError(kind)  # pragma: no cover

    def _number(self, node: _Node) -> _Val:
        text = node.text
        col = node.start + 1
        try:
            value = float(text)
        except ValueError:  # pragma: no cover - the tokenizer only emits valid numbers
            raise ExpressionError(f"malformed number '{text}'", col) from None
        if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
            raise ExpressionError(
                f"the number '{self.snippet(node)}' is too large", col, "the limit is 1e300"
            )
        if text.isdigit() and len(text.lstrip("0")) <= 18:
            return _Val(sympy.Integer(int(text)), value, True)
        if "e" not in text.lower() and len(text) <= 18:
            # A short decimal such as 0.5 or 1.25 stays an exact fraction.
            # Fraction parses the digits itself; SymPy never sees the string.
            frac = fractions.Fraction(text)
            return _Val(sympy.Rational(frac.numerator, frac.denominator), value, True)
        return _Val(sympy.Float(value), value, False)

    def _binary(self, node: _Node) -> _Val:
        # Long sums and products are left-nested; walk their left spine in a
        # loop so that 200 terms do not mean 200 levels of recursion.
        spine: list[_Node] = []
        cur = node
        while cur.kind == "bin" and cur.text in "+-*/":
            spine.append(cur)
            cur = cur.args[0]
        if not spine:
            return self._combine(node, self.build(node.args[0]), self.build(node.args[1]))
        acc = self.build(cur)
        for link in reversed(spine):
            acc = self._combine(link, acc, self.build(link.args[1]))
        return acc

    def _combine(self, node: _Node, left: _Val, right: _Val) -> _Val:
        op = node.text
        col = node.op_pos + 1
        if left.value is not None and right.value is not None:
            return self._constant_binary(node, op, left, right, col)
        if op == "/" and (right.value == 0 or right.expr == 0):
            raise ExpressionError("division by zero", col)
        if op == "^":
            return self._symbolic_power(node, left, right, col)
        if op == "+":
            expr = left.expr + right.expr
        elif op == "-":
            expr = left.expr - right.expr
        elif op == "*":
            expr = left.expr * right.expr
        else:
            expr = left.expr / right.expr
        _check_sizes(expr, col)
        return _Val(expr)

    def _symbolic_power(self, node: _Node, base: _Val, exponent: _Val, col: int) -> _Val:
        if exponent.value is not None and abs(exponent.value) > MAX_EXPONENT:
            raise ExpressionError(
                f"the exponent in '{self.snippet(node)}' is too large",
                col,
                f"exponents on variables are limited to ±{MAX_EXPONENT}",
            )
        expr = base.expr**exponent.expr
        _check_sizes(expr, col)
        return _Val(expr)

    def _constant_binary(self, node: _Node, op: str, a: _Val, b: _Val, col: int) -> _Val:
        av, bv = a.value, b.value
        assert av is not None and bv is not None
        try:
            if op == "+":
                value = av + bv
            elif op == "-":
                value = av - bv
            elif op == "*":
                value = av * bv
            elif op == "/":
                if bv == 0:
                    raise ExpressionError("division by zero", col)
                value = av / bv
            else:
                value = self._float_power(node, av, bv, col)
        except OverflowError:
            value = math.inf
        if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
            raise ExpressionError(
                f"'{self.snippet(node)}' is too large", col, "numbers are limited to ±1e300"
            )
        if a.exact and b.exact and self._exact_ok(op, a.expr, b.expr, value):
            if op == "+":
                expr = a.expr + b.expr
            elif op == "-":
                expr = a.expr - b.expr
            elif op == "*":
                expr = a.expr * b.expr
            elif op == "/":
                expr = a.expr / b.expr
            else:
                expr = a.expr**b.expr
            if expr.is_finite and (expr.is_real or expr.is_Rational):
                return _Val(expr, value, True)
        return _Val(sympy.Float(value), value, False)

    def _float_power(self, node: _Node, av: float, bv: float, col: int) -> float:
        if av == 0 and bv < 0:
            raise ExpressionError(
                f"'{self.snippet(node)}' divides by zero (0 to a negative power)", col
            )
        if av < 0 and not float(bv).is_integer():
            raise ExpressionError(
                f"'{self.snippet(node)}' is not a real number",
                col,
                "a negative number to a fractional power is complex",
            )
        if av != 0 and abs(bv) * math.log10(abs(av)) > 300:
            raise ExpressionError(
                f"'{self.snippet(node)}' is too large", col, "numbers are limited to ±1e300"
            )
        return math.pow(av, bv)

    @staticmethod
    def _exact_ok(op: str, a: sympy.Expr, b: sympy.Expr, value: float) -> bool:
        if value != 0 and abs(value) < 1e-300:
            return False
        if op in "+-*/":
            # Exact sums of exact constants stay small; bound rational sizes.
            half = _MAX_INT_BITS // 2
            return not (a.is_Rational and b.is_Rational) or (
                _is_small_rational(a, half) and _is_small_rational(b, half)
            )
        # Powers: small integer exponents of exact values; simple roots of small
        # positive rationals (sqrt(2), 8^(1/3)).
        if b.is_Integer and abs(int(b)) <= 64:
            if a.is_Rational:
                bits = max(abs(a.p).bit_length(), a.q.bit_length())  # type: ignore[attr-defined]
                return bits * abs(int(b)) <= _MAX_INT_BITS
            return True
        return bool(
            b.is_Rational
            and b.q <= 12  # type: ignore[attr-defined]
            and abs(b.p) <= 64  # type: ignore[attr-defined]
            and _is_small_rational(a, 32)
            and a.is_positive
        )

    def _call(self, node: _Node) -> _Val:
        spec = _F[node.text]
        vals = [self.build(arg) for arg in node.args]
        col = node.op_pos + 1
        if all(v.value is not None for v in vals):
            return self._constant_call(node, spec, vals, col)
        expr = spec.build(*(v.expr for v in vals))
        if isinstance(expr, _FORBIDDEN_NUMBERS):  # log(x - x): SymPy folds it to zoo
            raise ExpressionError(f"{self.snippet(node)} is undefined", col)
        _check_sizes(expr, col)
        return _Val(expr)

    def _constant_call(self, node: _Node, spec: _Func, vals: list[_Val], col: int) -> _Val:
        name = node.text
        try:
            value = spec.numeric(*(v.value for v in vals))
        except ZeroDivisionError:
            raise ExpressionError(f"{self.snippet(node)} is undefined", col) from None
        except ValueError:
            args = [v.value for v in vals]
            if spec.build in (sympy.log, _log) or name in ("log10", "log2"):
                if args[0] == 0:
                    raise ExpressionError(f"{self.snippet(node)} is undefined", col) from None
            if name == "atan2":
                raise ExpressionError(f"{self.snippet(node)} is undefined", col) from None
            raise ExpressionError(
                f"{self.snippet(node)} is not a real number",
                col,
                f"the argument is outside the domain of {name}",
            ) from None
        except OverflowError:
            value = math.inf
        if isinstance(value, complex) or math.isnan(value):
            raise ExpressionError(f"{self.snippet(node)} is undefined", col)
        if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
            raise ExpressionError(
                f"{self.snippet(node)} is too large", col, "numbers are limited to ±1e300"
            )
        if spec.exact and all(v.exact and _is_simple_constant(v.expr) for v in vals):
            expr = spec.build(*(v.expr for v in vals))
            if expr.has(S.ComplexInfinity, S.Infinity, S.NegativeInfinity, S.NaN):
                # tan(pi/2): rounding makes the float finite, the exact value is not.
                raise ExpressionError(f"{self.snippet(node)} is undefined", col)
            if expr.is_finite and (expr.is_Number or not expr.has(S.ImaginaryUnit)):
                return _Val(expr, value, True)
        return _Val(sympy.Float(value), value, False)


def _check_sizes(expr: sympy.Expr, col: int) -> None:
    """Reject huge numbers or exponents SymPy created while combining terms.

    SymPy distributes and merges powers as it builds (``(2x)^1000`` becomes
    ``2^1000 x^1000``; ``(x^100)^100`` becomes ``x^10000``). Newly created numbers
    sit in the top two levels of the result, so only those are inspected.
    """
    stack = [(expr, 0)]
    while stack:
        e, level = stack.pop()
        if isinstance(e, _FORBIDDEN_NUMBERS):
            raise ExpressionError(
                "division by zero" if e is S.ComplexInfinity else "this is not a real number",
                col,
            )
        if e.is_Rational:
            if max(abs(e.p).bit_length(), e.q.bit_length()) > _MAX_INT_BITS:  # type: ignore[attr-defined]
                raise ExpressionError(
                    "numbers in this expression grow too large",
                    col,
                    "numbers are limited to ±1e300",
                )
        elif e.is_Float:
            if not math.isfinite(float(e)) or abs(float(e)) > MAX_MAGNITUDE:
                raise ExpressionError("numbers in this expression grow too large", col)
        elif e.is_Pow and e.exp.is_Number:
            if abs(float(e.exp)) > MAX_EXPONENT:
                raise ExpressionError(
                    "the exponent is too large",
                    col,
                    f"exponents on variables are limited to ±{MAX_EXPONENT}",
                )
        if level < 2:
            stack.extend((arg, level + 1) for arg in e.args)


# --------------------------------------------------------------------------- #
# Public entry point
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class ParsedExpression:
    """A checked expression.

    Attributes
    ----------
    text : str
        The text as typed.
    expr : sympy.Expr
        The expression; every symbol is ``Symbol(name, real=True)``.
    variables : tuple of str
        The free parameters in a stable order (``x``, ``y`` first, then
        alphabetical; or the order given by the caller).
    data : tuple of str
        Names bound to dataset columns (not parameters).
    """

    text: str
    expr: sympy.Expr
    variables: tuple[str, ...]
    data: tuple[str, ...] = ()

    def symbol(self, name: str) -> sympy.Symbol:
        """The SymPy symbol used for ``name``."""
        return sympy.Symbol(name, real=True)


def _valid_name(name: str) -> bool:
    return (
        isinstance(name, str)
        and name.isascii()
        and name.isidentifier()
        and not name.startswith("_")
        and len(name) <= MAX_NAME_LENGTH
        and (not keyword.iskeyword(name) or name == "lambda")
        and name not in _F
        and name not in _CONSTANTS
        and name not in _NOT_FINITE
    )


def _split_name(name: str, parts: Sequence[str]) -> list[str] | None:
    """Split ``xy`` into ``["x", "y"]`` when it is a run of known variable names."""
    if not parts:
        return None
    best: dict[int, list[str]] = {0: []}
    for i in range(len(name)):
        if i not in best:
            continue
        for p in parts:
            if p and name.startswith(p, i) and i + len(p) not in best:
                best[i + len(p)] = [*best[i], p]
    return best.get(len(name))


def _order(names: Sequence[str]) -> tuple[str, ...]:
    first = [n for n in ("x", "y") if n in names]
    return tuple(first + sorted(n for n in set(names) if n not in ("x", "y")))


def parse_expression(
    text: str,
    *,
    variables: Sequence[str] | None = None,
    data: Sequence[str] = (),
    max_variables: int = 2,
) -> ParsedExpression:
    """Parse typed text into a checked SymPy expression.

    Parameters
    ----------
    text
        What the person typed, e.g. ``"(1-x)^2 + 100(y-x²)²"``.
    variables
        The parameter names, in order. ``None`` takes the names the text uses
        (``x``, ``y`` first, then alphabetical); with no names at all it is
        ``("x", "y")`` cut to ``max_variables``.
    data
        Extra names that refer to dataset columns; they are allowed in the text
        and do not count as variables.
    max_variables
        Most parameters allowed (gdviz draws functions of one or two).

    Returns
    -------
    ParsedExpression

    Raises
    ------
    ExpressionError
        For anything that is not a valid expression, with the column.
    """
    try:
        return _parse(text, variables=variables, data=data, max_variables=max_variables)
    except RecursionError:
        # The depth limit keeps this away in practice; a caller that is itself
        # deep in the stack still gets a message instead of a crash.
        raise ExpressionError("the expression is nested too deeply to handle") from None


def _parse(
    text: str,
    *,
    variables: Sequence[str] | None = None,
    data: Sequence[str] = (),
    max_variables: int = 2,
) -> ParsedExpression:
    """:func:`parse_expression` without the recursion guard."""
    if not isinstance(text, str):
        raise ExpressionError(f"the expression must be text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is too long ({len(text)} characters; the limit is {MAX_LENGTH})",
            MAX_LENGTH + 1,
        )
    if isinstance(variables, str):  # "w, b" or "w b"
        variables = variables.replace(",", " ").split()
    if isinstance(data, str):
        data = data.replace(",", " ").split()
    data = tuple(data)
    given = None if variables is None else tuple(variables)
    for name in (*(given or ()), *data):
        if not _valid_name(name):
            raise ExpressionError(f"'{name}' cannot be used as a variable name")
    if given is not None and len(set(given)) != len(given):
        raise ExpressionError(f"variable names repeat: {', '.join(given)}")
    if given is not None and len(given) > max_variables:
        raise ExpressionError(_too_many(given, max_variables))

    known_vars = frozenset((*(given or ()), *data))
    split_parts = [*(given if given is not None else ("x", "y")), *data]
    toks = _tokenize(text, split_parts, known_vars)
    parser = _Parser(text, toks, known_vars)
    tree = parser.parse()

    # Resolve plain names: constants, known variables, data, or runs such as "xy".
    used: list[tuple[str, int]] = []
    _resolve_names(tree, given, data, split_parts, used)

    if given is None:
        names = [n for n, _ in used if n not in data]
        order = _order(names)
        if len(order) > max_variables:
            extra = set(order[max_variables:])
            column = next(col for n, col in used if n in extra)
            raise ExpressionError(_too_many(order, max_variables), column)
        if not order:
            order = ("x", "y")[: max(1, min(max_variables, 2))]
    else:
        order = given

    symbols = {name: sympy.Symbol(name, real=True) for name in (*order, *data)}
    builder = _Builder(text, symbols)
    val = builder.build(tree)
    expr = normalize_kinks(val.expr)
    check_compilable(expr)
    return ParsedExpression(text=text, expr=expr, variables=tuple(order), data=data)


def _too_many(names: Sequence[str], limit: int) -> str:
    n = len(names)
    words = {1: "one", 2: "one or two"}.get(limit, f"up to {limit}")
    return f"{n} variables ({', '.join(names)}): gdviz shows functions of {words}"


def _resolve_names(
    node: _Node,
    given: tuple[str, ...] | None,
    data: tuple[str, ...],
    split_parts: list[str],
    used: list[tuple[str, int]],
) -> None:
    """Check every plain name and record the variables used, with their columns."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.kind == "name":
            name = n.text
            if name in _CONSTANTS:
                continue
            if name in _F:  # pragma: no cover - the parser turns these into calls
                raise ExpressionError(f"{name} needs parentheses", n.start + 1)
            known = name in data or (given is not None and name in given)
            if not known:
                # "sinx", "expx", "logy": a function name glued to a variable.
                for fname in sorted(_F, key=len, reverse=True):
                    rest = name[len(fname) :]
                    if name.startswith(fname) and rest and _split_name(rest, split_parts):
                        raise ExpressionError(
                            f"unknown name '{name}'",
                            n.start + 1,
                            f"did you mean {fname}({rest})?",
                        )
                if given is not None:
                    candidates = [*given, *data, *sorted(_F), *_CONSTANTS]
                    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
                    varlist = ", ".join(given) if given else "none"
                    hint = f"did you mean {close[0]}?" if close else f"the variables are {varlist}"
                    raise ExpressionError(f"unknown name '{name}'", n.start + 1, hint)
            used.append((name, n.start + 1))
        else:
            stack.extend(reversed(n.args))
    # Keep first-use order stable (left to right).
    used.sort(key=lambda item: item[1])


#: Node types that may appear in a compiled expression or its derivatives.
_ALLOWED_TYPES: tuple[type, ...] = (
    sympy.Symbol,
    sympy.Integer,
    sympy.Rational,
    sympy.Float,
    type(S.Pi),
    type(S.Exp1),
    sympy.Add,
    sympy.Mul,
    sympy.Pow,
    sympy.exp,
    sympy.log,
    sympy.sin,
    sympy.cos,
    sympy.tan,
    sympy.sec,
    sympy.csc,
    sympy.cot,
    sympy.asin,
    sympy.acos,
    sympy.atan,
    sympy.acot,
    sympy.asec,
    sympy.acsc,
    sympy.atan2,
    sympy.sinh,
    sympy.cosh,
    sympy.tanh,
    sympy.sech,
    sympy.csch,
    sympy.coth,
    sympy.asinh,
    sympy.acosh,
    sympy.atanh,
    KinkAbs,
    KinkSign,
    KinkMax,
    KinkMin,
    KinkStep,
    Softplus,
    Sigmoid,
)
_FORBIDDEN_NUMBERS = (
    type(S.NaN),
    type(S.ComplexInfinity),
    type(S.Infinity),
    type(S.NegativeInfinity),
    type(S.ImaginaryUnit),
)


def normalize_kinks(expr: sympy.Expr) -> sympy.Expr:
    """Replace SymPy's own kinks (``Abs``, ``sign``, ``Heaviside``, ``DiracDelta``).

    SymPy creates ``Abs`` by itself (``sqrt(x^2)`` is ``|x|`` for real x) and
    differentiates it into ``sign`` and then ``DiracDelta``; we use our kink
    classes instead, and a delta (zero almost everywhere) becomes 0.

    ``log(1 + exp(z))`` (however typed: ``ln``, ``exp(z) + 1``, ``e^z``,
    ``softplus(z)``) becomes :class:`Softplus`, whose NumPy code does not
    overflow for large z and whose derivatives are the stable :class:`Sigmoid`.
    """
    if expr.has(sympy.Abs):
        expr = expr.replace(sympy.Abs, KinkAbs)
    if expr.has(sympy.sign):
        expr = expr.replace(sympy.sign, KinkSign)
    if expr.has(sympy.Heaviside):
        expr = expr.replace(lambda e: isinstance(e, sympy.Heaviside), lambda e: KinkStep(e.args[0]))
    if expr.has(sympy.DiracDelta):
        expr = expr.replace(lambda e: isinstance(e, sympy.DiracDelta), lambda e: S.Zero)
    if expr.has(sympy.log) and expr.has(sympy.exp):
        expr = expr.replace(_is_softplus, lambda e: Softplus(_exp_of_add(e.args[0]).args[0]))
    return expr


def _exp_of_add(add: sympy.Basic) -> sympy.Basic | None:
    """``exp(z)`` when ``add`` is ``1 + exp(z)`` (in either order), else None."""
    if not isinstance(add, sympy.Add) or len(add.args) != 2:
        return None
    a, b = add.args
    if a == S.One and isinstance(b, sympy.exp):
        return b
    if b == S.One and isinstance(a, sympy.exp):
        return a
    return None


def _is_softplus(e: sympy.Basic) -> bool:
    return isinstance(e, sympy.log) and _exp_of_add(e.args[0]) is not None


def check_compilable(expr: sympy.Expr, what: str = "this expression") -> None:
    """Raise :class:`ExpressionError` unless ``expr`` uses only allowed node types."""
    for e in sympy.preorder_traversal(expr):
        if isinstance(e, _FORBIDDEN_NUMBERS):
            raise ExpressionError(
                f"{what} is undefined or not a real number (it contains {e})",
                None,
                "look for a division by zero or a root of a negative number",
            )
        if not isinstance(e, _ALLOWED_TYPES):
            raise ExpressionError(f"gdviz cannot compile {what}: it contains {type(e).__name__}")
